"""How many step runs of an execution are in each status, and which are running: what the
graph rules ask after every outcome (is anything running, has a step failed, is every step
done), answered without looking at every step.

A view carries the tally of its steps (counted once when it is loaded); a ``Transition``
keeps a copy up to date as its steps change status, and the view it builds carries the
result, so an outcome costs the same at step 5,000 of a chain as at step 5.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ledgerflow.engine.model.lifecycle import SETTLED_OK, STEP_FAILURES, StepStatus
from ledgerflow.storage.rows import StepRow

_RUNNING: str = StepStatus.RUNNING


@dataclass(frozen=True, slots=True)
class Tally:
    counts: Mapping[str, int]  # status -> step runs in it (statuses with none may be absent)
    running: frozenset[str]  # the ids of the running step runs

    @classmethod
    def of(cls, steps: Iterable[StepRow]) -> Tally:
        rows = list(steps)
        return cls(counts=dict(Counter(s.status for s in rows)),
                   running=frozenset(s.step_id for s in rows if s.status == _RUNNING))


class LiveTally:
    """A tally being changed by one transition (a copy: the view's stays as it was)."""

    __slots__ = ("counts", "running")

    def __init__(self, start: Tally) -> None:
        self.counts: dict[str, int] = dict(start.counts)
        self.running: set[str] = set(start.running)

    def moved(self, step_id: str, old: str | None, new: str) -> None:
        """A step run went from ``old`` to ``new`` (``old`` None: a new run)."""
        counts = self.counts
        if old is not None:
            counts[old] -= 1
            if old == _RUNNING:
                self.running.discard(step_id)
        counts[new] = counts.get(new, 0) + 1
        if new == _RUNNING:
            self.running.add(step_id)

    def frozen(self) -> Tally:
        return Tally(counts=dict(self.counts), running=frozenset(self.running))

    def total(self) -> int:
        return sum(self.counts.values())

    def failed(self) -> bool:
        """Some step run failed (a status in ``STEP_FAILURES``)."""
        return any(self.counts.get(s, 0) for s in STEP_FAILURES)

    def all_settled_ok(self) -> bool:
        """Every step run completed or was skipped."""
        return sum(self.counts.get(s, 0) for s in SETTLED_OK) == self.total()
