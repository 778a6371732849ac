"""Execution and step lifecycles: the statuses and the transitions allowed between them.

The database CHECK constraints list the same values. ``check_*`` raise
``errors.InvalidTransition`` naming both states.
"""

from __future__ import annotations

from enum import StrEnum

from ledgerflow import errors


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    PAUSED = "paused"
    WAITING = "waiting"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL_EXECUTION

    @property
    def active(self) -> bool:
        return not self.terminal


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def settled_ok(self) -> bool:
        """Dependents may run after this status."""
        return self in SETTLED_OK

    @property
    def terminal(self) -> bool:
        return self not in (StepStatus.PENDING, StepStatus.RUNNING)


# StrEnum members hash like their values, so a raw status string tests against these too
SETTLED_OK = frozenset({StepStatus.COMPLETED, StepStatus.SKIPPED})  # dependents may run
STEP_FAILURES = frozenset({StepStatus.FAILED, StepStatus.INTERRUPTED})  # execution fails

_TERMINAL_EXECUTION = frozenset(
    {
        ExecutionStatus.COMPLETED,
        ExecutionStatus.FAILED,
        ExecutionStatus.CANCELLED,
        ExecutionStatus.EXPIRED,
    }
)

E = ExecutionStatus
S = StepStatus

EXECUTION_TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    E.PENDING: frozenset({E.RUNNING, E.FAILED, E.CANCELLED, E.PAUSED, E.EXPIRED}),
    E.RUNNING: frozenset(
        {E.RUNNING, E.COMPLETED, E.FAILED, E.PAUSED, E.WAITING, E.CANCELLED, E.EXPIRED}
    ),
    E.WAITING: frozenset(
        {E.RUNNING, E.COMPLETED, E.PAUSED, E.CANCELLED, E.EXPIRED, E.FAILED}
    ),
    E.PAUSED: frozenset({E.RUNNING, E.CANCELLED, E.EXPIRED}),
    E.COMPLETED: frozenset({E.RUNNING}),  # explicit rerun
    E.FAILED: frozenset({E.RUNNING}),  # explicit retry
    E.CANCELLED: frozenset(),
    E.EXPIRED: frozenset(),
}

STEP_TRANSITIONS: dict[StepStatus, frozenset[StepStatus]] = {
    S.PENDING: frozenset({S.RUNNING, S.SKIPPED, S.CANCELLED, S.FAILED}),
    S.RUNNING: frozenset(
        {S.RUNNING, S.COMPLETED, S.FAILED, S.PENDING, S.INTERRUPTED, S.CANCELLED}
    ),
    S.COMPLETED: frozenset({S.PENDING}),  # explicit rerun
    S.FAILED: frozenset({S.PENDING}),  # explicit retry
    S.SKIPPED: frozenset({S.PENDING}),
    S.CANCELLED: frozenset(),
    S.INTERRUPTED: frozenset({S.PENDING}),
}


def check_execution(execution_id: str, old: ExecutionStatus, new: ExecutionStatus) -> None:
    if new not in EXECUTION_TRANSITIONS[old]:
        raise errors.InvalidTransition(
            f"execution {execution_id} cannot go from {old} to {new}"
        )


def check_step(execution_id: str, step_id: str, old: StepStatus, new: StepStatus) -> None:
    if new not in STEP_TRANSITIONS[old]:
        raise errors.InvalidTransition(
            f"step {step_id!r} of execution {execution_id} cannot go from {old} to {new}"
        )
