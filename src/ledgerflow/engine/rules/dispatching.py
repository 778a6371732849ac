"""Handing a step to an agent: route its capability, record the attempt and the routing
decision, and ask for the handler call once the change commits. Pure rules over a
``Transition``; the router itself is behind ``Chooser`` (``agents.book``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ledgerflow import errors
from ledgerflow._frozen import evolve, maker
from ledgerflow.definition.model import Step
from ledgerflow.engine.model.lifecycle import StepStatus
from ledgerflow.engine.model.timers import TimerKind
from ledgerflow.engine.model.transition import Dispatch, Transition
from ledgerflow.engine.rules import signals
from ledgerflow.engine.rules.step_runs import arm, fail_now
from ledgerflow.ledger import values
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.rows import DecisionRow, StepRow

S = StepStatus
_DECISION = maker(DecisionRow)  # made at every dispatch, without the frozen ``__init__``
_DISPATCH = maker(Dispatch)
DEFER_SECONDS = 1.0  # wait when no breaker says when a probe may go


@dataclass(frozen=True, kw_only=True, slots=True)
class Choice:
    """A routing decision: the chosen agent, every candidate's score, and why."""

    agent: str | None  # None: every agent's breaker refuses calls until ``retry_at``
    candidates: Sequence[dict[str, Any]]
    reason: str
    retry_at: float | None = None  # epoch seconds
    handoff: bool = False  # only other workers offer the capability: it waits for one
    queued: bool = False  # no handler slot is free in this worker: wait in its admission queue
    # ``candidates`` as the decision row stores them (compact JSON), when already rendered
    candidates_json: str | None = None


def candidates_json(candidates: Sequence[dict[str, Any]]) -> str:
    """The candidates of a decision as its row stores them."""
    return json.dumps(list(candidates), separators=(",", ":"))


class Chooser(Protocol):
    """Routes a capability to an agent; ``avoid`` (the agent whose attempt just failed) is
    passed over when another agent can take the step."""

    def __call__(self, capability: str, avoid: str | None = None) -> Choice | None: ...


def dispatch(tr: Transition, step: Step, choose: Chooser, *, attempt: int, event: str) -> None:
    """Start attempt ``attempt`` of a step on the agent ``choose`` picks, under a new epoch;
    its timeout and heartbeat deadlines are armed. The step fails when its input cannot be
    evaluated; it waits while breakers refuse every agent (``_defer``), and for another
    worker while this one offers no agent of its capability (``wait_for_agent``)."""
    if step.agent is None:
        fail_now(tr, step.id, "a task step needs an agent")
        return
    run = signals.is_run(step.id)
    data: Any = {}  # a step without input gets an empty object, as stored already
    if run or step.input:
        try:
            data = signals.signal_data(tr.signals, step.id) if run \
                else step.input.evaluate(tr.expression_context()) if step.input else {}
        except errors.ExpressionError as exc:
            fail_now(tr, step.id, f"input: {exc}")
            return
        try:
            data = values.settle(data, "input")[0]  # what a reloaded execution would see
        except errors.UnstorableValue as exc:
            fail_now(tr, step.id, f"the step input cannot be stored: {exc.reason}")
            return
    row = tr.step(step.id)
    choice = choose(step.agent, avoid=row.agent if row.error is not None else None)
    if choice is not None and choice.queued:
        _wait_for_slot(tr, step)
        return
    if choice is None or choice.handoff:
        wait_for_agent(tr, step.id, step.agent)
        return
    if choice.agent is None:
        _defer(tr, step, choice)
        return
    epoch = row.epoch + 1
    payload = {"agent": choice.agent, "epoch": epoch, "input": data}
    deadline = tr.now + timedelta(seconds=step.timeout) if step.timeout is not None else None
    # the attempt's deadline is stored, so a timeout survives a restart (arm_timers)
    tr.set_step(step.id, S.RUNNING, event, payload, attempt=attempt, epoch=epoch,
                agent=choice.agent, started_at=tr.now_text, finished_at=None, waiting_for=None,
                ready_at=format_timestamp(deadline) if deadline is not None else None)
    tr.decisions.append(_DECISION(
        execution_id=tr.execution_id, step_id=step.id, epoch=epoch, attempt=attempt,
        capability=step.agent, agent=choice.agent,
        candidates=choice.candidates_json or candidates_json(choice.candidates),
        reason=choice.reason, decided_at=tr.now_text,
    ))
    execution = tr.view.row
    tr.dispatches.append(_DISPATCH(
        execution_id=execution.id, tenant_id=execution.tenant_id, workflow=execution.workflow,
        step_id=step.id,
        capability=step.agent, agent=choice.agent, attempt=attempt, epoch=epoch, input=data,
        state_text=tr.current_state_text(), timeout=step.timeout,
        ready_since=_ready_since(tr, step, row),
    ))
    if deadline is not None:
        arm(tr, TimerKind.TIMEOUT, step.id, epoch, deadline)
    if step.heartbeat_timeout is not None:
        arm(tr, TimerKind.HEARTBEAT, step.id, epoch,
            tr.now + timedelta(seconds=step.heartbeat_timeout))


