"""Helpers for testing code that uses ledgerflow (and ledgerflow's own tests).

* ``FakeClock``: time that moves only when told to.
* ``FaultyStore``: wraps a store and kills the process (SIGKILL, no clean-up) at a named
  point of the write path, to prove recovery: ``before_commit`` (results computed, nothing
  written), ``during_commit`` (rows written inside the open transaction, not committed),
  ``after_commit`` (committed, next steps not yet dispatched).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ledgerflow.storage.base import AgentWrites, Change, Store

KILL_POINTS = ("before_commit", "during_commit", "after_commit")


class FakeClock:
    """Time that moves only when told to: ``advance`` jumps ``now`` and ``monotonic``
    together. A worker running on it sleeps through no deadline: it subscribes through
    ``on_advance`` (see ``ledgerflow.clock.MovedByHand``) and looks at its timers, polls
    and sessions again after every jump. Thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 22, 7, 33, 0, tzinfo=UTC)
        self._mono = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (>= 0), then tell every listener."""
        if seconds < 0:
            raise ValueError(f"time does not go backwards: advance({seconds!r})")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._mono += seconds
            listeners = list(self._listeners)
        for listener in listeners:  # outside the lock: a listener may read the time
            listener()

    def on_advance(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after every ``advance``; returns the function that
        unsubscribes it (harmless to call twice)."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)
        return unsubscribe


def kill_self() -> None:
    """Die like a crash: SIGKILL, no finally blocks, no flushing."""
    os.kill(os.getpid(), signal.SIGKILL)


class FaultyStore:
    """A store that SIGKILLs its process at ``point`` on the ``after``-th commit."""

    def __init__(self, inner: Store, point: str, after: int) -> None:
        if point not in KILL_POINTS:
            raise ValueError(f"unknown kill point {point!r}; known: {', '.join(KILL_POINTS)}")
        self._inner = inner
        self._point = point
        self._after = after
        self._commits = 0
        if point == "during_commit":
            inner.before_commit_hook = self._during  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _due(self) -> bool:
        return self._commits >= self._after

    def _during(self) -> None:
        if self._due():
            kill_self()

    def commit(self, changes: Sequence[Change], *, together: bool = False,
               agents: AgentWrites | None = None) -> list[bool]:
        self._commits += 1
        if self._point == "before_commit" and self._due():
            kill_self()
        results = self._inner.commit(changes, together=together, agents=agents)
        if self._point == "after_commit" and self._due():
            kill_self()
        return results
