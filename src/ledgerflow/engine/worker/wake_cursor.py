"""Reading wake-ups in id order when ids may commit out of order.

With many writers (PostgreSQL) a wake-up with a smaller id can become visible after one
with a larger id: "everything after the largest id seen" would miss it for good. The
cursor only moves past ids it has seen; an id still missing after ``gap_seconds`` (a
rolled-back insert leaves a hole forever) is given up on, so the cursor cannot stall.
Pure: the caller reads rows after ``position`` and hands them to ``see``.
"""

from __future__ import annotations

from collections.abc import Iterable


class WakeCursor:
    def __init__(self, position: int = 0, gap_seconds: float = 30.0) -> None:
        self.position = position  # every id at or below it was seen or given up on
        self._gap_seconds = gap_seconds
        self._seen: set[int] = set()  # ids above position already seen
        self._gap_since: float | None = None  # when position + 1 was first missing

    def see(self, rows: Iterable[tuple[int, str]], now: float) -> list[str]:
        """Execution ids of the rows not seen before (in id order, once each)."""
        new: list[str] = []
        for wake_id, execution_id in rows:
            if wake_id > self.position and wake_id not in self._seen:
                self._seen.add(wake_id)
                new.append(execution_id)
        self._advance(now)
        return list(dict.fromkeys(new))

    def _advance(self, now: float) -> None:
        while self._seen:
            if self.position + 1 in self._seen:
                self.position += 1
                self._seen.discard(self.position)
                self._gap_since = None
                continue
            if self._gap_since is None:
                self._gap_since = now
            if now - self._gap_since < self._gap_seconds:
                return
            self.position = min(self._seen) - 1  # give up on the hole
            self._gap_since = None