def _ready_since(tr: Transition, step: Step, row: StepRow) -> str | None:
    """When the attempt could have started: a retry when it fell due, a first attempt
    when the last of its needs finished (or when the execution started)."""
    if row.attempt > 0:  # an attempt ran before: this one waited for its backoff
        return row.ready_at or row.finished_at
    done = [f for f in (tr.step(n).finished_at for n in step.needs) if f is not None]
    return max(done) if done else tr.started_at


def _wait_for_slot(tr: Transition, step: Step) -> None:
    """No handler slot is free: the step stays pending (ready), and is routed once the
    worker admits it. A running step being recovered goes back to pending under a new
    epoch, so ``running`` always means handed to a handler."""
    row = tr.step(step.id)
    if row.status == S.RUNNING:
        tr.set_step(step.id, S.PENDING, "step.requeued",
                    {"epoch": row.epoch + 1, "reason": "waiting for a free handler slot"},
                    attempt=max(row.attempt - 1, 0), epoch=row.epoch + 1, ready_at=None)


def _defer(tr: Transition, step: Step, choice: Choice) -> None:
    """No agent may take the step now (open breakers): it waits, never lost."""
    due = datetime.fromtimestamp(choice.retry_at, UTC) if choice.retry_at is not None \
        else tr.now + timedelta(seconds=DEFER_SECONDS)
    due = max(due, tr.now + timedelta(milliseconds=10))
    row = tr.step(step.id)
    due_text = format_timestamp(due)
    if row.status == S.PENDING:
        tr.record("step.deferred", from_state=S.PENDING, to_state=S.PENDING, step_id=step.id,
                  payload={"reason": choice.reason, "retry_at": due_text})
        tr.changed_steps[step.id] = evolve(row, ready_at=due_text)
    else:  # a running step being recovered goes back to the queue
        tr.set_step(step.id, S.PENDING, "step.deferred",
                    {"reason": choice.reason, "retry_at": due_text}, ready_at=due_text)
    arm(tr, TimerKind.RETRY, step.id, tr.step(step.id).epoch, due)


def wait_for_agent(tr: Transition, step_id: str, capability: str) -> None:
    """This worker offers no agent of ``capability``: the step waits for a worker that
    does, and the execution is handed over to one (``tr.handoff``). The wait is recorded
    once (``step.waiting_for_agent``), however often the step is routed again meanwhile;
    no timer is armed: only a worker offering the capability moves it on."""
    tr.handoff = capability
    row = tr.step(step_id)
    if row.status == S.PENDING and row.waiting_for == capability:
        return
    payload = {"capability": capability}
    if row.status == S.PENDING:
        tr.record("step.waiting_for_agent", from_state=S.PENDING, to_state=S.PENDING,
                  step_id=step_id, payload=payload)
        tr.changed_steps[step_id] = evolve(row, ready_at=None, waiting_for=capability)
    else:  # a running step being recovered goes back to the queue
        tr.set_step(step_id, S.PENDING, "step.waiting_for_agent", payload, ready_at=None,
                    waiting_for=capability)
