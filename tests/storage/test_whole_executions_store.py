"""``load_whole_executions``: several executions with their steps and signals in one call, on
every backend of the ``store`` fixture, exactly as the single loads give them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ledgerflow.storage.base import Store
from ledgerflow.storage.rows import ExecutionRows, SignalRow
from tests.storage.conftest import OTHER_TENANT, Changes, activation, at, completion

# the first step is inserted first yet sorts last: the order of the rows is the stored one
BACKWARDS: dict[str, Any] = {"name": "backwards", "steps": [
    {"id": "zeta", "agent": "t.work"},
    {"id": "alpha", "agent": "t.work", "needs": ["zeta"]},
    {"id": "mid", "agent": "t.work", "needs": ["zeta"]},
]}


def signal(execution_id: str, seq: int, name: str) -> SignalRow:
    return SignalRow(execution_id=execution_id, seq=seq, name=name, data="{}",
                     received_at="2026-11-22T07:33:05.000000Z")


def with_signals(changes: Changes, execution_id: str) -> None:
    """A PAIR execution whose two completions each recorded a signal."""
    new = changes.new(execution_id)
    started = activation(changes.view_of_new(new), at(1))
    first = completion(started.view, "first", {"n": 1}, at(2))
    second = completion(first.view, "second", {"n": 2}, at(3))
    assert changes.store.commit([
        new, started.change,
        replace(first.change, signals=(signal(execution_id, first.change.execution.head_seq,
                                              "one"),)),
        replace(second.change, signals=(signal(execution_id,
                                               second.change.execution.head_seq, "two"),)),
    ]) == [True] * 4


def single_loads(store: Store, execution_id: str) -> ExecutionRows:
    row = store.load_execution_any_tenant(execution_id)
    assert row is not None
    return ExecutionRows(execution=row, steps=store.load_steps(execution_id),
                         signals=store.load_signals(execution_id))


def test_each_execution_is_what_the_single_loads_give(store: Store, changes: Changes) -> None:
    with_signals(changes, "e1")
    backwards = changes.new("e2", spec=BACKWARDS)
    started = activation(changes.view_of_new(backwards), at(1))
    other = changes.new("e3", tenant=OTHER_TENANT)  # the worker serves every tenant
    assert store.commit([backwards, other, started.change]) == [True] * 3
    whole = store.load_whole_executions(["e2", "e3", "e1"])
    assert whole == {i: single_loads(store, i) for i in ("e1", "e2", "e3")}
    assert [s.step_id for s in whole["e2"].steps] == ["zeta", "alpha", "mid"]
    assert [g.name for g in whole["e1"].signals] == ["one", "two"]
    assert len(whole["e3"].steps) == 2 and whole["e3"].signals == []


def test_unknown_ids_are_absent_and_a_repeated_id_is_loaded_once(
        store: Store, changes: Changes) -> None:
    assert store.commit([changes.new("e1")]) == [True]
    whole = store.load_whole_executions(["nope", "e1", "e1", "\udcff"])  # not even UTF-8
    assert whole == {"e1": single_loads(store, "e1")}
    assert store.load_whole_executions([]) == {}
    assert store.load_whole_executions(["nope"]) == {}
