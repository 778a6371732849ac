"""The SQLite end of ``storage.copy``: the schema from the catalog and PRAGMAs, a snapshot to
read from (one read transaction, WAL) and one write transaction to insert into."""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from ledgerflow import errors
from ledgerflow.storage.copy_tables import TableInfo, quote
from ledgerflow.storage.sqlite import SqliteStore


class SqliteSide:
    def __init__(self, store: SqliteStore, conn: sqlite3.Connection) -> None:
        self.store = store
        self.conn = conn

    def _all(self, sql: str) -> list[dict[str, Any]]:
        try:
            rows: list[dict[str, Any]] = self.conn.execute(sql).fetchall()
        except sqlite3.Error as exc:
            raise errors.StorageError(f"{self.store.path}: failed to read: {exc}") from exc
        return rows

    def tables(self) -> dict[str, TableInfo]:
        found: dict[str, TableInfo] = {}
        for t in self._all("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                           "AND name NOT LIKE 'sqlite_%' ORDER BY name"):
            name = str(t["name"])
            # hidden 0: an ordinary column (not generated, not of a virtual table)
            info = [c for c in self._all(f"PRAGMA table_xinfo({quote(name)})")
                    if c["hidden"] == 0]
            keys = tuple(str(c["name"]) for c in sorted(info, key=lambda c: c["pk"])
                         if c["pk"])
            refs = frozenset(str(f["table"])
                             for f in self._all(f"PRAGMA foreign_key_list({quote(name)})"))
            rowid = "WITHOUT ROWID" not in str(t["sql"]).upper()
            found[name] = TableInfo(name=name, columns=tuple(str(c["name"]) for c in info),
                                    primary_key=keys, references=refs,
                                    order_by=("rowid",) if rowid else keys)
        return found

    def count(self, table: str) -> int:
        return int(self._all(f"SELECT count(*) AS n FROM {quote(table)}")[0]["n"])

    def pages(self, table: TableInfo, columns: Sequence[str],
              size: int) -> Generator[list[tuple[Any, ...]], None, None]:
        """Rows in the order they were inserted (the rowid), ``size`` at a time."""
        order = f" ORDER BY {', '.join(table.order_by)}" if table.order_by else ""
        sql = f"SELECT {', '.join(map(quote, columns))} FROM {quote(table.name)}{order}"
        cursor = self.conn.cursor()
        cursor.row_factory = None  # plain tuples
        try:
            cursor.execute(sql)
            while rows := cursor.fetchmany(size):
                yield rows
        except sqlite3.Error as exc:
            raise errors.StorageError(
                f"{self.store.path}: failed to read {table.name}: {exc}") from exc
        finally:
            cursor.close()

    def insert(self, table: str, columns: Sequence[str],
               rows: Sequence[tuple[Any, ...]]) -> None:
        sql = (f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) "
               f"VALUES ({', '.join('?' for _ in columns)})")
        self.conn.execute("SAVEPOINT copy_page")
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            self.conn.execute("ROLLBACK TO copy_page")
            self.conn.execute("RELEASE copy_page")
            raise errors.CopyFailed(str(exc)) from exc
        self.conn.execute("RELEASE copy_page")

    def finish(self, tables: Sequence[TableInfo]) -> None:
        """Nothing to do: an AUTOINCREMENT table's counter follows explicit ids."""

    def tenants(self) -> list[str]:
        rows = self._all("SELECT tenant_id FROM executions UNION "
                         "SELECT tenant_id FROM tombstones ORDER BY 1")
        return [str(r["tenant_id"]) for r in rows]


@contextmanager
def snapshot(store: SqliteStore) -> Iterator[SqliteSide]:
    """One read transaction on the store's reader connection: a consistent snapshot."""
    conn = store._reader()
    try:
        conn.execute("BEGIN")
    except sqlite3.Error as exc:
        raise errors.StorageError(f"{store.path}: failed to begin a read: {exc}") from exc
    try:
        yield SqliteSide(store, conn)
    finally:
        with suppress(sqlite3.Error):  # read only: nothing to keep, nothing to lose
            conn.execute("ROLLBACK")


@contextmanager
def writer(store: SqliteStore) -> Iterator[SqliteSide]:
    """The store's write transaction (BEGIN IMMEDIATE): all of the copy or nothing."""
    with store._transaction() as conn:
        yield SqliteSide(store, conn)
