from __future__ import annotations

import re
import socket
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from ledgerflow import errors
from ledgerflow.cli import hints
from ledgerflow.storage import migrations, open_store
from ledgerflow.storage.postgres import PostgresStore
from ledgerflow.storage.sqlite import SqliteStore
from tests.conftest import PgServer

SNAPSHOT = Path(__file__).with_name("schema_sqlite.sql")


def test_migrations_give_the_schema_snapshot(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        schema = store.schema()
    finally:
        store.close()
    if not SNAPSHOT.exists():  # first run writes it; review and commit it
        SNAPSHOT.write_text(schema)
    assert schema == SNAPSHOT.read_text(), (
        "schema differs from tests/storage/schema_sqlite.sql; if the change is intended, "
        "delete the snapshot, rerun, and commit the new one"
    )


def test_migrations_numbered_without_gaps() -> None:
    found = migrations.discover("sqlite")
    assert [m.version for m in found] == list(range(1, len(found) + 1))


def test_new_database_is_created_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"  # in a folder that exists: folders are never created
    store = SqliteStore(f"sqlite:///{path}")
    store.close()
    assert path.exists()
    conn = sqlite3.connect(path)
    applied = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    conn.close()
    assert [v for v, _ in applied] == [m.version for m in migrations.discover("sqlite")]


def test_pending_migration_asks_for_migrate(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    SqliteStore(f"sqlite:///{path}").close()
    known = migrations.discover("sqlite")
    extra = migrations.Migration(version=len(known) + 1, name="add_probe",
                                 sql="CREATE TABLE probe (x INTEGER);", checksum="0" * 64)
    monkeypatch.setattr(migrations, "discover", lambda dialect: (*known, extra))
    with pytest.raises(errors.MigrationRequired, match="migrate it first") as info:
        SqliteStore(f"sqlite:///{path}")
    assert info.value.pending == (f"{extra.version:04d}_add_probe",)
    assert "ledgerflow --db" not in str(info.value)  # the command is the CLI's hint
    assert re.search(r"ledgerflow --db .* migrate", hints.render(info.value))
    SqliteStore(f"sqlite:///{path}", migrate=True).close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM probe").fetchone() == (0,)
    conn.close()
    SqliteStore(f"sqlite:///{path}").close()  # up to date now


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(errors.StorageError, match="not a ledgerflow one"):
        SqliteStore(f"sqlite:///{path}")


def test_edited_migration_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "edited.db"
    SqliteStore(f"sqlite:///{path}").close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    conn.commit()
    conn.close()
    with pytest.raises(errors.MigrationError, match="changed after it was applied"):
        SqliteStore(f"sqlite:///{path}")


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_text("this is not sqlite" * 100)
    with pytest.raises(errors.StorageError, match=r"junk\.db"):
        SqliteStore(f"sqlite:///{path}")


@pytest.mark.parametrize("url", ["sqlite://relative.db", "sqlite:///:memory:",
                                 "sqlite:///x.db?synchronous=SOMETIMES", "sqlite:///x.db?foo=1"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(errors.ConfigurationError):
        SqliteStore(url)


# PostgreSQL ---------------------------------------------------------------------------------

PG_SNAPSHOT = Path(__file__).with_name("schema_postgres.sql")


@pytest.fixture
def empty_pg(pg_server: PgServer) -> Iterator[str]:
    """A new PostgreSQL database without any schema."""
    name = pg_server.create(template=False)
    yield pg_server.url(name)
    pg_server.drop(name)


def pg_applied(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        return [(int(v), str(n)) for v, n in rows.fetchall()]


def test_postgres_migrations_give_the_schema_snapshot(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        schema = store.schema()
    finally:
        store.close()
    if not PG_SNAPSHOT.exists():  # first run writes it; review and commit it
        PG_SNAPSHOT.write_text(schema)
    assert schema == PG_SNAPSHOT.read_text(), (
        "schema differs from tests/storage/schema_postgres.sql; if the change is intended, "
        "delete the snapshot, rerun, and commit the new one"
    )


def test_both_backends_have_the_same_migrations_tables_and_columns(
        tmp_path: Path, pg_url: str) -> None:
    assert [(m.version, m.name) for m in migrations.discover("postgres")] == [
        (m.version, m.name) for m in migrations.discover("sqlite")]
    SqliteStore(f"sqlite:///{tmp_path / 'a.db'}").close()
    conn = sqlite3.connect(tmp_path / "a.db")
    tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    lite = {(t, c[1], bool(c[3]), bool(c[5])) for t in tables
            for c in conn.execute(f"PRAGMA table_info({t})")}
    conn.close()
    with psycopg.connect(pg_url) as pg:
        found = pg.execute(
            "SELECT c.table_name, c.column_name, c.is_nullable = 'NO', "
            "c.column_name = ANY (COALESCE((SELECT array_agg(a.attname) FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
            "WHERE i.indrelid = c.table_name::regclass AND i.indisprimary), '{}')) "
            "FROM information_schema.columns c WHERE c.table_schema = 'public'").fetchall()
    pg_columns = {(t, c, nn, pk) for t, c, nn, pk in found}
    # SQLite's INTEGER PRIMARY KEY columns may hold NULL in its catalogue's eyes only
    lite = {(t, c, nn or pk, pk) for t, c, nn, pk in lite}
    # step_runs.rowid is SQLite's implicit rowid made explicit
    assert pg_columns - {("step_runs", "rowid", True, False)} == lite


def test_postgres_migrations_numbered_without_gaps() -> None:
    found = migrations.discover("postgres")
    assert [m.version for m in found] == list(range(1, len(found) + 1))


def test_postgres_new_database_asks_for_migrate_then_is_migrated(empty_pg: str) -> None:
    with pytest.raises(errors.MigrationRequired, match="no ledgerflow schema yet") as info:
        open_store(empty_pg)
    assert re.search(r"no ledgerflow schema yet.*run: ledgerflow --db postgresql://\S+ migrate",
                     hints.render(info.value))
    open_store(empty_pg, migrate=True).close()
    assert [v for v, _ in pg_applied(empty_pg)] == [
        m.version for m in migrations.discover("postgres")]
    open_store(empty_pg).close()  # up to date now


def test_postgres_processes_migrating_at_once_apply_each_migration_once(empty_pg: str) -> None:
    go = threading.Barrier(4)

    def migrate(_: int) -> None:
        go.wait()
        open_store(empty_pg, migrate=True).close()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(migrate, range(4)))
    assert pg_applied(empty_pg) == [(m.version, m.name)
                                    for m in migrations.discover("postgres")]


def test_postgres_pending_migration_asks_for_migrate(pg_url: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    known = migrations.discover("postgres")
    extra = migrations.Migration(version=len(known) + 1, name="add_probe",
                                 sql="CREATE TABLE probe (x INTEGER);", checksum="0" * 64)
    monkeypatch.setattr(migrations, "discover", lambda dialect: (*known, extra))
    name = f"{len(known) + 1:04d}_add_probe"
    with pytest.raises(errors.MigrationRequired, match=rf"not up to date.*{name}") as info:
        open_store(pg_url)
    assert info.value.pending == (name,)
    assert re.search(rf"not up to date.*{name}.*ledgerflow --db .* migrate",
                     hints.render(info.value))
    open_store(pg_url, migrate=True).close()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM probe").fetchone() == (0,)
    open_store(pg_url).close()  # up to date now


def test_postgres_failed_migration_leaves_nothing(pg_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    known = migrations.discover("postgres")
    broken = migrations.Migration(
        version=len(known) + 1, name="broken", checksum="0" * 64,
        sql="CREATE TABLE half (x INTEGER);\nCREATE TABLE half (y INTEGER);")
    monkeypatch.setattr(migrations, "discover", lambda dialect: (*known, broken))
    name = f"{len(known) + 1:04d}_broken"
    with pytest.raises(errors.MigrationError, match=rf"{name}\.sql failed on database"):
        open_store(pg_url, migrate=True)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)
    assert len(pg_applied(pg_url)) == len(known)


def test_postgres_foreign_database_is_refused(empty_pg: str) -> None:
    with psycopg.connect(empty_pg) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(errors.StorageError, match="not a ledgerflow database"):
        open_store(empty_pg, migrate=True)


def test_postgres_edited_migration_is_caught(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    with pytest.raises(errors.MigrationError, match="changed after it was applied"):
        open_store(pg_url)


def test_postgres_unknown_database_is_a_configuration_error(pg_server: PgServer) -> None:
    url = pg_server.url("ledgerflow_no_such_database")
    with pytest.raises(errors.ConfigurationError,
                       match=r'database "ledgerflow_no_such_database" on PostgreSQL at '
                             r'\S+:\d+ does not exist'):
        open_store(url)


def test_postgres_unreachable_server_is_a_storage_error_naming_it() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://someone:secret@127.0.0.1:{port}/ledger?connect_timeout=2"
    with pytest.raises(errors.StorageError) as caught:
        open_store(url)
    message = str(caught.value)
    assert f'cannot connect to database "ledger" on PostgreSQL at 127.0.0.1:{port}' in message
    assert "secret" not in message


def test_postgres_messages_never_show_the_password(empty_pg: str) -> None:
    url = empty_pg.replace("://", "://postgres:s3cret@", 1).replace("postgres@", "", 1)
    with pytest.raises(errors.MigrationRequired) as caught:
        open_store(url)
    assert "s3cret" not in str(caught.value) and ":***@" in str(caught.value.url)
    shown = hints.render(caught.value)  # the CLI prints the URL in its migrate hint
    assert "s3cret" not in shown and ":***@" in shown


def test_postgres_urls_with_either_scheme_open(pg_url: str) -> None:
    other = pg_url.replace("postgresql://", "postgres://", 1)
    assert other != pg_url
    for url in (pg_url, other, f"{pg_url}?pool_max_size=2&application_name=probe"):
        store = open_store(url)
        try:
            assert isinstance(store, PostgresStore) and store.list_definitions("t") == []
        finally:
            store.close()


@pytest.mark.parametrize("url", ["postgresql://h/db?pool_max_size=0",
                                 "postgresql://h/db?pool_min_size=5&pool_max_size=2",
                                 "postgresql://h/db?no_such_option=1", "mysql://h/db"])
def test_postgres_bad_urls(url: str) -> None:
    with pytest.raises(errors.ConfigurationError):
        open_store(url)
