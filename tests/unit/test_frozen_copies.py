"""``evolve`` and ``maker`` build exactly what ``dataclasses.replace`` and the constructor
build, and refuse what they cannot copy faithfully."""

from __future__ import annotations

import dataclasses

import pytest

from ledgerflow._frozen import evolve, maker
from ledgerflow.storage.rows import ExecutionRow, LedgerRow, StepRow

STEP = StepRow(execution_id="e-1", step_id="a", status="pending", heartbeat="{}")


def test_evolve_is_replace() -> None:
    changes = {"status": "running", "attempt": 2, "agent": "x", "ready_at": None}
    copy = evolve(STEP, **changes)
    assert copy == dataclasses.replace(STEP, **changes)
    assert type(copy) is StepRow and copy is not STEP
    assert copy.heartbeat == "{}" and STEP.status == "pending"  # the original is untouched


def test_evolve_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match="'nope'"):
        evolve(STEP, nope=1)


def test_maker_is_the_constructor() -> None:
    columns = {"execution_id": "e-1", "seq": 3, "event_type": "step.completed",
               "step_id": None, "occurred_at": "t", "prev_hash": "p", "entry_hash": "h",
               "body": "{}", "payload": None}
    assert maker(LedgerRow)(**columns) == LedgerRow(**columns)
    assert maker(StepRow)(execution_id="e", step_id="s", status="pending") == \
        StepRow(execution_id="e", step_id="s", status="pending")
    with pytest.raises(TypeError):
        maker(LedgerRow)(seq=1)  # a column missing
    assert maker(ExecutionRow) is maker(ExecutionRow)  # made once


def test_maker_calls_a_default_factory_for_each_object_not_given_the_field() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Held:
        name: str
        items: list[int] = dataclasses.field(default_factory=list)

    make = maker(Held)
    first, second = make(name="a"), make(name="b")
    assert first == Held("a") and first.items == []
    assert first.items is not second.items  # a new one each time, as __init__ makes
    given = [1]
    assert make(name="c", items=given).items is given


def test_refuses_a_class_whose_constructor_does_more() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        n: int

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")

    with pytest.raises(TypeError, match="__post_init__"):
        evolve(Checked(1), n=-1)
    with pytest.raises(TypeError, match="__post_init__"):
        maker(Checked)
