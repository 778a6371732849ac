"""Ending an execution that the engine cannot move on: applying a rule to it raised (a bug,
a value nothing caught before), or its change could not be written. It fails with the
reason, so one bad execution never holds up the others, and ``retry`` can run it again."""

from __future__ import annotations

from ledgerflow.engine.model.lifecycle import ExecutionStatus as E
from ledgerflow.engine.model.lifecycle import StepStatus as S
from ledgerflow.engine.model.transition import Transition
from ledgerflow.engine.rules.actions import end


def fail_execution(tr: Transition, reason: str, step_id: str | None = None) -> None:
    """The execution ends failed with ``reason`` (its step ``step_id``, if it was pending or
    running, fails with it; its other unfinished steps are cancelled). A paused execution
    cannot fail: the lifecycle refuses (``InvalidTransition``)."""
    if step_id is not None and step_id in tr.view.steps and \
            tr.step_status(step_id) in (S.PENDING, S.RUNNING) and tr.status is not E.PAUSED:
        tr.set_step(step_id, S.FAILED, "step.failed", {"error": reason}, error=reason,
                    ready_at=None, finished_at=tr.now_text)
    tr.error = reason
    end(tr, E.FAILED, "execution.failed", {"error": reason})
