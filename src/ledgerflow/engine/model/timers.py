"""Timers: when the engine must look at a step again, and why. Pure values.

A timer is never stored: every deadline lives in its step row's ``ready_at``, and
``rules.recovery.arm_timers`` makes the timers again after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
