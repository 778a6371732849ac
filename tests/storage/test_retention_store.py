"""Retention in the store: ``finished_before``, ``remove_executions`` and the tombstones.

Every execution is built by the real engine helpers (``conftest.py``) and read back through
the ``Store`` protocol. The last tests open the SQLite file itself: the triggers must refuse
a ledger DELETE without a matching tombstone, and any change to a tombstone, whoever asks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from typing import Any

import pytest

from ledgerflow import errors
from ledgerflow.engine.control import retention
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import Store
from ledgerflow.storage.rows import ExecutionRow, SignalRow, TombstoneRow
from ledgerflow.storage.sqlite import SqliteStore
from tests.storage.conftest import (
    OTHER_TENANT,
    SOLO,
    TENANT,
    Changes,
    Snapshot,
    activation,
    at,
    completion,
    snapshot,
)

FAR = format_timestamp(at(10_000))  # a cutoff after everything these tests finish


def ts(seconds: float) -> str:
    return format_timestamp(at(seconds))


def finished(changes: Changes, execution_id: str, *, start: float = 0,
             tenant: str = TENANT) -> ExecutionRow:
    """A completed PAIR execution (two steps, two state versions, decisions, a signal),
    finished at ``start + 5`` seconds."""
    new = changes.new(execution_id, tenant=tenant, now=at(start + 1))
    started = activation(changes.view_of_new(new), at(start + 2))
    first = completion(started.view, "first", {"n": 1}, at(start + 3))
    head = first.change.execution
    signal = SignalRow(execution_id=execution_id, seq=head.head_seq, name="nudge", data="{}",
                       received_at=ts(start + 3))
    second = completion(first.view, "second", {"n": 2}, at(start + 5))
    ok = changes.store.commit([new, started.change, replace(first.change, signals=(signal,)),
                               second.change])
    assert ok == [True, True, True, True]
    row = changes.store.load_execution(tenant, execution_id)
    assert row is not None and row.status == "completed" and row.finished_at == ts(start + 5)
    return row


def running(changes: Changes, execution_id: str, *, start: float = 0) -> ExecutionRow:
    """A running PAIR execution: its first step is dispatched, nothing has finished."""
    new = changes.new(execution_id, now=at(start + 1))
    started = activation(changes.view_of_new(new), at(start + 2))
    assert changes.store.commit([new, started.change]) == [True, True]
    row = changes.store.load_execution(TENANT, execution_id)
    assert row is not None and row.status == "running"
    return row


def stone(row: ExecutionRow, removed_at: float = 100, by: str = "test:retention"
          ) -> TombstoneRow:
    return TombstoneRow(
        execution_id=row.id, tenant_id=row.tenant_id, workflow=row.workflow,
        workflow_version=row.workflow_version, final_status=row.status,
        head_seq=row.head_seq, head_hash=row.head_hash, created_at=row.created_at,
        finished_at=row.finished_at, removed_at=ts(removed_at), removed_by=by,
    )


def is_gone(store: Store, execution_id: str) -> bool:
    return snapshot(store, TENANT, execution_id) == Snapshot(
        execution=None, steps=[], ledger=[], state_versions=[], decisions=[]
    ) and store.load_signals(execution_id) == []


# finished_before ------------------------------------------------------------------------

def test_finished_before_lists_only_finished_executions_that_ended_before(
        changes: Changes) -> None:
    store = changes.store
    late = finished(changes, "late", start=20)  # ends at 25
    early = finished(changes, "early", start=0)  # ends at 5
    running(changes, "busy")
    finished(changes, "theirs", tenant=OTHER_TENANT)
    assert [r.id for r in store.finished_before(TENANT, FAR, 10)] == ["early", "late"]
    assert [r.id for r in store.finished_before(TENANT, ts(25), 10)] == ["early"]  # exclusive
    assert store.finished_before(TENANT, ts(5), 10) == []
    assert store.finished_before(TENANT, FAR, 10)[0] == early
    assert [r.id for r in store.finished_before(OTHER_TENANT, FAR, 10)] == ["theirs"]
    assert late.status == "completed"


def test_finished_before_pages_after_the_last_row_seen(changes: Changes) -> None:
    store = changes.store
    for i, name in enumerate(["a", "b", "c", "d", "e"]):
        finished(changes, name, start=10 * i)
    first = store.finished_before(TENANT, FAR, 2)
    assert [r.id for r in first] == ["a", "b"]
    last = first[-1]
    assert last.finished_at is not None
    second = store.finished_before(TENANT, FAR, 2, after=(last.finished_at, last.id))
    assert [r.id for r in second] == ["c", "d"]
    last = second[-1]
    assert last.finished_at is not None
    third = store.finished_before(TENANT, FAR, 2, after=(last.finished_at, last.id))
    assert [r.id for r in third] == ["e"]


def test_finished_before_pages_ties_on_the_end_time_by_id(changes: Changes) -> None:
    store = changes.store
    for name in ["x3", "x1", "x2"]:
        finished(changes, name, start=0)  # all end at the same instant
    first = store.finished_before(TENANT, FAR, 1)
    assert [r.id for r in first] == ["x1"]
    rest = store.finished_before(TENANT, FAR, 5, after=(ts(5), "x1"))
    assert [r.id for r in rest] == ["x2", "x3"]


# remove_executions ------------------------------------------------------------------------

def test_remove_executions_removes_every_row_and_writes_the_tombstone(
        changes: Changes) -> None:
    store = changes.store
    row = finished(changes, "old")
    kept = finished(changes, "kept", start=50)
    before_kept = snapshot(store, TENANT, "kept")
    assert store.load_ledger("old") and store.load_decisions("old")
    assert len(store.list_state_versions("old")) == 2 and store.load_signals("old")

    assert store.remove_executions([stone(row)]) == ["old"]

    assert is_gone(store, "old")
    assert store.list_tombstones(TENANT) == [stone(row)]
    assert store.load_tombstone(TENANT, "old") == stone(row)
    assert store.load_tombstone(OTHER_TENANT, "old") is None
    assert store.list_tombstones(OTHER_TENANT) == []
    # the neighbour is untouched
    assert snapshot(store, TENANT, "kept") == before_kept
    assert store.load_signals("kept") != []
    assert kept.status == "completed"


def test_remove_executions_removes_a_batch_in_one_call(changes: Changes) -> None:
    store = changes.store
    rows = [finished(changes, f"e{i}", start=10 * i) for i in range(4)]
    assert store.remove_executions([stone(r) for r in rows]) == ["e0", "e1", "e2", "e3"]
    assert all(is_gone(store, r.id) for r in rows)
    assert [t.execution_id for t in store.list_tombstones(TENANT)] == ["e0", "e1", "e2", "e3"]


def test_remove_executions_skips_an_unfinished_execution(changes: Changes) -> None:
    store = changes.store
    row = running(changes, "busy")
    before = snapshot(store, TENANT, "busy")
    assert store.remove_executions([stone(row)]) == []
    # and when claimed to be finished, it still is not
    assert store.remove_executions([replace(stone(row), final_status="completed")]) == []
    assert snapshot(store, TENANT, "busy") == before
    assert store.list_tombstones(TENANT) == []


def test_remove_executions_skips_an_execution_whose_head_moved(changes: Changes) -> None:
    store = changes.store
    new = changes.new("moved", spec=SOLO, now=at(1))
    started = activation(changes.view_of_new(new), at(2))
    assert store.commit([new, started.change]) == [True, True]
    stale = store.load_execution(TENANT, "moved")
    assert stale is not None
    done = completion(started.view, "only", {"n": 1}, at(3))
    assert store.commit([done.change]) == [True]
    now = store.load_execution(TENANT, "moved")
    assert now is not None and now.status == "completed" and now.head_seq > stale.head_seq
    before = snapshot(store, TENANT, "moved")

    # the tombstone says "completed" but names the head it had while running
    old_head = replace(stone(now), head_seq=stale.head_seq, head_hash=stale.head_hash)
    assert store.remove_executions([old_head]) == []
    assert store.remove_executions([replace(stone(now), head_hash="f" * 64)]) == []
    assert snapshot(store, TENANT, "moved") == before
    assert store.list_tombstones(TENANT) == []


def test_a_skipped_execution_does_not_hold_back_the_rest_of_the_batch(
        changes: Changes) -> None:
    store = changes.store
    good = finished(changes, "good")
    busy = running(changes, "busy", start=10)
    later = finished(changes, "later", start=20)
    stale = replace(stone(later), head_seq=later.head_seq - 1)
    assert store.remove_executions([stone(busy), stone(good), stale]) == ["good"]
    assert is_gone(store, "good")
    assert store.load_execution(TENANT, "busy") == busy
    assert store.load_execution(TENANT, "later") == later
    assert [t.execution_id for t in store.list_tombstones(TENANT)] == ["good"]


def test_remove_executions_skips_a_tombstone_naming_another_tenant(changes: Changes) -> None:
    store = changes.store
    row = finished(changes, "mine")
    assert store.remove_executions([replace(stone(row), tenant_id=OTHER_TENANT)]) == []
    assert store.remove_executions([replace(stone(row), workflow="other")]) == []
    assert store.load_execution(TENANT, "mine") == row
    assert store.list_tombstones(OTHER_TENANT) == [] == store.list_tombstones(TENANT)


def test_removing_again_or_an_unknown_id_removes_nothing(changes: Changes) -> None:
    store = changes.store
    row = finished(changes, "once")
    assert store.remove_executions([stone(row), stone(row)]) == ["once"]
    assert store.remove_executions([stone(row, removed_at=200)]) == []
    assert store.remove_executions([replace(stone(row), execution_id="nobody")]) == []
    assert store.list_tombstones(TENANT) == [stone(row)]


def test_a_removed_execution_id_is_never_reused(changes: Changes) -> None:
    store = changes.store
    row = finished(changes, "taken")
    assert store.remove_executions([stone(row)]) == ["taken"]
    assert store.commit([changes.new("taken", now=at(300))]) == [False]
    assert store.load_execution(TENANT, "taken") is None
    assert store.commit([changes.new("fresh", now=at(300))]) == [True]


# the cleanup driver, on a real store -----------------------------------------------------

def test_cleanup_removes_in_batches_oldest_first_and_keeps_the_unfinished(
        changes: Changes) -> None:
    store = changes.store
    rows = [finished(changes, f"e{i}", start=10 * i) for i in range(5)]  # end at 5, 15, ...
    busy = running(changes, "busy")
    finished(changes, "theirs", tenant=OTHER_TENANT)
    commits = getattr(store, "commits", None)  # write transactions, where counted
    report = retention.cleanup(store, TENANT, 0, at(1000), "test:cleanup", dry_run=False,
                               batch=2)
    if commits is not None:  # batches of 2, 2 and 1: one transaction each
        assert getattr(store, "commits", None) == commits + 3
    assert report.removed == ("e0", "e1", "e2", "e3", "e4") and report.skipped == ()
    assert report.cutoff == ts(1000) and not report.dry_run
    assert [t.execution_id for t in report.tombstones] == list(report.removed)
    assert store.list_tombstones(TENANT) == [
        stone(r, removed_at=1000, by="test:cleanup") for r in rows]
    assert store.load_execution(TENANT, "busy") == busy
    assert [t.execution_id for t in store.list_tombstones(OTHER_TENANT)] == []
    assert store.load_execution(OTHER_TENANT, "theirs") is not None


def test_cleanup_takes_only_what_ended_before_the_cutoff(changes: Changes) -> None:
    store = changes.store
    for i in range(3):
        finished(changes, f"e{i}", start=100 * i)  # end at 5, 105, 205
    report = retention.cleanup(store, TENANT, 100, at(205), "t", dry_run=False)
    assert report.cutoff == ts(105) and report.removed == ("e0",)  # 105 is not before 105
    assert [r.id for r in store.finished_before(TENANT, FAR, 10)] == ["e1", "e2"]


def test_a_dry_run_pages_through_everything_and_removes_nothing(changes: Changes) -> None:
    store = changes.store
    for i in range(5):
        finished(changes, f"e{i}", start=10 * i)
    before = [snapshot(store, TENANT, f"e{i}") for i in range(5)]
    report = retention.cleanup(store, TENANT, 0, at(1000), "t", dry_run=True, batch=2)
    assert report.dry_run and report.removed == () and report.skipped == ()
    assert [t.execution_id for t in report.tombstones] == [f"e{i}" for i in range(5)]
    assert report.to_dict()["count"] == 5
    assert [snapshot(store, TENANT, f"e{i}") for i in range(5)] == before
    assert store.list_tombstones(TENANT) == []


@pytest.mark.parametrize("older_than", [-1.0, float("nan"), float("inf")])
def test_cleanup_refuses_a_nonsense_age(changes: Changes, older_than: float) -> None:
    with pytest.raises(errors.ConfigurationError, match="retention age"):
        retention.cleanup(changes.store, TENANT, older_than, at(0), "t", dry_run=True)


# the SQLite triggers, asked directly -------------------------------------------------------

@contextmanager
def raw(store: Store) -> Iterator[sqlite3.Connection]:
    if not isinstance(store, SqliteStore):
        pytest.skip("the triggers are SQLite's")
    with closing(sqlite3.connect(store.path, isolation_level=None)) as conn:
        yield conn


def insert_stone(conn: sqlite3.Connection, row: TombstoneRow) -> None:
    values: dict[str, Any] = {name: getattr(row, name) for name in row.__slots__}
    conn.execute(f"INSERT INTO tombstones ({', '.join(values)}) "
                 f"VALUES ({', '.join(':' + n for n in values)})", values)


def ledger_count(conn: sqlite3.Connection, execution_id: str) -> int:
    found = conn.execute("SELECT count(*) FROM ledger_entries WHERE execution_id = ?",
                         (execution_id,))
    return int(found.fetchone()[0])


def test_a_raw_ledger_delete_without_a_tombstone_is_refused(changes: Changes) -> None:
    finished(changes, "done")
    with raw(changes.store) as conn:
        before = ledger_count(conn, "done")
        for sql in ("DELETE FROM ledger_entries",
                    "DELETE FROM ledger_entries WHERE execution_id = 'done'"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only: DELETE refused"):
                conn.execute(sql)
        assert ledger_count(conn, "done") == before > 0


def test_a_raw_ledger_delete_behind_a_wrong_tombstone_is_refused(changes: Changes) -> None:
    row = finished(changes, "done")
    busy = running(changes, "busy", start=10)
    with raw(changes.store) as conn:
        insert_stone(conn, replace(stone(row), head_seq=row.head_seq - 1))
        insert_stone(conn, stone(busy))  # matches the head, but the execution is running
        for eid in ("done", "busy"):
            with pytest.raises(sqlite3.IntegrityError, match="DELETE refused"):
                conn.execute("DELETE FROM ledger_entries WHERE execution_id = ?", (eid,))
        assert ledger_count(conn, "done") > 0 and ledger_count(conn, "busy") > 0


def test_the_trigger_lets_a_matching_tombstone_through(changes: Changes) -> None:
    """The other side of the rule: what ``remove_executions`` relies on."""
    row = finished(changes, "done")
    finished(changes, "other", start=10)
    with raw(changes.store) as conn:
        insert_stone(conn, stone(row))
        conn.execute("DELETE FROM ledger_entries WHERE execution_id = 'done'")
        assert ledger_count(conn, "done") == 0
        with pytest.raises(sqlite3.IntegrityError, match="DELETE refused"):
            conn.execute("DELETE FROM ledger_entries")  # 'other' has no tombstone
        assert ledger_count(conn, "other") > 0


@pytest.mark.parametrize(("sql", "message"), [
    ("UPDATE tombstones SET head_hash = 'forged'", "UPDATE refused"),
    ("UPDATE tombstones SET removed_by = 'someone else'", "UPDATE refused"),
    ("DELETE FROM tombstones", "DELETE refused"),
    ("DELETE FROM tombstones WHERE execution_id = 'gone'", "DELETE refused"),
])
def test_tombstones_cannot_be_updated_or_deleted(changes: Changes, sql: str,
                                                 message: str) -> None:
    store = changes.store
    row = finished(changes, "gone")
    assert store.remove_executions([stone(row)]) == ["gone"]
    with raw(store) as conn, pytest.raises(sqlite3.IntegrityError) as caught:
        conn.execute(sql)
    assert "tombstones are append-only" in str(caught.value)
    assert message in str(caught.value)
    assert store.list_tombstones(TENANT) == [stone(row)]


def test_an_execution_already_tombstoned_is_left_alone(changes: Changes) -> None:
    store = changes.store
    good = finished(changes, "good")
    bad = finished(changes, "bad", start=10)
    with raw(store) as conn:  # a tombstone inserted behind the store's back
        insert_stone(conn, replace(stone(bad), head_seq=1))
    assert store.remove_executions([stone(good), stone(bad)]) == ["good"]
    assert is_gone(store, "good")
    assert store.load_execution(TENANT, "bad") == bad


def test_a_batch_the_database_refuses_removes_nothing(changes: Changes) -> None:
    """One transaction: tombstones and deletions of a batch go in together or not at all."""
    store = changes.store
    rows = [finished(changes, f"e{i}", start=10 * i) for i in range(3)]
    before = [snapshot(store, TENANT, r.id) for r in rows]
    with raw(store) as conn:  # the last execution row of the batch cannot be deleted
        conn.execute("CREATE TRIGGER refuse_e2 BEFORE DELETE ON executions "
                     "WHEN OLD.id = 'e2' BEGIN SELECT RAISE(ABORT, 'e2 is pinned'); END")
    with pytest.raises(errors.StorageError, match="e2 is pinned"):
        store.remove_executions([stone(r) for r in rows])
    assert [snapshot(store, TENANT, r.id) for r in rows] == before
    assert store.list_tombstones(TENANT) == []
    with raw(store) as conn:
        conn.execute("DROP TRIGGER refuse_e2")
    assert store.remove_executions([stone(r) for r in rows]) == ["e0", "e1", "e2"]
