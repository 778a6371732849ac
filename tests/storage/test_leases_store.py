"""Execution leases and the worker registry, on every backend of the ``store`` fixture."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import Store
from ledgerflow.storage.rows import WorkerRow
from tests.storage.conftest import OTHER_TENANT, TENANT, Changes, activation, at, completion

NOW, LATER = format_timestamp(at(0)), format_timestamp(at(10))
LAPSED = format_timestamp(at(20))  # past LATER: every lease given until LATER has lapsed


def start(store: Store, changes: Changes, *ids: str) -> None:
    assert all(store.commit([changes.new(i) for i in ids]))


def claim(store: Store, owner: str, *, now: str = NOW, limit: int = 10,
          steal: bool = False) -> dict[str, int]:
    rows = store.claim_executions(owner, now=now, expires_at=LATER, limit=limit, steal=steal)
    return {r.execution_id: r.lease_epoch for r in rows}


def test_claims_take_unheld_executions_oldest_first_under_epoch_1(
        store: Store, changes: Changes) -> None:
    start(store, changes, "e1", "e2", "e3")
    assert claim(store, "w1", limit=2) == {"e1": 1, "e2": 1}
    assert claim(store, "w2") == {"e3": 1}
    assert claim(store, "w3") == {}  # every lease is live
    row = store.load_execution_any_tenant("e1")
    assert row is not None and (row.lease_owner, row.lease_epoch) == ("w1", 1)


def test_a_lapsed_lease_is_taken_over_under_a_new_epoch(store: Store,
                                                        changes: Changes) -> None:
    start(store, changes, "e1")
    claim(store, "w1")
    rows = store.claim_executions("w2", now=LAPSED, expires_at=LAPSED, limit=5)
    assert [(r.execution_id, r.lease_epoch, r.previous_owner) for r in rows] == [
        ("e1", 2, "w1")]


def test_steal_takes_live_leases_of_other_owners_only(store: Store, changes: Changes) -> None:
    start(store, changes, "e1", "e2")
    claim(store, "w1", limit=1)
    claim(store, "w2", limit=1)
    assert claim(store, "w2", steal=True) == {"e1": 2}


def test_a_write_under_a_lease_that_is_no_longer_current_fails_its_guard(
        store: Store, changes: Changes) -> None:
    new = changes.new("e1")
    view = changes.view_of_new(new)
    assert store.commit([new]) == [True]
    claim(store, "w1")
    started = activation(view)
    assert store.commit([replace(started.change, lease=("w1", 1))]) == [True]
    store.claim_executions("w2", now=LAPSED, expires_at=LAPSED, limit=5)  # takeover: epoch 2
    done = completion(started.view, "first", {"x": 1})
    before = store.load_ledger("e1")
    assert store.commit([replace(done.change, lease=("w1", 1))]) == [False]
    assert store.load_ledger("e1") == before  # nothing of it landed
    assert store.commit([replace(done.change, lease=("w2", 2))]) == [True]


def test_writes_without_a_lease_are_guarded_by_version_only(store: Store,
                                                            changes: Changes) -> None:
    new = changes.new("e1")
    view = changes.view_of_new(new)
    store.commit([new])
    claim(store, "w1")
    assert store.commit([activation(view).change]) == [True]  # an operator's change


def test_a_finished_execution_is_nobodys(store: Store, changes: Changes) -> None:
    new = changes.new("e1", spec={"name": "solo", "steps": [{"id": "only", "agent": "t"}]})
    view = changes.view_of_new(new)
    store.commit([new])
    claim(store, "w1")
    started = activation(view)
    store.commit([replace(started.change, lease=("w1", 1))])
    done = completion(started.view, "only", 1)
    assert done.view.status.terminal
    assert store.commit([replace(done.change, lease=("w1", 1))]) == [True]
    row = store.load_execution_any_tenant("e1")
    assert row is not None and (row.lease_owner, row.lease_expires_at) == (None, None)
    assert row.lease_epoch == 1


def test_renew_extends_the_owners_unfinished_leases_and_beats(store: Store,
                                                             changes: Changes) -> None:
    start(store, changes, "e1", "e2")
    claim(store, "w1", limit=1)
    claim(store, "w2", limit=1)
    store.register_worker(worker("w1"))
    assert store.renew_leases("w1", expires_at=LAPSED, at=LATER) == {"e1": 1}
    assert claim(store, "w3", now=LATER) == {}  # e1 renewed past LATER; e2 lapses after
    row = store.load_execution_any_tenant("e1")
    assert row is not None and row.lease_expires_at == LAPSED
    assert [w.heartbeat_at for w in store.list_workers()] == [LATER]


def test_release_hands_back_all_or_some(store: Store, changes: Changes) -> None:
    start(store, changes, "e1", "e2", "e3")
    claim(store, "w1")
    assert store.release_leases("w1", ["e2"]) == 1
    assert claim(store, "w2") == {"e2": 2}
    assert store.release_leases("w1") == 2
    assert claim(store, "w2") == {"e1": 2, "e3": 2}


def worker(worker_id: str, status: str = "running") -> WorkerRow:
    return WorkerRow(id=worker_id, host="h", pid=1, status=status,
                     capabilities=json.dumps(["t.work"]), concurrency=4, lease_seconds=10.0,
                     started_at=NOW, heartbeat_at=NOW)


def test_a_heartbeat_publishes_the_stuck_handlers_and_a_stop_clears_them(
        store: Store) -> None:
    store.register_worker(replace(worker("w1"), limits='{"t.work": 1}'))
    stuck = json.dumps([{"execution": "e1", "step": "s", "agent": "a", "since": NOW}])
    store.renew_leases("w1", expires_at=LAPSED, at=LATER, stuck=stuck)
    [row] = store.list_workers()
    assert (row.stuck, row.limits, row.heartbeat_at) == (stuck, '{"t.work": 1}', LATER)
    store.renew_leases("w1", expires_at=LAPSED, at=LATER)  # the handler returned
    assert store.list_workers()[0].stuck == "[]"
    store.renew_leases("w1", expires_at=LAPSED, at=LATER, stuck=stuck)
    store.set_worker_status("w1", "stopping", LATER)
    assert store.list_workers()[0].stuck == stuck  # still its process's threads
    store.set_worker_status("w1", "stopped", LATER)
    assert store.list_workers()[0].stuck == "[]"  # a stopped worker reports none


def test_the_registry_keeps_workers_and_their_load(store: Store, changes: Changes) -> None:
    store.register_worker(worker("w1"))
    store.register_worker(worker("w2"))
    store.set_worker_status("w2", "stopped", LATER)
    start(store, changes, "e1", "e2")
    claim(store, "w1")
    found = {w.id: w for w in store.list_workers()}
    assert found["w2"].status == "stopped" and found["w2"].stopped_at == LATER
    assert store.worker_load() == {"w1": (2, 0, None)}


@pytest.mark.parametrize("claimers", [4])
def test_concurrent_claimers_never_get_the_same_execution(store: Store, changes: Changes,
                                                          claimers: int) -> None:
    ids = [f"e{i:03d}" for i in range(60)]
    start(store, changes, *ids)
    go = threading.Barrier(claimers)

    def run(n: int) -> list[str]:
        go.wait()
        got: list[str] = []
        while batch := claim(store, f"w{n}", limit=3):
            got.extend(batch)
        return got

    with ThreadPoolExecutor(claimers) as pool:
        results = list(pool.map(run, range(claimers)))
    every = [eid for got in results for eid in got]
    assert sorted(every) == ids  # each exactly once


def test_running_steps_are_listed_by_their_holder(store: Store, changes: Changes) -> None:
    new = changes.new("e1")
    view = changes.view_of_new(new)
    store.commit([new])
    claim(store, "w1")
    started = activation(view)
    assert store.commit([replace(started.change, lease=("w1", 1))]) == [True]
    assert store.running_steps() == [("w1", "e1", "first", "a", NOW)]
    assert store.worker_load() == {"w1": (1, 1, NOW)}


def test_a_claim_for_one_tenant_takes_only_its_executions(store: Store,
                                                          changes: Changes) -> None:
    start(store, changes, "a1", "a2")
    assert store.commit([changes.new("b1", tenant=OTHER_TENANT)]) == [True]
    mine = store.claim_executions("w1", now=NOW, expires_at=LATER, limit=10, tenant_id=TENANT)
    assert sorted(r.execution_id for r in mine) == ["a1", "a2"]
    # stealing (an embedded database's lock of one tenant) stays within that tenant too
    theirs = store.claim_executions("w2", now=NOW, expires_at=LATER, limit=10, steal=True,
                                    tenant_id=OTHER_TENANT)
    assert [r.execution_id for r in theirs] == ["b1"]
    assert store.claim_executions("w3", now=NOW, expires_at=LATER, limit=10,
                                  tenant_id="tenant-c") == []
    assert claim(store, "w4", now=LAPSED) == {"a1": 2, "a2": 2, "b1": 2}  # every tenant's


def test_expired_sessions_of_one_tenant_or_of_all(store: Store, changes: Changes) -> None:
    for execution_id, tenant in (("a1", TENANT), ("b1", OTHER_TENANT)):
        new = changes.new(execution_id, tenant=tenant)
        expiring = replace(new, execution=replace(new.execution, expires_at=NOW))
        assert store.commit([expiring]) == [True]
    assert [r.id for r in store.expired_executions(LATER, tenant_id=TENANT)] == ["a1"]
    assert [r.id for r in store.expired_executions(LATER, tenant_id=OTHER_TENANT)] == ["b1"]
    assert sorted(r.id for r in store.expired_executions(LATER)) == ["a1", "b1"]
    assert store.expired_executions(NOW[:4], tenant_id=TENANT) == []  # before they expire


def test_the_registry_keeps_the_tenant_a_worker_works(store: Store) -> None:
    store.register_worker(replace(worker("w1"), tenant_scope=TENANT))
    store.register_worker(worker("w2"))
    found = {w.id: w.tenant_scope for w in store.list_workers()}
    assert found == {"w1": TENANT, "w2": None}
