"""``StepKind``: what the engine needs to know about one step type, and what it does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ledgerflow.definition.model import Step
from ledgerflow.engine.model.timers import TimerKind
from ledgerflow.engine.model.transition import Transition
from ledgerflow.engine.rules.dispatching import Chooser


class Begin(Protocol):
    def __call__(self, tr: Transition, step: Step, choose: Chooser, /) -> None:
        """Start a runnable step's next attempt (its ``when`` already held). It may end
        the step at once (completed, failed); it never moves the graph on: the caller
        advances after it."""
        ...


class DeadlinePassed(Protocol):
    def __call__(self, tr: Transition, step: Step, epoch: int, /) -> bool:
        """The stored deadline of attempt ``epoch`` passed while the step ran: record what
        that means (an attempt failed, a sleep ended). False when nothing was recorded
        (that attempt is no longer the current one)."""
        ...


class Consumes(Protocol):
    def __call__(self, step: Step, /) -> str | None:
        """The name of the signal a running step of this kind takes (and completes with),
        or None."""
        ...


def no_signal(step: Step, /) -> None:
    """A kind that takes no signal."""
    return None


@dataclass(frozen=True, kw_only=True, slots=True)
class StepKind:
    """One step type's behaviour, declared in one module per kind (``rules.kinds``).

    needs_agent: its definition names a capability (``agent``) and an attempt is routed
        to an agent's handler.
    holds_handler: while it runs, its work is a handler call in some worker's pool, lost
        if that process dies; so a worker that starts (``recovery.recover``) or reattaches
        runs it again, and its deadline is an attempt timeout.
    waiting: while only steps of waiting kinds run, the execution is ``waiting`` (idle
        until a signal or a time), not ``running``.
    deadline: the timer a running step's stored deadline (``ready_at``) arms again after a
        restart (``recovery.arm_timers``); ``begin`` arms the same kind.
    """

    needs_agent: bool
    holds_handler: bool
    waiting: bool
    deadline: TimerKind
    begin: Begin
    deadline_passed: DeadlinePassed
    consumes: Consumes = no_signal
