"""The worker's timers: retry backoffs, sleeps, wait deadlines, attempt timeouts and
heartbeat deadlines, in one heap by due time."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable

from ledgerflow.engine.model.timers import Timer, TimerKind

# only matter while an attempt runs
ATTEMPT_TIMERS = frozenset({TimerKind.TIMEOUT, TimerKind.HEARTBEAT})


class TimerHeap:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()

    def arm(self, timers: Iterable[Timer]) -> None:
        for timer in timers:
            heapq.heappush(self._heap, (timer.due.timestamp(), next(self._seq), timer))

    def wait(self, now: float, longest: float) -> float:
        """Seconds until the next timer is due, at most ``longest``."""
        if not self._heap:
            return longest
        return min(longest, max(self._heap[0][0] - now, 0.0))

    def due(self, now: float) -> list[Timer]:
        fired: list[Timer] = []
        while self._heap and self._heap[0][0] <= now:
            fired.append(heapq.heappop(self._heap)[2])
        return fired

    def any_moving(self) -> bool:
        """A timer that moves an execution on (not only an attempt's deadline)."""
        return any(t.kind not in ATTEMPT_TIMERS for _, _, t in self._heap)
