"""Migrations and the schema dump on PostgreSQL.

The same numbered, checksummed, forward-only files as SQLite (``migrations/postgres``),
each applied in one transaction with its ``schema_migrations`` row. Processes that migrate
at once take turns on an advisory lock, and each re-reads what is applied before it runs a
file, so a migration runs once however many processes start together.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.rows import DictRow

from ledgerflow import errors
from ledgerflow.storage import migrations
from ledgerflow.storage.postgres_rows import Conn
from ledgerflow.storage.postgres_url import PostgresTarget

_T = migrations.TRACKING_TABLE
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('ledgerflow.migrate', 0))"
_CREATE_TRACKING = (
    f"CREATE TABLE IF NOT EXISTS {_T} (version BIGINT PRIMARY KEY, "
    'name TEXT COLLATE "C" NOT NULL, checksum TEXT COLLATE "C" NOT NULL, '
    'applied_at TEXT COLLATE "C" NOT NULL DEFAULT '
    "(to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')))"
)


def _tables(conn: Conn) -> tuple[bool, bool]:
    """(the tracking table exists, other tables exist), read in one snapshot: the tracking
    table is committed before any migration, so a snapshot with other tables but no
    tracking table is not a ledgerflow database, never one being migrated."""
    row = conn.execute(
        "SELECT bool_or(tablename = %s) AS tracked, bool_or(tablename <> %s) AS others "
        "FROM pg_tables WHERE schemaname = current_schema()", (_T, _T)).fetchone()
    return bool(row and row["tracked"]), bool(row and row["others"])


def applied(conn: Conn) -> dict[int, str]:
    if not _tables(conn)[0]:
        return {}
    rows = conn.execute(f"SELECT version, checksum FROM {_T}").fetchall()
    return {int(r["version"]): str(r["checksum"]) for r in rows}


def prepare(conn: Conn, target: PostgresTarget, *, migrate: bool) -> None:
    """Check the schema; apply pending migrations only when ``migrate`` is set."""
    tracked, others = _tables(conn)
    if others and not tracked:
        raise errors.StorageError(
            f"{target.describe()} has tables but no {_T} table: it is not a ledgerflow "
            "database; use an empty database (or another schema with "
            "?options=-csearch_path%3Dname)"
        )
    done = applied(conn) if tracked else {}
    pending = migrations.check_applied("postgres", done)
    if not pending:
        return
    if not migrate:
        names = [f"{m.version:04d}_{m.name}" for m in pending]
        what = "has no ledgerflow schema yet" if not done else "is not up to date"
        raise errors.MigrationRequired(
            f"{target.describe()} {what}: {len(pending)} pending migration(s) "
            f"({', '.join(names)}); migrate it first", url=target.url, pending=names,
        )
    apply(conn, target, pending)


def apply(conn: Conn, target: PostgresTarget, pending: Sequence[migrations.Migration]) -> None:
    try:
        with conn.transaction():
            conn.execute(_LOCK)
            conn.execute(_CREATE_TRACKING)
    except psycopg.Error as exc:
        raise errors.MigrationError(f"cannot create {_T} in {target.describe()}: {exc}") from exc
    for migration in pending:
        try:
            with conn.transaction():
                conn.execute(_LOCK)
                now = applied(conn)  # another process may have migrated meanwhile
                migrations.check_applied("postgres", now)
                if migration.version in now:
                    continue
                conn.execute(migration.sql)  # the whole file: no parameters, many statements
                conn.execute(f"INSERT INTO {_T} (version, name, checksum) VALUES (%s, %s, %s)",
                             (migration.version, migration.name, migration.checksum))
        except psycopg.Error as exc:
            raise errors.MigrationError(
                f"migration {migration.version:04d}_{migration.name}.sql failed on "
                f"{target.describe()}: {' '.join(str(exc).split())}"
            ) from exc


# the schema dump -----------------------------------------------------------------------------

_COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type, c.collation_name, c.is_nullable,
       c.column_default, c.is_identity, c.identity_generation
FROM information_schema.columns c
JOIN pg_tables t ON t.schemaname = c.table_schema AND t.tablename = c.table_name
WHERE c.table_schema = current_schema()
ORDER BY c.table_name, c.ordinal_position"""

_CONSTRAINTS = """
SELECT r.relname AS table_name, k.conname, pg_get_constraintdef(k.oid) AS definition
FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid
WHERE r.relnamespace = current_schema()::regnamespace
ORDER BY r.relname, k.conname"""

_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
ORDER BY tablename, indexname"""

_TRIGGERS = """
SELECT t.tgname, pg_get_triggerdef(t.oid) AS definition, t.tgenabled
FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid
WHERE NOT t.tgisinternal AND r.relnamespace = current_schema()::regnamespace
ORDER BY r.relname, t.tgname"""

_FUNCTIONS = """
SELECT p.proname, pg_get_functiondef(p.oid) AS definition
FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace
ORDER BY p.proname"""

_FIRES = {"O": "", "A": " -- fires always", "R": " -- fires on replicas", "D": " -- disabled"}


def _column(r: DictRow) -> str:
    text = f"    {r['column_name']} {r['data_type']}"
    if r["collation_name"]:
        text += f' COLLATE "{r["collation_name"]}"'
    if r["is_nullable"] == "NO":
        text += " NOT NULL"
    if r["column_default"] is not None:
        text += f" DEFAULT {r['column_default']}"
    if r["is_identity"] == "YES":
        text += f" GENERATED {r['identity_generation']} AS IDENTITY"
    return text


def dump(conn: Conn) -> str:
    """Tables with columns and constraints, indexes, triggers (and whether they fire
    always) and functions of the store's schema, ordered by name, schema names left out."""
    row = conn.execute("SELECT current_schema() AS s").fetchone()
    prefix = f"{row['s'] if row else 'public'}."
    tables: dict[str, list[str]] = {}
    for r in conn.execute(_COLUMNS).fetchall():
        tables.setdefault(r["table_name"], []).append(_column(r))
    for r in conn.execute(_CONSTRAINTS).fetchall():
        tables[r["table_name"]].append(f"    CONSTRAINT {r['conname']} {r['definition']}")
    out = [f"CREATE TABLE {name} (\n" + ",\n".join(lines) + "\n);"
           for name, lines in sorted(tables.items())]
    out += [f"{r['indexdef']};" for r in conn.execute(_INDEXES).fetchall()]
    out += [f"{r['definition']};{_FIRES[r['tgenabled']]}"
            for r in conn.execute(_TRIGGERS).fetchall()]
    out += [f"{r['definition'].strip()};" for r in conn.execute(_FUNCTIONS).fetchall()]
    return "\n".join(line.replace(prefix, "") for line in out) + "\n"
