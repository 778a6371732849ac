"""Handler slots and the admission queue of one worker: pure bookkeeping of the writer thread.

A step is routed, recorded ``running`` and handed to a handler only when one of the worker's
``concurrency`` slots is free and, for a capability with a limit, one of its ``limits``
slots too. While none is, the rules leave it ``pending`` (ready) and its execution waits in
the admission queue, first come first served, remembering what it waits for: any slot, or a
slot of a capability at its limit. An execution waiting only for capabilities at their limit
is passed over (it keeps its place), so it never holds up the executions behind it whose
steps could run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from ledgerflow import errors
from ledgerflow.engine.rules.dispatching import Choice, Chooser

ANY = ""  # what a queued execution waits for when no slot at all was free
QUEUED = Choice(agent=None, candidates=(), reason="waiting for a free handler slot",
                queued=True)


def queue_all(capability: str, avoid: str | None = None) -> Choice:
    """A chooser that admits nothing: every runnable step waits for the writer's admission
    (used off the writer thread, where slots cannot be taken)."""
    return QUEUED


def checked_limits(limits: Mapping[str, Any] | None, offered: list[str]) -> dict[str, int]:
    """``limits`` ({capability: steps of it running at once at most}) once valid: each a
    whole number from 1, each for a capability this worker offers."""
    checked: dict[str, int] = {}
    for capability, limit in (limits or {}).items():
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise errors.ConfigurationError(
                f"limit of {capability!r} must be a whole number of 1 or more (steps of it "
                f"running at once), not {limit!r}")
        if capability not in offered:
            raise errors.ConfigurationError(
                f"limit of {capability!r}: no agent of this worker offers it (it offers "
                f"{', '.join(offered) or 'none'})")
        checked[capability] = limit
    return checked


class Slots:
    """The slots a worker's handlers hold, the ones reserved by the batch being built, and
    the executions waiting for one. Only the writer thread uses it."""

    def __init__(self, concurrency: int, limits: Mapping[str, int]) -> None:
        self.concurrency = concurrency
        self.limits = dict(limits)
        self.inflight = 0  # attempts holding a slot
        self.reserved = 0  # slots taken by dispatches of the batch being built
        self._running: Counter[str] = Counter()  # attempts holding a slot, by capability
        self._reserving: Counter[str] = Counter()  # reservations, by capability
        # executions with steps waiting for a slot, in order: what they wait for (ANY, or
        # capabilities at their limit); empty while being admitted
        self._queue: dict[str, set[str]] = {}
        self._current: str | None = None  # the execution whose rule is being applied

    @property
    def free(self) -> int:
        return self.concurrency - self.inflight - self.reserved

    def room(self, capability: str) -> bool:
        """A step of ``capability`` may take a slot as far as its limit goes."""
        limit = self.limits.get(capability)
        return limit is None or self._running[capability] + self._reserving[capability] < limit

    def gate(self, choose: Chooser) -> Chooser:
        """``choose`` behind the slots: a step is routed only while a slot is free, of its
        capability too (the slot is reserved for the batch); otherwise its execution joins
        the admission queue."""

        def admitted(capability: str, avoid: str | None = None) -> Choice | None:
            if self.free <= 0:
                return self._refuse(ANY)
            if not self.room(capability):
                return self._refuse(capability)
            choice = choose(capability, avoid)
            if choice is not None and choice.agent is not None:
                self.reserved += 1
                self._reserving[capability] += 1
            return choice

        return admitted

    def _refuse(self, waits_for: str) -> Choice:
        if self._current is not None:
            self._queue.setdefault(self._current, set()).add(waits_for)
        if waits_for == ANY:
            return QUEUED
        return Choice(agent=None, candidates=(), queued=True,
                      reason=f"waiting for a free slot of {waits_for} "
                             f"({self.limits[waits_for]} at a time)")

    def take(self, capability: str) -> None:
        """A committed dispatch's attempt starts: it holds a slot until ``give_back``."""
        self.inflight += 1
        self._running[capability] += 1

    def give_back(self, capability: str) -> None:
        self.inflight -= 1
        self._running[capability] -= 1

    def release_reservations(self) -> None:
        """The batch is over: its reservations became running attempts, or vanished."""
        self.reserved = 0
        self._reserving.clear()

    # the admission queue --------------------------------------------------------------
    def applying(self, execution_id: str | None) -> None:
        """Name the execution whose rule runs next (its refused steps queue it)."""
        self._current = execution_id

    def enqueue(self, execution_id: str) -> None:
        self._queue.setdefault(execution_id, set()).add(ANY)

    def _may_admit(self, waits_for: set[str]) -> bool:
        return not waits_for or ANY in waits_for or any(self.room(c) for c in waits_for)

    def next_admission(self, tried: set[str]) -> str | None:
        """While a slot is free: the execution queued longest that it may admit and that
        is not in ``tried`` (added to it). It keeps its place, waiting for nothing, until
        ``admitted``: refused again meanwhile, it stays where it was."""
        if self.free <= 0:
            return None
        for execution_id, waits_for in self._queue.items():
            if execution_id not in tried and self._may_admit(waits_for):
                tried.add(execution_id)
                waits_for.clear()
                return execution_id
        return None

    def admitted(self, execution_id: str) -> None:
        """Its admission is built: it leaves the queue unless a step of it was refused."""
        if not self._queue.get(execution_id, {ANY}):
            del self._queue[execution_id]

    @property
    def admissible(self) -> bool:
        """A free slot may admit a queued execution now."""
        return self.free > 0 and any(self._may_admit(w) for w in self._queue.values())

    def forget(self, execution_id: str) -> None:
        self._queue.pop(execution_id, None)

    @property
    def queued(self) -> int:
        return len(self._queue)
