"""Execution and step lifecycles: the statuses and the transitions allowed between them,
and the operator actions each execution status allows.

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

# the telemetry message of an execution a worker set aside (it could neither move it on nor
# fail it): the worker records it, ``status`` shows it
QUARANTINED = "execution.quarantined"

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


class OperatorAction(StrEnum):
    """What an operator may ask of an execution; ``errors.InvalidTransition`` lists them by
    these names in ``allowed_actions``."""

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    SIGNAL = "signal"
    EDIT_STATE = "edit_state"
    RETRY = "retry"
    RERUN = "rerun"
    FORK = "fork"

    @property
    def verb(self) -> str:
        """The action in ``cannot <verb> execution X``."""
        return "edit the state of" if self is OperatorAction.EDIT_STATE else self.value

    @property
    def words(self) -> str:
        """The action as a message suggests it (``rerun from a step``)."""
        return _ACTION_WORDS.get(self, self.value)


A = OperatorAction
_ACTION_WORDS = {A.EDIT_STATE: "edit the state", A.RERUN: "rerun from a step"}

# what an operator may do in each status, in the order messages suggest it
OPERATOR_ACTIONS: dict[ExecutionStatus, tuple[OperatorAction, ...]] = {
    E.PENDING: (A.PAUSE, A.CANCEL, A.SIGNAL),
    E.RUNNING: (A.PAUSE, A.CANCEL, A.SIGNAL),
    E.WAITING: (A.PAUSE, A.CANCEL, A.SIGNAL),
    E.PAUSED: (A.RESUME, A.EDIT_STATE, A.CANCEL, A.SIGNAL),
    E.COMPLETED: (A.RERUN, A.FORK),
    E.FAILED: (A.RETRY, A.RERUN, A.FORK),
    E.CANCELLED: (A.FORK,),
    E.EXPIRED: (A.FORK,),
}


# the ledger entries an operator's command records
OPERATOR_EVENTS = frozenset({
    "execution.paused", "execution.resumed", "execution.cancelled", "execution.retried",
    "execution.rerun", "state.edited",
})


def allowed_words(status: ExecutionStatus) -> str:
    """``allowed when <status>: ...`` of a refusal, in words."""
    return f"allowed when {status}: " + ", ".join(a.words for a in OPERATOR_ACTIONS[status])


def check_execution(execution_id: str, old: ExecutionStatus, new: ExecutionStatus) -> None:
    if new not in EXECUTION_TRANSITIONS[old]:
        raise errors.InvalidTransition(
            f"execution {execution_id} cannot go from {old} to {new}",
            execution_id=execution_id, current_status=old, target_status=new,
            allowed_actions=OPERATOR_ACTIONS[old],
        )


def check_step(execution_id: str, step_id: str, old: StepStatus, new: StepStatus) -> None:
    if new not in STEP_TRANSITIONS[old]:
        raise errors.InvalidTransition(
            f"step {step_id!r} of execution {execution_id} cannot go from {old} to {new}",
            execution_id=execution_id, step_id=step_id, current_status=old,
            target_status=new,
        )
