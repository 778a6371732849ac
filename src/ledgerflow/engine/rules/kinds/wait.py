"""``wait`` steps: run until a signal of their name arrives and complete with its data; a
signal that arrived earlier and was not taken is taken at once. An optional ``timeout``
fails the wait (and its retry policy applies). Delivery of later signals:
``rules.delivery``."""

from __future__ import annotations

from datetime import timedelta

from ledgerflow.definition.model import Step
from ledgerflow.engine.model.timers import TimerKind
from ledgerflow.engine.model.transition import Transition
from ledgerflow.engine.rules import step_runs
from ledgerflow.engine.rules.dispatching import Chooser
from ledgerflow.engine.rules.kinds.base import StepKind

DEADLINE = TimerKind.TIMEOUT


def begin(tr: Transition, step: Step, choose: Chooser, /) -> None:
    name = signal(step)
    deadline = tr.now + timedelta(seconds=step.timeout) if step.timeout is not None else None
    row = step_runs.begin_run(tr, step, "step.waiting", deadline, {"signal": name})
    if deadline is not None:
        step_runs.arm(tr, DEADLINE, step.id, row.epoch, deadline)
    waiting = step_runs.first_unconsumed(tr, name)
    if waiting is not None:
        step_runs.consume(tr, step.id, waiting)


def timed_out(tr: Transition, step: Step, epoch: int, /) -> bool:
    return step_runs.record_failure(
        tr, step.id, epoch, f"timed out after {step.timeout}s for signal {signal(step)!r}")


def signal(step: Step, /) -> str:
    return str(step.options["signal"])


KIND = StepKind(needs_agent=False, holds_handler=False, waiting=True, deadline=DEADLINE,
                begin=begin, deadline_passed=timed_out, consumes=signal)
