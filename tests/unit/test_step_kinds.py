"""Step kinds: what each declares, that validation accepts exactly the registered types, and
that a kind reaches the graph rules through the registry alone (a fake one, registered here,
runs without any change to ``rules.flow``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledgerflow import errors
from ledgerflow.definition import Definition, from_mapping
from ledgerflow.definition.model import Step, StepType
from ledgerflow.definition.outline import WAITING_TYPES
from ledgerflow.engine.model.timers import TimerKind
from ledgerflow.engine.model.transition import Transition, text
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.rules import flow, kinds, recovery, starting, step_runs
from ledgerflow.engine.rules.dispatching import Choice, Chooser
from ledgerflow.engine.rules.kinds.base import StepKind
from ledgerflow.ledger.chain import Actor
from ledgerflow.storage.rows import DefinitionRow

T0 = datetime(2026, 11, 22, 7, 33, tzinfo=UTC)
ACTOR = Actor(kind="test", id="kinds")


def choose(capability: str, avoid: str | None = None) -> Choice:
    return Choice(agent="agent-1", candidates=[], reason="test")


def new_transition(definition: Definition) -> Transition:
    """A pending execution of ``definition``, as a worker would begin to change it."""
    row = DefinitionRow(tenant_id="t", name=definition.name, version=1,
                        sha256=definition.sha256, spec=text(definition.spec), created_at="")
    change = starting.new_execution(tenant_id="t", execution_id="e-1", row=row,
                                    definition=definition, input={}, now=T0, actor=ACTOR)
    view = ExecutionView.from_rows(change.execution, definition, change.new_steps)
    return Transition.begin(view, T0, ACTOR)


def later(tr: Transition, seconds: float) -> Transition:
    """The next change of the same execution, once ``tr`` committed."""
    return Transition.begin(tr.build().view, T0 + timedelta(seconds=seconds), ACTOR)


# --- what each kind declares -------------------------------------------------------------


def test_the_registered_kinds_declare_what_they_need_and_do() -> None:
    declared = {t: (k.needs_agent, k.holds_handler, k.waiting, k.deadline)
                for t, k in kinds.REGISTRY.items()}
    assert declared == {
        StepType.TASK: (True, True, False, TimerKind.TIMEOUT),
        StepType.WAIT: (False, False, True, TimerKind.TIMEOUT),
        StepType.SLEEP: (False, False, True, TimerKind.WAKE),
    }
    wait = Step(id="w", type=StepType.WAIT, options={"signal": "approve"})
    assert kinds.of(StepType.WAIT).consumes(wait) == "approve"
    assert kinds.of(StepType.TASK).consumes(Step(id="a", agent="x.y")) is None
    assert kinds.of(StepType.SLEEP).consumes(Step(id="s", type=StepType.SLEEP)) is None


def test_reads_know_the_waiting_types_the_kinds_declare() -> None:
    """``status`` tells waiting steps apart without loading the kinds: by their type."""
    assert {t for t, k in kinds.REGISTRY.items() if k.waiting} == WAITING_TYPES


def test_timer_kinds_keep_their_strings() -> None:
    assert [str(k) for k in TimerKind] == ["retry", "timeout", "wake", "heartbeat"]


# --- validation and the registry agree ---------------------------------------------------


def _type_problems(step_type: str, **fields: Any) -> list[str]:
    try:
        from_mapping({"name": "w", "steps": [{"id": "s", "type": step_type, **fields}]})
    except errors.DefinitionError as exc:
        return list(exc.problems)
    return []


def test_validation_accepts_exactly_the_registered_types() -> None:
    accepted = {t for t in StepType
                if not any(p.startswith("steps[0].type:") for p in _type_problems(t))}
    assert accepted == set(kinds.REGISTRY)


def test_a_kind_needs_an_agent_exactly_when_validation_requires_one() -> None:
    for step_type, kind in kinds.REGISTRY.items():
        required = any(p.startswith("steps[0].agent: required")
                       for p in _type_problems(step_type))
        assert required == kind.needs_agent, step_type


# --- a type without a kind (a version stored before it was refused) ----------------------


def stored_with_a_workflow_step() -> Definition:
    return from_mapping({"name": "kinds-sub", "steps": [
        {"id": "child", "type": "workflow", "workflow": "other"},
        {"id": "after", "agent": "t.work", "needs": ["child"]},
    ]}, stored=True)


def test_a_step_of_a_type_without_a_kind_fails_when_it_begins() -> None:
    assert StepType.WORKFLOW not in kinds.REGISTRY
    tr = new_transition(stored_with_a_workflow_step())
    flow.activate(tr, choose)
    assert tr.step("child").status == "failed"
    assert tr.step("child").error == "step type workflow is not supported by this engine yet"
    assert tr.status == "failed" and tr.dispatches == []


# --- a new kind reaches the rules through the registry alone ----------------------------


class FakeKind:
    """Runs until its deadline (5 s after it begins), then completes; counts as waiting."""

    def __init__(self) -> None:
        self.began: list[str] = []

    def begin(self, tr: Transition, step: Step, choose: Chooser, /) -> None:
        self.began.append(step.id)
        step_runs.begin_run(tr, step, "step.started", tr.now + timedelta(seconds=5), {})

    def deadline_passed(self, tr: Transition, step: Step, epoch: int, /) -> bool:
        return step_runs.record_output(tr, step.id, epoch, {"done": True}, '{"done":true}')

    def kind(self) -> StepKind:
        return StepKind(needs_agent=False, holds_handler=False, waiting=True,
                        deadline=TimerKind.WAKE, begin=self.begin,
                        deadline_passed=self.deadline_passed, consumes=lambda step, /: "poke")


def test_a_registered_kind_is_begun_settled_armed_recovered_and_ended_by_the_rules(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeKind()
    monkeypatch.setitem(kinds.REGISTRY, StepType.WORKFLOW, fake.kind())
    tr = new_transition(stored_with_a_workflow_step())

    flow.activate(tr, choose)  # begin: the kind's
    assert fake.began == ["child"] and tr.step("child").status == "running"
    assert tr.status == "waiting"  # only a waiting kind runs
    waiting = [e for e in tr.events if e.event_type == "execution.waiting"]
    assert [e.payload for e in waiting] == [{"steps": ["child"], "signals": ["poke"]}]

    restarted = later(tr, 1)
    recovery.recover(restarted, choose, limit=3)  # holds no handler: not dispatched again
    assert restarted.recoveries == 0 and restarted.dispatches == []
    assert [(t.step_id, t.kind) for t in restarted.timers] == [("child", TimerKind.WAKE)]

    due = later(restarted, 5)
    assert flow.deadline_passed(due, "child", due.step("child").epoch, choose)
    assert json.loads(due.step("child").output or "") == {"done": True}
    assert [d.step_id for d in due.dispatches] == ["after"]  # the graph moved on
    assert due.status == "running"
    assert not flow.deadline_passed(later(due, 6), "child", 1, choose)  # ended already
