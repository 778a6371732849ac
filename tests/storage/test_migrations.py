from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledgerflow import errors
from ledgerflow.storage import migrations
from ledgerflow.storage.sqlite import SqliteStore

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
    path = tmp_path / "new" / "fresh.db"
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
    with pytest.raises(errors.MigrationRequired, match=r"ledgerflow --db .* migrate"):
        SqliteStore(f"sqlite:///{path}")
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
