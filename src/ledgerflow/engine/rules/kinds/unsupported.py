"""The kind of a step type that has none: one the model names but this engine does not
run (``workflow``). Validation refuses such types in new definitions; versions stored
before that still load, and their executions fail at the step, saying why."""

from __future__ import annotations

from ledgerflow.definition.model import Step
from ledgerflow.engine.model.timers import TimerKind
from ledgerflow.engine.model.transition import Transition
from ledgerflow.engine.rules import step_runs
from ledgerflow.engine.rules.dispatching import Chooser
from ledgerflow.engine.rules.kinds.base import StepKind


def refuse(tr: Transition, step: Step, choose: Chooser, /) -> None:
    step_runs.fail_now(tr, step.id,
                       f"step type {step.type!s} is not supported by this engine yet")


def nothing(tr: Transition, step: Step, epoch: int, /) -> bool:
    return False  # never running, so never past a deadline


KIND = StepKind(needs_agent=False, holds_handler=False, waiting=False,
                deadline=TimerKind.TIMEOUT, begin=refuse, deadline_passed=nothing)
