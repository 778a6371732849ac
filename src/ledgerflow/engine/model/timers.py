"""Timers: when the engine must look at a step again, and why. Pure values.

A timer is never stored: every deadline lives in its step row's ``ready_at``, and
``rules.recovery.arm_timers`` makes the timers again after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class TimerKind(StrEnum):
    """Why a timer wakes the engine. The values are the strings logs and reports show."""

    RETRY = "retry"  # a pending step's backoff (or deferral) is over: it may run now
    TIMEOUT = "timeout"  # a running attempt's deadline passed (a task's or a wait's)
    WAKE = "wake"  # a sleep is over
    HEARTBEAT = "heartbeat"  # look whether a running attempt still sends heartbeats


@dataclass(frozen=True, kw_only=True, slots=True)
class Timer:
    """Wake the engine at ``due`` about one attempt (``epoch``) of a step."""

    due: datetime
    execution_id: str
    step_id: str
    epoch: int
    kind: TimerKind


LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)  # any time zone stays valid


def due_after(now: datetime, seconds: float) -> datetime | None:
    """``now`` plus ``seconds``, or None when no timer can hold that (past year 9999, or
    not a number of seconds a date can take): the caller fails the step instead."""
    try:
        due = now + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None
    return due if due <= LATEST else None


def holds(moment: datetime) -> bool:
    """True when a timer can wait until ``moment`` (an aware datetime)."""
    try:
        return moment.astimezone(UTC) <= LATEST
    except (OverflowError, ValueError):
        return False
