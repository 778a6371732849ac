"""Operator actions on an execution, as pure rules over a ``Transition``.

They run in whatever process the operator uses (CLI, API), never dispatch a step
themselves, and mark the change ``wake`` so a worker looks again and does the graph work.
Each raises ``errors.InvalidTransition`` naming the execution's status and what is allowed
in it, and records one ledger entry with the actor and reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ledgerflow import errors
from ledgerflow.engine.model.graph import graph_of
from ledgerflow.engine.model.lifecycle import (
    OPERATOR_ACTIONS,
    ExecutionStatus,
    OperatorAction,
    StepStatus,
    allowed_words,
)
from ledgerflow.engine.model.transition import Transition, value_sha256
from ledgerflow.ledger import values

E = ExecutionStatus
S = StepStatus
A = OperatorAction


def refuse(tr: Transition, action: OperatorAction,
           advice: str | None = None) -> errors.InvalidTransition:
    """``action`` is not allowed in the execution's status: say so, and what is (``advice``
    instead of the list of allowed actions)."""
    return errors.InvalidTransition(
        f"cannot {action.verb} execution {tr.execution_id}: it is {tr.status}; "
        f"{advice or allowed_words(tr.status)}",
        execution_id=tr.execution_id, current_status=tr.status, action=action,
        allowed_actions=OPERATOR_ACTIONS[tr.status],
    )


def pause(tr: Transition, reason: str | None) -> None:
    if tr.status not in (E.PENDING, E.RUNNING, E.WAITING):
        raise refuse(tr, A.PAUSE)
    pending = [sid for sid in tr.step_ids() if tr.step_status(sid) is S.PENDING]
    running = [sid for sid in tr.step_ids() if tr.step_status(sid) is S.RUNNING]
    tr.set_status(E.PAUSED, "execution.paused",
                  {"reason": reason, "pending": pending, "running": running})
    tr.wake = "paused"


def resume(tr: Transition, reason: str | None, from_step: str | None = None) -> None:
    if tr.status is not E.PAUSED:
        raise refuse(tr, A.RESUME)
    reset = downstream(tr, from_step) if from_step is not None else []
    tr.set_status(E.RUNNING, "execution.resumed",
                  {"reason": reason, "from": from_step, "reset": reset})
    reset_steps(tr, reset, f"resume from {from_step}")
    tr.wake = "resumed"


def cancel(tr: Transition, reason: str | None) -> bool:
    """False when it was cancelled already (cancelling twice is harmless)."""
    if tr.status is E.CANCELLED:
        return False
    if tr.status.terminal:
        raise refuse(tr, A.CANCEL)
    end(tr, E.CANCELLED, "execution.cancelled", {"reason": reason})
    tr.wake = "cancelled"
    return True


def expire(tr: Transition, expires_at: str) -> None:
    """A session past its deadline ends ``expired``."""
    if tr.status.terminal:
        return
    end(tr, E.EXPIRED, "execution.expired", {"expires_at": expires_at})


def end(tr: Transition, status: ExecutionStatus, event: str, payload: Any) -> None:
    """Cancel every pending and running step, then end the execution with ``status``."""
    for sid in tr.step_ids():
        if tr.step_status(sid) in (S.PENDING, S.RUNNING):
            tr.set_step(sid, S.CANCELLED, "step.cancelled", {"because": str(status)},
                        ready_at=None, finished_at=tr.now_text)
    tr.set_status(status, event, payload)


def retry(tr: Transition, reason: str | None) -> list[str]:
    """A failed execution runs its failed steps again; completed outputs are kept."""
    if tr.status is not E.FAILED:
        raise refuse(tr, A.RETRY)
    failed = [sid for sid in tr.step_ids()
              if tr.step_status(sid) in (S.FAILED, S.INTERRUPTED)]
    _restart(tr, "execution.retried", {"reason": reason, "steps": failed})
    reset_steps(tr, failed, "retry")
    return failed


def rerun(tr: Transition, from_step: str, reason: str | None) -> list[str]:
    """A finished execution runs ``from_step`` and everything downstream of it again."""
    if tr.status not in (E.COMPLETED, E.FAILED):
        raise refuse(tr, A.RERUN)
    reset = downstream(tr, from_step)
    _restart(tr, "execution.rerun", {"reason": reason, "from": from_step, "reset": reset})
    reset_steps(tr, reset, f"rerun from {from_step}")
    return reset


def edit_state(tr: Transition, new_state: Any, how: dict[str, Any], reason: str | None) -> None:
    """Replace the state document of a paused execution (a new state version)."""
    if tr.status is not E.PAUSED:
        advice = "pause it first" if A.PAUSE in OPERATOR_ACTIONS[tr.status] else None
        raise refuse(tr, A.EDIT_STATE, advice)
    values.check(new_state, "state", "the edited state")
    new_state, new_text = values.settle(new_state, "state")
    before = value_sha256(tr.state)
    after = value_sha256(new_state)
    index = tr.record("state.edited", from_state=tr.status, to_state=tr.status, payload={
        **how, "reason": reason, "before_sha256": before, "after_sha256": after,
        "state_version": tr.view.row.state_version + 1,
    })
    tr.set_state(new_state, new_text, after, index)
    tr.wake = "state edited"


def signal(tr: Transition, name: str, data: Any) -> None:
    """Store a signal for the execution's waits and handlers (a worker delivers it)."""
    if tr.status.terminal:
        raise refuse(tr, A.SIGNAL, "signals go to pending, running, waiting or paused "
                     "executions")
    tr.receive_signal(name, data, {"name": name, "data": data})
    tr.wake = f"signal {name}"


def downstream(tr: Transition, step_id: str) -> list[str]:
    """``step_id`` and every step that depends on it, directly or not, in graph order."""
    graph = graph_of(tr.view.definition)
    if step_id not in graph.steps:
        known = ", ".join(graph.order)
        raise errors.NotFound(
            f"workflow {tr.view.definition.name!r} has no step {step_id!r} (steps: {known})",
            kind="step", id=step_id, execution_id=tr.execution_id,
        )
    found = {step_id}
    work = [step_id]
    while work:
        for dep in graph.dependents[work.pop()]:
            if dep not in found:
                found.add(dep)
                work.append(dep)
    return [sid for sid in graph.order if sid in found]


def reset_steps(tr: Transition, step_ids: Iterable[str], reason: str) -> None:
    """Put steps back to pending. Epochs are kept, so a late result of an old attempt is
    still rejected."""
    for sid in step_ids:
        if tr.step_status(sid) in (S.PENDING, S.CANCELLED):
            continue
        tr.set_step(sid, S.PENDING, "step.reset", {"reason": reason}, attempt=0, agent=None,
                    output=None, error=None, ready_at=None, started_at=None, finished_at=None)
        tr.outputs.pop(sid, None)


def _restart(tr: Transition, event: str, payload: Any) -> None:
    tr.error = None
    tr.result = None
    tr.finished_at = None
    tr.recoveries = 0
    tr.set_status(E.RUNNING, event, payload)
    tr.wake = event
