"""The storage contract of ``storage/base.py``, run on every backend of the ``store`` fixture.

Only ``Store`` protocol methods are used (never SQL), and every change is built by the real
engine helpers (see ``conftest.py``), so the same tests hold a PostgreSQL store to the same
contract as SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace

import pytest

from ledgerflow import errors
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.ledger.verify import ExecutionHead, verify_execution
from ledgerflow.storage.base import ExecutionFilter, Store
from ledgerflow.storage.rows import ExecutionRow, TelemetryRow
from tests.storage.conftest import (
    OTHER_TENANT,
    SOLO,
    TENANT,
    Changes,
    activation,
    at,
    completion,
    snapshot,
)

SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64


def ids(rows: Iterable[ExecutionRow]) -> list[str]:
    return [r.id for r in rows]


def filtered(store: Store, *, status: str | None = None, workflow: str | None = None,
             limit: int = 50) -> list[str]:
    flt = ExecutionFilter(tenant_id=TENANT, status=status, workflow=workflow, limit=limit)
    return ids(store.list_executions(flt))


def chain_is_intact(store: Store, execution_id: str) -> bool:
    """The stored rows still verify: the store kept every byte the engine hashed."""
    row = store.load_execution(TENANT, execution_id)
    assert row is not None
    head = ExecutionHead(execution_id=row.id, tenant_id=row.tenant_id, head_seq=row.head_seq,
                         head_hash=row.head_hash, state_sha256=row.state_sha256)
    entries = store.load_ledger(execution_id)
    return verify_execution(head, entries, json.loads(row.state)).ok


# definitions ----------------------------------------------------------------------------

def test_put_definition_with_a_known_sha_returns_the_existing_row(store: Store) -> None:
    first, created = store.put_definition(TENANT, "w", SHA_A, '{"v":1}', "2026-01-01T00:00:00Z")
    again, created_again = store.put_definition(TENANT, "w", SHA_A, '{"v":1}',
                                                "2026-02-02T00:00:00Z")
    assert created is True and created_again is False
    assert again == first  # the stored row, created_at included, not the new arguments
    assert first.version == 1


def test_put_definition_with_a_new_sha_adds_the_next_version(store: Store) -> None:
    rows = [store.put_definition(TENANT, "w", sha, "{}", "t")
            for sha in (SHA_A, SHA_B, SHA_C)]
    assert [(r.version, created) for r, created in rows] == [(1, True), (2, True), (3, True)]
    # content seen before keeps its version: no new version for an old sha
    back, created = store.put_definition(TENANT, "w", SHA_A, "{}", "t")
    assert (back.version, created) == (1, False)
    latest = store.get_definition(TENANT, "w")
    assert latest is not None and latest.version == 3


def test_versions_are_counted_per_workflow_name(store: Store) -> None:
    store.put_definition(TENANT, "w", SHA_A, "{}", "t")
    store.put_definition(TENANT, "w", SHA_B, "{}", "t")
    other, created = store.put_definition(TENANT, "x", SHA_A, "{}", "t")
    assert (other.name, other.version, created) == ("x", 1, True)


def test_get_definition_latest_or_an_explicit_version(store: Store) -> None:
    store.put_definition(TENANT, "w", SHA_A, '{"v":1}', "t1")
    store.put_definition(TENANT, "w", SHA_B, '{"v":2}', "t2")
    latest = store.get_definition(TENANT, "w")
    v1 = store.get_definition(TENANT, "w", 1)
    v2 = store.get_definition(TENANT, "w", 2)
    assert latest is not None and v1 is not None
    assert (latest.version, latest.sha256, latest.spec) == (2, SHA_B, '{"v":2}')
    assert (v1.version, v1.sha256, v1.spec, v1.created_at) == (1, SHA_A, '{"v":1}', "t1")
    assert v2 == latest


def test_get_definition_unknown_is_none(store: Store) -> None:
    store.put_definition(TENANT, "w", SHA_A, "{}", "t")
    assert store.get_definition(TENANT, "w", 2) is None
    assert store.get_definition(TENANT, "w", 0) is None
    assert store.get_definition(TENANT, "nope") is None
    assert store.get_definition(TENANT, "nope", 1) is None


def test_list_definitions_gives_the_latest_version_of_each_name(store: Store) -> None:
    assert store.list_definitions(TENANT) == []
    store.put_definition(TENANT, "zeta", SHA_A, "{}", "t")
    store.put_definition(TENANT, "alpha", SHA_A, "{}", "t")
    store.put_definition(TENANT, "alpha", SHA_B, "{}", "t")
    store.put_definition(TENANT, "alpha", SHA_C, "{}", "t")
    listed = store.list_definitions(TENANT)
    assert [(d.name, d.version, d.sha256) for d in listed] == [
        ("alpha", 3, SHA_C), ("zeta", 1, SHA_A)]


def test_tenants_do_not_share_definitions(store: Store) -> None:
    store.put_definition(TENANT, "w", SHA_A, "{}", "t")
    store.put_definition(TENANT, "w", SHA_B, "{}", "t")
    assert store.get_definition(OTHER_TENANT, "w") is None
    assert store.get_definition(OTHER_TENANT, "w", 1) is None
    assert store.list_definitions(OTHER_TENANT) == []
    # the same name and content in another tenant is that tenant's own version 1
    theirs, created = store.put_definition(OTHER_TENANT, "w", SHA_B, "{}", "t")
    assert (theirs.tenant_id, theirs.version, created) == (OTHER_TENANT, 1, True)
    mine = store.get_definition(TENANT, "w")
    assert mine is not None and (mine.tenant_id, mine.version) == (TENANT, 2)


def test_tenants_do_not_share_executions(store: Store, changes: Changes) -> None:
    assert store.commit([changes.new("e1", now=at(1))]) == [True]
    store.commit([activation(changes.view("e1")).change])
    assert store.load_execution(OTHER_TENANT, "e1") is None
    assert store.list_executions(ExecutionFilter(tenant_id=OTHER_TENANT)) == []
    assert store.list_executions(ExecutionFilter(tenant_id=OTHER_TENANT,
                                                 status="running")) == []
    assert list(store.iter_executions(OTHER_TENANT)) == []
    assert store.durations(OTHER_TENANT, "pair", 10) == []
    found = store.load_execution_any_tenant("e1")  # the worker serves every tenant
    assert found is not None and found.tenant_id == TENANT


def test_an_execution_id_is_unique_across_tenants(store: Store, changes: Changes) -> None:
    mine = changes.new("e1")
    assert store.commit([mine]) == [True]
    assert store.commit([changes.new("e1", tenant=OTHER_TENANT)]) == [False]
    assert store.load_execution(OTHER_TENANT, "e1") is None
    assert store.load_execution(TENANT, "e1") == mine.execution


# commit: new executions ------------------------------------------------------------------

def test_a_new_execution_is_inserted_and_readable(store: Store, changes: Changes) -> None:
    change = changes.new("e1", input={"order": "o-1"})
    assert store.commit([change]) == [True]
    assert store.load_execution(TENANT, "e1") == change.execution
    assert store.load_execution_any_tenant("e1") == change.execution
    assert store.load_steps("e1") == list(change.new_steps)
    assert store.load_ledger("e1") == list(change.ledger)
    assert [e.seq for e in store.load_ledger("e1")] == [1]
    assert change.state_version is not None
    assert store.load_state_version("e1", 1) == change.state_version
    assert store.list_state_versions("e1") == [change.state_version]
    assert store.load_decisions("e1") == []
    assert chain_is_intact(store, "e1")


def test_inserting_a_taken_id_again_changes_nothing(store: Store, changes: Changes) -> None:
    original = changes.new("e1", input={"n": 1}, now=at(1))
    store.commit([original])
    before = snapshot(store, TENANT, "e1")
    retry = changes.new("e1", input={"n": 2}, now=at(2))
    assert store.commit([retry]) == [False]
    assert snapshot(store, TENANT, "e1") == before
    assert before.execution == original.execution


def test_a_taken_id_in_a_batch_does_not_stop_the_others(store: Store,
                                                        changes: Changes) -> None:
    store.commit([changes.new("e1")])
    fresh = changes.new("e2")
    assert store.commit([changes.new("e1", input={"x": 1}), fresh]) == [False, True]
    assert store.load_execution(TENANT, "e2") == fresh.execution
    assert store.load_ledger("e2") == list(fresh.ledger)


def test_the_same_new_id_twice_in_one_batch(store: Store, changes: Changes) -> None:
    first, second = changes.new("e1", input={"n": 1}), changes.new("e1", input={"n": 2})
    assert store.commit([first, second]) == [True, False]
    assert store.load_execution(TENANT, "e1") == first.execution
    assert store.load_ledger("e1") == list(first.ledger)


def test_an_empty_batch_commits_nothing(store: Store) -> None:
    assert store.commit([]) == []


# commit: updates and their guard -------------------------------------------------------

def test_an_update_applies_every_row_of_the_change(store: Store, changes: Changes) -> None:
    new = changes.new("e1", now=at(1))
    store.commit([new])
    started = activation(changes.view("e1"), at(2)).change
    assert store.commit([started]) == [True]
    assert store.load_execution(TENANT, "e1") == started.execution
    assert store.load_ledger("e1") == [*new.ledger, *started.ledger]
    assert {s.step_id: s for s in store.load_steps("e1")} == {
        "first": started.steps[0], "second": new.new_steps[1]}
    assert store.load_decisions("e1") == list(started.decisions)
    assert chain_is_intact(store, "e1")


def test_two_changes_of_one_execution_in_one_batch_apply_in_order(
        store: Store, changes: Changes) -> None:
    """The second is built on the first (its guard expects the first's version) and
    updates the same step run again: both apply, the later last."""
    store.commit([changes.new("e1", now=at(1))])
    started = activation(changes.view("e1"), at(2))
    done = completion(started.view, "first", {"ok": 1}, at(3))
    assert store.commit([started.change, done.change]) == [True, True]
    assert store.load_execution(TENANT, "e1") == done.change.execution
    first = {s.step_id: s for s in store.load_steps("e1")}["first"]
    assert first == {s.step_id: s for s in done.change.steps}["first"]
    assert first.status == "completed"
    assert chain_is_intact(store, "e1")


def test_a_stale_expected_version_writes_nothing(store: Store, changes: Changes) -> None:
    store.commit([changes.new("e1", now=at(1))])
    old_view = changes.view("e1")
    winner = activation(old_view, at(2)).change
    loser = activation(old_view, at(3)).change  # computed from the same, now stale, view
    assert store.commit([winner]) == [True]
    before = snapshot(store, TENANT, "e1")
    assert store.commit([loser]) == [False]
    # the version alone guards too: the current head hash with the stale version
    current_head = winner.execution.head_hash
    assert store.commit([replace(loser, expected_head_hash=current_head)]) == [False]
    after = snapshot(store, TENANT, "e1")
    assert after == before
    assert len(after.ledger) == 1 + len(winner.ledger)
    assert after.execution == winner.execution


def test_an_expected_version_from_the_future_is_refused(store: Store,
                                                        changes: Changes) -> None:
    store.commit([changes.new("e1")])
    started = activation(changes.view("e1")).change
    ahead = replace(started, expected_version=started.execution.version + 5)
    before = snapshot(store, TENANT, "e1")
    assert store.commit([ahead]) == [False]
    assert snapshot(store, TENANT, "e1") == before


def test_a_wrong_expected_head_hash_is_refused(store: Store, changes: Changes) -> None:
    store.commit([changes.new("e1")])
    started = activation(changes.view("e1")).change
    forged = replace(started, expected_head_hash="f" * 64)
    before = snapshot(store, TENANT, "e1")
    assert store.commit([forged]) == [False]
    assert snapshot(store, TENANT, "e1") == before
    # the refused change left no row behind: the genuine one still applies cleanly
    assert store.commit([started]) == [True]
    assert chain_is_intact(store, "e1")


def test_an_update_of_an_unknown_execution_is_refused(store: Store, changes: Changes) -> None:
    new = changes.new("e1")
    started = activation(changes.view_of_new(new)).change  # e1 was never committed
    assert store.commit([started]) == [False]
    assert snapshot(store, TENANT, "e1") == snapshot(store, TENANT, "never")


def test_a_stale_and_a_good_change_in_one_batch(store: Store, changes: Changes) -> None:
    store.commit([changes.new("e1", now=at(1)), changes.new("e2", now=at(2))])
    e1_view = changes.view("e1")
    store.commit([activation(e1_view, at(3)).change])
    e1_before = snapshot(store, TENANT, "e1")
    stale = activation(e1_view, at(4)).change
    good = activation(changes.view("e2"), at(4)).change
    assert store.commit([stale, good]) == [False, True]
    assert snapshot(store, TENANT, "e1") == e1_before
    e2 = snapshot(store, TENANT, "e2")
    assert e2.execution == good.execution
    assert e2.ledger[-len(good.ledger):] == list(good.ledger)
    assert [e.seq for e in e2.ledger] == list(range(1, good.execution.head_seq + 1))
    assert {s.step_id: s for s in e2.steps}["first"] == good.steps[0]
    assert e2.decisions == list(good.decisions)
    assert chain_is_intact(store, "e2")


def test_a_good_change_before_a_stale_one_in_one_batch(store: Store,
                                                       changes: Changes) -> None:
    store.commit([changes.new("e1"), changes.new("e2")])
    e2_view = changes.view("e2")
    store.commit([activation(e2_view, at(1)).change])
    good = activation(changes.view("e1"), at(2)).change
    assert store.commit([good, activation(e2_view, at(2)).change]) == [True, False]
    assert store.load_execution(TENANT, "e1") == good.execution


def test_new_and_activation_of_one_execution_in_one_batch(store: Store,
                                                         changes: Changes) -> None:
    new = changes.new("e1", now=at(1))
    started = activation(changes.view_of_new(new), at(2)).change
    assert store.commit([new, started]) == [True, True]
    stored = snapshot(store, TENANT, "e1")
    assert stored.execution == started.execution
    assert stored.execution is not None and stored.execution.version == 2
    assert stored.ledger == [*new.ledger, *started.ledger]
    assert [s.status for s in stored.steps] == ["running", "pending"]
    assert stored.decisions == list(started.decisions)
    assert chain_is_intact(store, "e1")


def test_three_chained_updates_in_one_batch(store: Store, changes: Changes) -> None:
    store.commit([changes.new("e1", now=at(1))])
    started = activation(changes.view("e1"), at(2))
    first_done = completion(started.view, "first", {"n": 1}, at(3))
    second_done = completion(first_done.view, "second", {"n": 2}, at(4))
    batch = [started.change, first_done.change, second_done.change]
    assert store.commit(batch) == [True, True, True]
    stored = snapshot(store, TENANT, "e1")
    assert stored.execution == second_done.change.execution
    assert stored.execution is not None and stored.execution.status == "completed"
    assert [e.seq for e in stored.ledger] == list(range(1, stored.execution.head_seq + 1))
    assert [(s.step_id, s.status, s.epoch) for s in stored.steps] == [
        ("first", "completed", 1), ("second", "completed", 1)]
    assert [d.step_id for d in stored.decisions] == ["first", "second"]
    assert [v.version for v in stored.state_versions] == [1, 2]
    assert chain_is_intact(store, "e1")


def test_a_change_keeping_a_leased_status_keeps_the_lease(store: Store,
                                                           changes: Changes) -> None:
    """A change that keeps the status it was computed from (most steps) stores the whole
    row and leaves the lease as it is; the change that finishes the execution clears it."""
    new = changes.new("e1", now=at(1))
    leased = replace(new, execution=replace(new.execution, lease_owner="w1", lease_epoch=1,
                                            lease_expires_at=format_timestamp(at(60))))
    started = activation(changes.view_of_new(leased), at(2))
    first_done = completion(started.view, "first", {"n": 1}, at(3))
    second_done = completion(first_done.view, "second", {"n": 2}, at(4))
    assert first_done.change.expected_status == first_done.change.execution.status
    assert store.commit([leased, replace(started.change, lease=("w1", 1))]) == [True, True]
    assert store.commit([replace(first_done.change, lease=("w1", 1))]) == [True]
    assert store.load_execution(TENANT, "e1") == first_done.change.execution
    assert store.commit([replace(second_done.change, lease=("w1", 1))]) == [True]
    stored = store.load_execution(TENANT, "e1")
    assert stored is not None
    assert (stored.status, stored.lease_owner, stored.lease_expires_at) == (
        "completed", None, None)
    assert stored == replace(second_done.change.execution, lease_owner=None,
                             lease_expires_at=None)
    assert chain_is_intact(store, "e1")


def test_a_chain_built_on_a_refused_change_is_refused_too(store: Store,
                                                          changes: Changes) -> None:
    store.commit([changes.new("e1")])
    view = changes.view("e1")
    store.commit([activation(view, at(1)).change])
    before = snapshot(store, TENANT, "e1")
    stale = activation(view, at(2))
    follow_up = completion(stale.view, "first", "late", at(3)).change
    assert store.commit([stale.change, follow_up]) == [False, False]
    assert snapshot(store, TENANT, "e1") == before


# state versions and decisions -------------------------------------------------------------

def test_a_step_output_makes_a_new_state_version(store: Store, changes: Changes) -> None:
    store.commit([changes.new("e1")])
    started = activation(changes.view("e1"), at(1))
    done = completion(started.view, "first", {"total": 42}, at(2)).change
    assert store.commit([started.change, done]) == [True, True]
    assert done.state_version is not None
    assert store.load_state_version("e1", 2) == done.state_version
    assert [v.version for v in store.list_state_versions("e1")] == [1, 2]
    v1, v2 = store.load_state_version("e1", 1), store.load_state_version("e1", 2)
    assert v1 is not None and v2 is not None
    assert (v1.state, v2.state) == ("{}", '{"first":{"total":42}}')
    row = store.load_execution(TENANT, "e1")
    assert row is not None and (row.state_version, row.state) == (2, v2.state)
    assert store.load_state_version("e1", 3) is None


def test_load_decisions_returns_the_decision_of_the_activation(store: Store,
                                                               changes: Changes) -> None:
    store.commit([changes.new("e1")])
    started = activation(changes.view("e1"), at(5)).change
    store.commit([started])
    decisions = store.load_decisions("e1")
    assert decisions == list(started.decisions)
    (decision,) = decisions
    assert (decision.step_id, decision.agent, decision.capability, decision.reason) == (
        "first", "a", "t.work", "test")
    assert (decision.epoch, decision.attempt, decision.candidates) == (1, 1, "[]")
    assert decision.decided_at == "2026-11-22T07:33:05.000000Z"


# listing ------------------------------------------------------------------------------------

def _three_executions(store: Store, changes: Changes) -> None:
    """e1 pending (pair), e2 running (pair), e3 pending (solo), created in that order."""
    store.commit([changes.new("e1", now=at(1)), changes.new("e2", now=at(2)),
                  changes.new("e3", spec=SOLO, now=at(3))])
    store.commit([activation(changes.view("e2"), at(4)).change])


def test_list_executions_is_newest_first(store: Store, changes: Changes) -> None:
    _three_executions(store, changes)
    assert filtered(store) == ["e3", "e2", "e1"]


def test_list_executions_filters_by_status(store: Store, changes: Changes) -> None:
    _three_executions(store, changes)
    assert filtered(store, status="pending") == ["e3", "e1"]
    assert filtered(store, status="running") == ["e2"]
    assert filtered(store, status="completed") == []


def test_list_executions_filters_by_workflow(store: Store, changes: Changes) -> None:
    _three_executions(store, changes)
    assert filtered(store, workflow="pair") == ["e2", "e1"]
    assert filtered(store, workflow="solo") == ["e3"]
    assert filtered(store, workflow="pair", status="pending") == ["e1"]
    assert filtered(store, workflow="unknown") == []


def test_list_executions_limit_keeps_the_newest(store: Store, changes: Changes) -> None:
    _three_executions(store, changes)
    assert filtered(store, limit=2) == ["e3", "e2"]
    assert filtered(store, limit=1, status="pending") == ["e3"]


def stamp(seconds: float) -> str:
    return format_timestamp(at(seconds))


def test_list_executions_takes_several_statuses_times_and_an_id_prefix(
        store: Store, changes: Changes) -> None:
    _three_executions(store, changes)
    store.commit([changes.new("f1", tenant=OTHER_TENANT, now=at(2))])

    def listed(**given: object) -> list[str]:
        return ids(store.list_executions(ExecutionFilter(tenant_id=TENANT, **given)))  # type: ignore[arg-type]
    assert listed(statuses=("pending", "running")) == ["e3", "e2", "e1"]
    assert listed(statuses=("running", "completed")) == ["e2"]
    assert listed(created_after=stamp(1)) == ["e3", "e2"]
    assert listed(created_before=stamp(3)) == ["e2", "e1"]
    assert listed(created_after=stamp(1), created_before=stamp(3)) == ["e2"]
    assert listed(id_prefix="e") == ["e3", "e2", "e1"]
    assert listed(id_prefix="e2") == ["e2"]
    assert listed(id_prefix="f") == []  # another tenant's


def test_list_executions_pages_by_cursor_in_both_orders(store: Store,
                                                        changes: Changes) -> None:
    store.commit([changes.new(f"e{i}", now=at(1 if i < 3 else i)) for i in range(6)])
    pages, after = [], None
    while True:
        page = store.list_executions(ExecutionFilter(tenant_id=TENANT, limit=2, after=after))
        if not page:
            break
        pages.append(ids(page))
        after = (page[-1].created_at, page[-1].id)
    # e0..e2 share a created_at: the id breaks the tie, so no row is skipped or repeated
    assert pages == [["e5", "e4"], ["e3", "e2"], ["e1", "e0"]]
    first = store.list_executions(ExecutionFilter(tenant_id=TENANT, limit=4, oldest_first=True))
    assert ids(first) == ["e0", "e1", "e2", "e3"]
    rest = store.list_executions(ExecutionFilter(
        tenant_id=TENANT, oldest_first=True, after=(first[-1].created_at, first[-1].id)))
    assert ids(rest) == ["e4", "e5"]


def test_count_executions_by_status_with_the_filter(store: Store, changes: Changes) -> None:
    _three_executions(store, changes)
    store.commit([changes.new("f1", tenant=OTHER_TENANT, now=at(2))])
    assert store.count_executions(ExecutionFilter(tenant_id=TENANT)) == {
        "pending": 2, "running": 1}
    assert store.count_executions(ExecutionFilter(tenant_id=TENANT, workflow="solo")) == {
        "pending": 1}
    assert store.count_executions(ExecutionFilter(
        tenant_id=TENANT, statuses=("running", "failed"))) == {"running": 1}
    assert store.count_executions(ExecutionFilter(tenant_id="nobody")) == {}


def test_executions_with_status_spans_tenants_oldest_first(store: Store,
                                                           changes: Changes) -> None:
    _three_executions(store, changes)
    store.commit([changes.new("b1", tenant=OTHER_TENANT, now=at(0))])
    assert ids(store.executions_with_status(["pending"])) == ["b1", "e1", "e3"]
    assert ids(store.executions_with_status(["running"])) == ["e2"]
    both = store.executions_with_status(["running", "pending"])
    assert ids(both) == ["b1", "e1", "e2", "e3"]
    assert store.executions_with_status(["completed"]) == []
    assert store.executions_with_status([]) == []


def test_iter_executions_yields_a_tenant_oldest_first(store: Store, changes: Changes) -> None:
    _three_executions(store, changes)
    store.commit([changes.new("b1", tenant=OTHER_TENANT, now=at(0))])
    found = store.iter_executions(TENANT)
    assert iter(found) is found  # an iterator, not a list
    rows = list(found)
    assert ids(rows) == ["e1", "e2", "e3"]
    assert rows[1] == store.load_execution(TENANT, "e2")
    assert ids(store.iter_executions(OTHER_TENANT)) == ["b1"]
    assert list(store.iter_executions("nobody")) == []


def _finish_solo(store: Store, changes: Changes, execution_id: str, start: float,
                 end: float, tenant: str = TENANT) -> None:
    new = changes.new(execution_id, spec=SOLO, tenant=tenant, now=at(start))
    started = activation(changes.view_of_new(new), at(start))
    done = completion(started.view, "only", {"id": execution_id}, at(end))
    assert store.commit([new, started.change, done.change]) == [True, True, True]


def test_durations_of_completed_executions_latest_first(store: Store,
                                                         changes: Changes) -> None:
    _finish_solo(store, changes, "s1", 10, 15)
    _finish_solo(store, changes, "s2", 20, 30)
    _finish_solo(store, changes, "s3", 40, 41)
    running = changes.new("s4", spec=SOLO, now=at(50))
    store.commit([running, activation(changes.view_of_new(running), at(50)).change])
    _finish_solo(store, changes, "other", 60, 70, tenant=OTHER_TENANT)
    assert store.durations(TENANT, "solo", 10) == [
        ("2026-11-22T07:33:40.000000Z", "2026-11-22T07:33:41.000000Z"),
        ("2026-11-22T07:33:20.000000Z", "2026-11-22T07:33:30.000000Z"),
        ("2026-11-22T07:33:10.000000Z", "2026-11-22T07:33:15.000000Z"),
    ]
    assert len(store.durations(TENANT, "solo", 2)) == 2
    assert store.durations(TENANT, "solo", 2)[0][1] == "2026-11-22T07:33:41.000000Z"
    assert store.durations(TENANT, "pair", 10) == []
    assert store.durations(OTHER_TENANT, "solo", 10) == [
        ("2026-11-22T07:34:00.000000Z", "2026-11-22T07:34:10.000000Z")]


# not found ---------------------------------------------------------------------------------

def test_loads_of_unknown_ids_are_empty_not_errors(store: Store) -> None:
    assert store.load_execution(TENANT, "nope") is None
    assert store.load_execution_any_tenant("nope") is None
    assert store.load_steps("nope") == []
    assert store.load_ledger("nope") == []
    assert store.load_state_version("nope", 1) is None
    assert store.list_state_versions("nope") == []
    assert store.load_decisions("nope") == []
    assert store.durations(TENANT, "nope", 5) == []
    assert store.list_executions(ExecutionFilter(tenant_id=TENANT)) == []
    assert list(store.iter_executions(TENANT)) == []


def test_loads_of_another_tenants_execution_are_none(store: Store, changes: Changes) -> None:
    store.commit([changes.new("e1")])
    assert store.load_execution(OTHER_TENANT, "e1") is None
    assert store.load_state_version("e1", 99) is None




def test_a_broken_new_row_is_an_error_not_a_taken_id(store: Store, changes: Changes) -> None:
    good = changes.new("e1")
    broken = replace(good, execution=replace(good.execution, workflow_version=99))
    with pytest.raises(errors.StorageError):
        store.commit([broken])
    assert store.load_execution(TENANT, "e1") is None
    assert store.commit([good]) == [True]
    assert store.commit([good]) == [False]  # now the id really is taken


# telemetry -----------------------------------------------------------------------------
def test_telemetry_rows_are_stored_column_for_column(store: Store, changes: Changes) -> None:
    store.commit([changes.new("e1")])
    written = [
        TelemetryRow(kind="decision", execution_id="e1", step_id="first", message="a → b",
                     fields='{"attempt":1}', occurred_at="2026-01-01T00:00:01.000000Z"),
        TelemetryRow(kind="transition", execution_id=None, step_id=None, message="breaker",
                     fields='{"to":"open"}', occurred_at="2026-01-01T00:00:02.000000Z"),
    ]
    store.write_telemetry(written)
    read = store.read_telemetry(None)
    assert [replace(r, id=None) for r in read] == written
    assert [r.message for r in store.read_telemetry("e1")] == ["a → b"]
