"""Time, injected. ``SystemClock`` is the only place in ledgerflow that reads the wall clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


class Clock(Protocol):
    """Gives the current time. Policies take a Clock so tests can move time by hand."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going backwards (for durations)."""
        ...


@runtime_checkable
class MovedByHand(Protocol):
    """A clock that jumps when told to (``ledgerflow.testing.FakeClock``). Whoever blocks
    until a deadline of such a clock subscribes, so that a jump wakes it up at once instead
    of being noticed only when its real-time wait ends."""

    def on_advance(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` (no arguments, any thread) after every jump; returns the
        function that unsubscribes it."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()
