"""``task`` steps: the work of a capability, routed to an agent whose handler runs it in
some worker's pool; its ``timeout`` fails the attempt, and the retry policy applies."""

from __future__ import annotations

from ledgerflow.definition.model import Step
from ledgerflow.engine.model.timers import TimerKind
from ledgerflow.engine.model.transition import Transition
from ledgerflow.engine.rules import step_runs
from ledgerflow.engine.rules.dispatching import Chooser, dispatch
from ledgerflow.engine.rules.kinds.base import StepKind


def begin(tr: Transition, step: Step, choose: Chooser, /) -> None:
    dispatch(tr, step, choose, attempt=tr.step(step.id).attempt + 1, event="step.started")


def timed_out(tr: Transition, step: Step, epoch: int, /) -> bool:
    return step_runs.record_failure(tr, step.id, epoch, f"timed out after {step.timeout}s")


KIND = StepKind(needs_agent=True, holds_handler=True, waiting=False,
                deadline=TimerKind.TIMEOUT, begin=begin, deadline_passed=timed_out)
