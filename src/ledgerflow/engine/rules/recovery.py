"""Picking an execution up again: after a worker starts (``recover``), or after it was
changed elsewhere (``refresh``: a control, a signal). Pure rules over a ``Transition``.

Deadlines (retry backoffs, sleeps, wait and attempt timeouts) live in the step rows'
``ready_at``; ``arm_timers`` turns them back into timers, so they survive restarts.
"""

from __future__ import annotations

from datetime import datetime

from ledgerflow.definition.model import Step
from ledgerflow.engine.model.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.engine.model.timers import TimerKind
from ledgerflow.engine.model.transition import Transition
from ledgerflow.engine.rules import delivery, kinds
from ledgerflow.engine.rules.dispatching import Chooser, dispatch
from ledgerflow.engine.rules.flow import advance, expire_if_due, fail_attempt
from ledgerflow.engine.rules.step_runs import LIVE, arm, step_spec

E = ExecutionStatus
S = StepStatus


def recover(tr: Transition, choose: Chooser, limit: int) -> None:
    """Resume an execution found unfinished when a worker starts.

    Running steps whose kind holds a handler (tasks) are dispatched again under a new epoch
    (at-least-once), or put back in the queue of a paused execution; ``at_most_once`` steps
    become interrupted instead. Each such recovery is counted; past ``limit`` the execution
    fails instead of looping forever. Timers (backoffs, sleeps, wait deadlines) are armed
    again.
    """
    if expire_if_due(tr):
        return
    running = [sid for sid in tr.step_ids() if tr.step_status(sid) is S.RUNNING
               and _holds_handler(step_spec(tr, sid))]
    if running:
        tr.recoveries += 1
        if tr.recoveries > limit:
            reason = (
                f"recovered {tr.recoveries} times (limit {limit}): a process keeps dying "
                f"while running step(s) {', '.join(running)}"
            )
            for sid in running:
                tr.set_step(sid, S.FAILED, "step.failed", {"error": reason},
                            error=reason, finished_at=tr.now_text)
            tr.error = reason
            tr.set_status(E.FAILED, "execution.failed", {"error": reason})
            return
        if tr.status is E.PAUSED:
            tr.record("execution.recovered", from_state=tr.status, to_state=tr.status,
                      payload={"recoveries": tr.recoveries, "steps": running})
        else:
            tr.set_status(E.RUNNING, "execution.recovered",
                          {"recoveries": tr.recoveries, "steps": running})
        for sid in running:
            recover_step(tr, step_spec(tr, sid), choose)
    refresh(tr, choose)


def reattach(tr: Transition, choose: Chooser, running_here: set[tuple[str, int]]) -> None:
    """After a commit whose outcome is unknown (the connection dropped during it): steps
    holding a handler that the database shows running but this worker is not running
    (that commit started them and landed) run again under a new epoch. Not a recovery:
    nothing died."""
    for sid in tr.step_ids():
        row = tr.step(sid)
        spec = step_spec(tr, sid)
        if tr.step_status(sid) is S.RUNNING and _holds_handler(spec) and \
                (sid, row.epoch) not in running_here and tr.status is not E.PAUSED:
            dispatch(tr, spec, choose, attempt=row.attempt, event="step.recovered")
    refresh(tr, choose)


def refresh(tr: Transition, choose: Chooser) -> None:
    """Arm the timers of the execution's stored deadlines, hand received signals to their
    waits and handlers, and dispatch whatever is runnable. Idempotent."""
    if expire_if_due(tr):
        return
    arm_timers(tr)
    if tr.status is E.PENDING:
        tr.set_status(E.RUNNING, "execution.started")
    if tr.status in LIVE:
        delivery.match_signals(tr, choose)
    advance(tr, choose)


def arm_timers(tr: Transition) -> None:
    """A timer for every stored deadline: retry backoffs, sleeps, wait and step timeouts."""
    for sid in tr.step_ids():
        row = tr.step(sid)
        if row.ready_at is None:
            continue
        if row.status == S.PENDING:
            kind = TimerKind.RETRY
        elif row.status == S.RUNNING:
            kind = kinds.of(step_spec(tr, sid).type).deadline
        else:
            continue
        arm(tr, kind, sid, row.epoch, datetime.fromisoformat(row.ready_at.replace("Z", "+00:00")))


def recover_step(tr: Transition, step: Step, choose: Chooser) -> None:
    row = tr.step(step.id)
    if step.at_most_once:
        error = "interrupted: the process died while this at_most_once step was running"
        tr.set_step(step.id, S.INTERRUPTED, "step.interrupted", {"error": error},
                    error=error, finished_at=tr.now_text)
        return
    if row.ready_at is not None and row.ready_at <= tr.now_text:  # overdue while down
        fail_attempt(tr, step.id, row.epoch, f"timed out after {step.timeout}s (its worker "
                     "stopped during the attempt and the deadline passed)", choose)
        return
    if tr.status is E.PAUSED:  # back in the queue; it runs when the execution resumes
        tr.set_step(step.id, S.PENDING, "step.requeued", {"epoch": row.epoch + 1},
                    attempt=max(row.attempt - 1, 0), epoch=row.epoch + 1, ready_at=None)
        return
    dispatch(tr, step, choose, attempt=row.attempt, event="step.recovered")


def _holds_handler(step: Step) -> bool:
    """A running step whose work is a handler call: lost if its process died."""
    return kinds.of(step.type).holds_handler
