"""The PostgreSQL end of ``storage.copy``: the schema from the catalogs, a REPEATABLE READ
snapshot read through a server-side cursor, one write transaction, identity sequences moved
past the copied ids."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import tuple_row

from ledgerflow import errors
from ledgerflow.storage.copy_tables import TableInfo, quote
from ledgerflow.storage.postgres import PostgresStore
from ledgerflow.storage.postgres_rows import Conn
from ledgerflow.storage.postgres_url import parse_url

_TABLES = """
SELECT c.relname AS name,
  ARRAY(SELECT a.attname::text FROM pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attgenerated = '' ORDER BY a.attnum) AS columns,
  ARRAY(SELECT a.attname::text FROM pg_index i
        JOIN unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) ON true
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE i.indrelid = c.oid AND i.indisprimary ORDER BY k.n) AS primary_key,
  ARRAY(SELECT DISTINCT r.relname::text FROM pg_constraint f
        JOIN pg_class r ON r.oid = f.confrelid
        WHERE f.conrelid = c.oid AND f.contype = 'f') AS refs,
  ARRAY(SELECT a.attname::text FROM pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          AND (a.attidentity <> '' OR pg_get_serial_sequence(
                 quote_ident(c.relname), a.attname) IS NOT NULL)
        ORDER BY a.attnum) AS serials
FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
ORDER BY c.relname"""


def database_key(url: str) -> tuple[str, ...]:
    """What names one database: server, port, database and options (search_path)."""
    target = parse_url(url)
    info = conninfo_to_dict(target.conninfo)
    return (target.host or "localhost", target.port, target.dbname,
            str(info.get("hostaddr") or ""), str(info.get("options") or ""))


class PostgresSide:
    def __init__(self, store: PostgresStore, conn: Conn) -> None:
        self.store = store
        self.conn = conn
        self._serials: dict[str, tuple[str, ...]] = {}

    def tables(self) -> dict[str, TableInfo]:
        found: dict[str, TableInfo] = {}
        for t in self.conn.execute(_TABLES).fetchall():
            serials = tuple(t["serials"])
            self._serials[t["name"]] = serials
            keys = tuple(t["primary_key"])
            # the identity column keeps the insertion order (step_runs.rowid, ids)
            found[t["name"]] = TableInfo(
                name=t["name"], columns=tuple(t["columns"]), primary_key=keys,
                references=frozenset(t["refs"]), order_by=serials[:1] or keys)
        return found

    def count(self, table: str) -> int:
        row = self.conn.execute(f"SELECT count(*) AS n FROM {quote(table)}").fetchone()
        return int(row["n"]) if row else 0

    def pages(self, table: TableInfo, columns: Sequence[str],
              size: int) -> Generator[list[tuple[Any, ...]], None, None]:
        order = f" ORDER BY {', '.join(map(quote, table.order_by))}" if table.order_by else ""
        sql = f"SELECT {', '.join(map(quote, columns))} FROM {quote(table.name)}{order}"
        with self.conn.cursor(name=f"ledgerflow_copy_{table.name}",
                              row_factory=tuple_row) as cursor:
            cursor.itersize = size
            cursor.execute(sql)
            while rows := cursor.fetchmany(size):
                yield rows

    def insert(self, table: str, columns: Sequence[str],
               rows: Sequence[tuple[Any, ...]]) -> None:
        # OVERRIDING SYSTEM VALUE: identity columns take the copied ids, even ALWAYS ones
        sql = (f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) "
               f"OVERRIDING SYSTEM VALUE VALUES ({', '.join('%s' for _ in columns)})")
        try:
            with self.conn.transaction(), self.conn.cursor() as cursor:  # a savepoint
                cursor.executemany(sql, rows)
        except psycopg.Error as exc:
            diag = exc.diag
            text = diag.message_primary or " ".join(str(exc).split())
            detail = f" ({diag.message_detail})" if diag.message_detail else ""
            raise errors.CopyFailed(f"{text}{detail}") from exc

    def finish(self, tables: Sequence[TableInfo]) -> None:
        """Move every identity sequence past the largest id now in its table."""
        for table in tables:
            for column in self._serials.get(table.name, ()):
                self.conn.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s), m) "
                    f"FROM (SELECT max({quote(column)}) AS m FROM {quote(table.name)}) AS x "
                    "WHERE m IS NOT NULL", (quote(table.name), column))

    def tenants(self) -> list[str]:
        rows = self.conn.execute("SELECT tenant_id FROM executions UNION "
                                 "SELECT tenant_id FROM tombstones ORDER BY 1").fetchall()
        return [str(r["tenant_id"]) for r in rows]


@contextmanager
def snapshot(store: PostgresStore) -> Iterator[PostgresSide]:
    """A read-only REPEATABLE READ transaction: every table as of one instant."""
    with store._connection("read the source") as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield PostgresSide(store, conn)


@contextmanager
def writer(store: PostgresStore) -> Iterator[PostgresSide]:
    """One write transaction: all of the copy or nothing."""
    with store._transaction("copy") as conn:
        yield PostgresSide(store, conn)
