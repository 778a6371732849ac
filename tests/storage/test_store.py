"""The storage contract (storage/base.py), on every backend through the Store protocol only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ledgerflow.definition import from_mapping
from ledgerflow.engine import rules, starting
from ledgerflow.engine.transition import Transition
from ledgerflow.engine.view import ExecutionView
from ledgerflow.ledger.chain import Actor
from ledgerflow.storage.base import Change, ExecutionFilter, Store

NOW = datetime(2026, 11, 22, 7, 33, tzinfo=UTC)
ACTOR = Actor(kind="test", id="contract")
SPEC = {"name": "flow", "steps": [{"id": "a", "agent": "t.a"},
                                  {"id": "b", "agent": "t.a", "needs": ["a"]}]}


def choose(capability: str) -> rules.Choice:
    return rules.Choice(agent="agent-1", candidates=[{"agent": "agent-1"}], reason="test")


def new(store: Store, execution_id: str, tenant: str = "t1", spec: Any = SPEC,
        input: Any = None) -> Change:
    definition = from_mapping(spec)
    row, _ = store.put_definition(tenant, definition.name, definition.sha256,
                                  '{"stored": true}', "2026-11-22T07:33:00.000000Z")
    return starting.new_execution(tenant_id=tenant, execution_id=execution_id, row=row,
                                  definition=definition, input=input or {}, now=NOW,
                                  actor=ACTOR)


def activation(store: Store, execution_id: str) -> Change:
    """The change that starts a stored execution, computed from what the store holds."""
    row = store.load_execution("t1", execution_id)
    assert row is not None
    view = ExecutionView.from_rows(row, from_mapping(SPEC), store.load_steps(row.id))
    return activate(view)


def activate(view: ExecutionView) -> Change:
    tr = Transition.begin(view, NOW, ACTOR)
    rules.activate(tr, choose)
    return tr.build().change


def test_definitions_are_versioned_by_content(store: Store) -> None:
    first, created = store.put_definition("t1", "w", "a" * 64, "{}", "t0")
    same, again = store.put_definition("t1", "w", "a" * 64, "{}", "t1")
    second, _ = store.put_definition("t1", "w", "b" * 64, "{}", "t2")
    assert (first.version, created, same.version, again, second.version) == (1, True, 1, False, 2)
    latest = store.get_definition("t1", "w")
    assert latest is not None and latest.version == 2
    v1 = store.get_definition("t1", "w", 1)
    assert v1 is not None and v1.sha256 == "a" * 64
    assert store.get_definition("t1", "w", 9) is None
    assert store.get_definition("t1", "nope") is None
    assert [(d.name, d.version) for d in store.list_definitions("t1")] == [("w", 2)]
    assert store.list_definitions("t2") == []


def test_insert_then_read_back(store: Store) -> None:
    change = new(store, "e1")
    assert store.commit([change]) == [True]
    row = store.load_execution("t1", "e1")
    assert row == change.execution
    assert [s.step_id for s in store.load_steps("e1")] == ["a", "b"]
    assert [e.seq for e in store.load_ledger("e1")] == [1]
    version = store.load_state_version("e1", 1)
    assert version is not None and version.state == "{}"
    assert store.commit([new(store, "e1", input={"other": 1})]) == [False]  # id taken
    assert store.load_execution("t1", "e1") == change.execution


def test_stale_change_writes_nothing(store: Store) -> None:
    change = new(store, "e1")
    store.commit([change])
    started = activation(store, "e1")
    assert store.commit([started]) == [True]
    assert store.commit([started]) == [False]  # same expected version again: stale
    assert len(store.load_ledger("e1")) == 1 + len(started.ledger)
    assert [s.status for s in store.load_steps("e1")] == ["running", "pending"]
    assert [d.step_id for d in store.load_decisions("e1")] == ["a"]


def test_one_stale_change_does_not_spoil_the_batch(store: Store) -> None:
    c1, c2 = new(store, "e1"), new(store, "e2")
    store.commit([c1, c2])
    a1, a2 = activation(store, "e1"), activation(store, "e2")
    store.commit([a1])
    assert store.commit([a1, a2]) == [False, True]
    e2 = store.load_execution("t1", "e2")
    assert e2 is not None and e2.status == "running" and e2.head_seq == a2.execution.head_seq
    assert len(store.load_ledger("e1")) == len(store.load_ledger("e2"))


def test_chained_changes_in_one_batch(store: Store) -> None:
    change = new(store, "e1")
    view = ExecutionView.from_rows(change.execution, from_mapping(SPEC), change.new_steps)
    assert store.commit([change, activate(view)]) == [True, True]
    row = store.load_execution("t1", "e1")
    assert row is not None and row.status == "running" and row.version == 2


def test_listing_and_filters(store: Store) -> None:
    other = {"name": "other", "steps": [{"id": "x", "agent": "t.a"}]}
    store.commit([new(store, "e1"), new(store, "e2"), new(store, "e3", spec=other)])
    store.commit([activation(store, "e2")])
    listed = store.list_executions(ExecutionFilter(tenant_id="t1"))
    assert {r.id for r in listed} == {"e1", "e2", "e3"}
    running = store.list_executions(ExecutionFilter(tenant_id="t1", status="running"))
    assert [r.id for r in running] == ["e2"]
    flows = store.list_executions(ExecutionFilter(tenant_id="t1", workflow="other"))
    assert [r.id for r in flows] == ["e3"]
    assert len(store.list_executions(ExecutionFilter(tenant_id="t1", limit=2))) == 2
    pending = {r.id for r in store.executions_with_status(["pending"])}
    assert pending == {"e1", "e3"}
    assert [r.id for r in store.iter_executions("t1")] == ["e1", "e2", "e3"]


def test_tenants_are_isolated(store: Store) -> None:
    store.commit([new(store, "e1", tenant="t1")])
    assert store.load_execution("t2", "e1") is None
    assert store.list_executions(ExecutionFilter(tenant_id="t2")) == []
    assert list(store.iter_executions("t2")) == []
    assert store.load_execution_any_tenant("e1") is not None


def test_unknown_ids_read_as_empty(store: Store) -> None:
    assert store.load_execution("t1", "nope") is None
    assert store.load_execution_any_tenant("nope") is None
    assert store.load_steps("nope") == []
    assert store.load_ledger("nope") == []
    assert store.load_state_version("nope", 1) is None
    assert store.list_state_versions("nope") == []
    assert store.load_decisions("nope") == []
    assert store.durations("t1", "nope", 5) == []
