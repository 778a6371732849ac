"""SQLite refuses to change a ledger row, whoever asks (invariant 5 of DESIGN.md).

Raw ``sqlite3`` on the store's own file: the triggers of ``0001_initial.sql`` must refuse
UPDATE, DELETE and every replacing insert, and still accept a plain append.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ledgerflow import errors
from ledgerflow.storage.base import Change
from ledgerflow.storage.sqlite import SqliteStore
from tests.storage.conftest import TENANT, Changes, activation, at, completion, snapshot

EID = "e1"
TRIGGERS = {"ledger_entries_no_update", "ledger_entries_no_delete",
            "ledger_entries_no_replace"}


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A raw autocommit connection, closed on the way out."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.row_factory = sqlite3.Row
        yield conn


def entries(path: Path) -> list[dict[str, Any]]:
    with connect(path) as conn:
        rows = conn.execute("SELECT * FROM ledger_entries ORDER BY execution_id, seq")
        return [dict(r) for r in rows.fetchall()]


def build(store: SqliteStore) -> None:
    """One execution with a few ledger entries, written by the store itself."""
    changes = Changes(store)
    new = changes.new(EID, now=at(1))
    started = activation(changes.view_of_new(new), at(2))
    done = completion(started.view, "first", {"n": 1}, at(3))
    assert store.commit([new, started.change, done.change]) == [True, True, True]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    store = SqliteStore(f"sqlite:///{path}")
    try:
        build(store)
    finally:
        store.close()
    return path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """Overrides the backend-parametrised fixture: this module is about SQLite only."""
    s = SqliteStore(f"sqlite:///{tmp_path / 'ledger.db'}")
    build(s)
    yield s
    s.close()


def test_the_schema_has_the_append_only_triggers(db: Path) -> None:
    with connect(db) as conn:
        rows = conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
        found = {(r["name"], r["tbl_name"]) for r in rows.fetchall()}
    assert found == {(name, "ledger_entries") for name in TRIGGERS} | {
        ("tombstones_no_update", "tombstones"), ("tombstones_no_delete", "tombstones"),
        ("breaker_transitions_no_update", "breaker_transitions"),
        ("breaker_transitions_no_delete", "breaker_transitions")}


REFUSED = {
    "update": ("UPDATE ledger_entries SET payload = '{\"forged\":true}' WHERE seq = 2",
               "UPDATE refused"),
    "update-erase-payload": ("UPDATE ledger_entries SET payload = NULL WHERE seq = 2",
                             "UPDATE refused"),
    "update-seq": ("UPDATE ledger_entries SET seq = seq + 100", "UPDATE refused"),
    "delete-one": ("DELETE FROM ledger_entries WHERE seq = 2", "DELETE refused"),
    "delete-all": ("DELETE FROM ledger_entries", "DELETE refused"),
    "insert-or-replace": (
        "INSERT OR REPLACE INTO ledger_entries (execution_id, seq, event_type, step_id, "
        "occurred_at, prev_hash, entry_hash, body, payload) SELECT execution_id, seq, "
        "event_type, step_id, occurred_at, prev_hash, entry_hash, body, '{\"forged\":true}' "
        "FROM ledger_entries WHERE seq = 2",
        "an entry with this seq exists"),
    "replace-into": (
        "REPLACE INTO ledger_entries SELECT * FROM ledger_entries WHERE seq = 2",
        "an entry with this seq exists"),
    "insert-or-ignore": (
        "INSERT OR IGNORE INTO ledger_entries SELECT * FROM ledger_entries WHERE seq = 2",
        "an entry with this seq exists"),
    "plain-insert-of-a-taken-seq": (
        "INSERT INTO ledger_entries SELECT * FROM ledger_entries WHERE seq = 2",
        "an entry with this seq exists"),
    "upsert": (
        "INSERT INTO ledger_entries SELECT * FROM ledger_entries WHERE seq = 2 "
        "ON CONFLICT (execution_id, seq) DO UPDATE SET payload = NULL",
        "an entry with this seq exists"),
}


@pytest.mark.parametrize(("sql", "message"), list(REFUSED.values()), ids=list(REFUSED))
def test_a_change_to_a_ledger_row_is_refused(db: Path, sql: str, message: str) -> None:
    before = entries(db)
    with connect(db) as conn, pytest.raises(sqlite3.IntegrityError) as caught:
        conn.execute(sql)
    assert "ledger_entries is append-only" in str(caught.value)
    assert message in str(caught.value)
    assert entries(db) == before


def test_replace_is_refused_with_recursive_triggers_on(db: Path) -> None:
    before = entries(db)
    with connect(db) as conn:
        conn.execute("PRAGMA recursive_triggers = ON")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("INSERT OR REPLACE INTO ledger_entries "
                         "SELECT * FROM ledger_entries WHERE seq = 1")
    assert entries(db) == before


def test_a_refused_statement_inside_a_transaction_leaves_nothing(db: Path) -> None:
    before = entries(db)
    with connect(db) as conn:
        conn.execute("BEGIN")
        conn.execute("UPDATE executions SET status = 'failed'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM ledger_entries WHERE seq = 3")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT status FROM executions").fetchone()["status"] == "running"
    assert entries(db) == before


def test_a_plain_insert_of_a_new_seq_still_works(db: Path) -> None:
    before = entries(db)
    last = before[-1]
    appended = {**last, "seq": last["seq"] + 1, "prev_hash": last["entry_hash"],
                "entry_hash": "e" * 64}
    with connect(db) as conn:
        conn.execute(
            "INSERT INTO ledger_entries (execution_id, seq, event_type, step_id, occurred_at, "
            "prev_hash, entry_hash, body, payload) VALUES (:execution_id, :seq, :event_type, "
            ":step_id, :occurred_at, :prev_hash, :entry_hash, :body, :payload)", appended)
    assert entries(db) == [*before, appended]


def test_the_same_seq_in_another_execution_is_a_new_entry(db: Path) -> None:
    before = entries(db)
    copy = {**before[0], "execution_id": "e2"}
    with connect(db) as conn:
        conn.execute("INSERT INTO ledger_entries SELECT :execution_id, :seq, :event_type, "
                     ":step_id, :occurred_at, :prev_hash, :entry_hash, :body, :payload", copy)
    assert len(entries(db)) == len(before) + 1


def _colliding(store: SqliteStore) -> Change:
    """A change whose guard holds but whose ledger rows reuse seqs already written."""
    row = store.load_execution(TENANT, EID)
    assert row is not None
    old = store.load_ledger(EID)
    return Change(execution=replace(row, version=row.version + 1),
                  expected_version=row.version, expected_head_hash=row.head_hash,
                  ledger=tuple(replace(e, payload='{"forged":true}') for e in old[:2]))


def test_the_stores_own_commit_cannot_overwrite_an_entry(store: SqliteStore) -> None:
    changes = Changes(store)
    before = snapshot(store, TENANT, EID)
    innocent = changes.new("e2", now=at(9))
    with pytest.raises((sqlite3.IntegrityError, errors.StorageError), match="append-only"):
        store.commit([innocent, _colliding(store)])
    # the whole batch rolled back, the innocent change with it
    assert snapshot(store, TENANT, EID) == before
    assert store.load_execution(TENANT, "e2") is None
    assert store.commit([innocent]) == [True]  # and the store is still usable


def test_a_refused_ledger_write_surfaces_as_a_storage_error(store: SqliteStore) -> None:
    with pytest.raises(errors.StorageError, match="append-only"):
        store.commit([_colliding(store)])
