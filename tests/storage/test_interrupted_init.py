"""An ``init`` interrupted at any point (a SIGKILL, a power cut, a failing statement) leaves
a file or database that the next ``init`` completes, never one it refuses: each migration
is one transaction with its ``schema_migrations`` row, and the tracking table is committed
before the first one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from ledgerflow import errors
from ledgerflow.cli.main import cli
from ledgerflow.storage import migrations, open_store
from ledgerflow.storage.sqlite import SqliteStore
from tests.conftest import PgServer

SNAPSHOT = Path(__file__).with_name("schema_sqlite.sql")
KNOWN = len(migrations.discover("sqlite"))


def init(url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", url, "init"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("database ready: ")


def migrated_up_to(url: str, done: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """What an ``init`` killed after its ``done``-th migration committed leaves behind."""
    with monkeypatch.context() as patched:
        first = migrations.discover(url.split(":")[0].replace("postgresql", "postgres"))
        patched.setattr(migrations, "discover", lambda dialect: first[:done])
        open_store(url, migrate=True).close()


def test_a_file_with_only_the_tracking_table_is_completed(tmp_path: Path) -> None:
    path = tmp_path / "half.db"
    with sqlite3.connect(path) as conn:  # killed right after the first transaction
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT "
                     "NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT "
                     "(strftime('%Y-%m-%dT%H:%M:%fZ','now')))")
    init(f"sqlite:///{path}")
    store = SqliteStore(f"sqlite:///{path}")
    assert store.pending_migrations() == [] and store.schema() == SNAPSHOT.read_text()
    store.close()


@pytest.mark.parametrize("done", range(1, KNOWN))
def test_a_file_migrated_part_way_is_completed(tmp_path: Path, done: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'half.db'}"
    migrated_up_to(url, done, monkeypatch)
    init(url)
    init(url)  # and again: nothing left to do
    store = SqliteStore(url)
    assert store.pending_migrations() == [] and store.schema() == SNAPSHOT.read_text()
    store.close()


def test_a_migration_that_fails_half_way_leaves_nothing_of_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    known = migrations.discover("sqlite")
    broken = migrations.Migration(  # its second statement fails, as a kill inside it would
        version=3, name="broken", checksum="0" * 64,
        sql="CREATE TABLE half (x INTEGER);\nCREATE TABLE half (y INTEGER);")
    with monkeypatch.context() as patched:
        patched.setattr(migrations, "discover", lambda dialect: (*known[:2], broken))
        with pytest.raises(errors.MigrationError, match=r"0003_broken\.sql failed"):
            SqliteStore(url, migrate=True)
    init(url)
    with sqlite3.connect(tmp_path / "broken.db") as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half'"
                            ).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (KNOWN,)


@pytest.fixture
def empty_pg(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create(template=False)
    yield pg_server.url(name)
    pg_server.drop(name)


@pytest.mark.parametrize("done", [1, 3])
def test_a_postgres_database_migrated_part_way_is_completed(
        empty_pg: str, done: int, monkeypatch: pytest.MonkeyPatch) -> None:
    migrated_up_to(empty_pg, done, monkeypatch)
    init(empty_pg)
    with psycopg.connect(empty_pg) as conn:
        rows = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert rows == (len(migrations.discover("postgres")),)
