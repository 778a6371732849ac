"""A worker's start and end: registering it and its agents, recovering what it claims at
start-up, stopping within a grace period, and handing everything back when it ends."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable

from ledgerflow import errors
from ledgerflow.clock import Clock
from ledgerflow.engine.agents.book import AgentBook, LockedBook
from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.engine.worker.dispatcher import Dispatcher
from ledgerflow.engine.worker.events import Event, WorkerOptions, WorkerReport
from ledgerflow.engine.worker.finder import WorkFinder
from ledgerflow.engine.worker.leases import Leases
from ledgerflow.engine.worker.telemetry import WorkerTelemetry
from ledgerflow.ledger.chain import Actor
from ledgerflow.storage.base import Store
from ledgerflow.storage.locks import WorkerLock

log = logging.getLogger("ledgerflow.worker")
RETRY_AFTER = 1.0  # seconds to wait after the database failed a write, before trying again
RETRY_MAX = 30.0  # the longest wait between tries of a batch the database keeps refusing


class Backoff:
    """The wait before a batch the database refused (gone, or its disk full) is tried
    again: ``RETRY_AFTER``, doubled for every refusal in a row up to ``RETRY_MAX``."""

    def __init__(self) -> None:
        self._delay = 0.0

    def next(self) -> float:
        self._delay = min(self._delay * 2, RETRY_MAX) if self._delay else RETRY_AFTER
        return self._delay

    def reset(self) -> None:
        """A batch got through: the next refusal waits ``RETRY_AFTER`` again."""
        self._delay = 0.0


class Lifecycle:
    """The start and end of ``Worker`` (a mixin: the attributes are the worker's)."""

    _store: Store
    _registry: AgentRegistry
    _clock: Clock
    _actor: Actor
    _options: WorkerOptions
    _queue: queue.SimpleQueue[Event | None]
    _stop: threading.Event
    _stop_by: float | None
    _ready: threading.Event
    _last_poll: float
    _lock: WorkerLock
    _leases: Leases
    _finder: WorkFinder
    _telemetry: WorkerTelemetry
    _book: AgentBook
    _locked: LockedBook
    _slots: Dispatcher
    report: WorkerReport

    def _process(self, events: Iterable[Event]) -> None:
        raise NotImplementedError

    def stop(self, *, now: bool = False) -> None:
        """Stop dispatching, let running handlers finish and commit for up to the grace
        period (``WorkerOptions.stop_grace``), then return from run. A second call, or
        ``now``, ends the grace period at once. Handlers still running then are left
        behind (their steps stay running and are recovered, at-least-once)."""
        grace = 0.0 if now or self._stop.is_set() else self._options.stop_grace
        by = self._clock.monotonic() + grace
        self._stop_by = by if self._stop_by is None else min(self._stop_by, by)
        self._stop.set()
        self._queue.put(None)

    def _stopped(self) -> bool:
        if not self._stop.is_set():
            return False
        if self._slots.inflight == 0:
            return True
        if self._stop_by is not None and self._clock.monotonic() >= self._stop_by:
            log.warning("stopping with %d handler(s) still running; their steps are "
                        "recovered by the next worker", self._slots.inflight)
            return True
        return False

    def _shutdown(self) -> None:
        """Write what is left, hand back every lease (another worker takes them at once)
        and say so in the registry."""
        self._finder.close()
        self.report.recovered = self._finder.recovered
        try:
            final = self._locked.take_writes()
            if final is not None:
                self._store.commit([], agents=final)
            self._book.unregister(self._store)
            self._leases.release_all()
            self._leases.set_status("stopped")
        except errors.StorageError as exc:
            log.error("could not hand back leases (%s); they lapse within %g s", exc,
                      self._options.leases.seconds)
        finally:
            self.report.telemetry = self._telemetry.close()

    def _startup(self) -> None:
        while not self._registered():  # the database went away meanwhile: wait for it
            if self._stop.wait(RETRY_AFTER):
                return  # stopped first: nothing was claimed, nothing to recover
        self._book.shared = not self._lock.exclusive
        claimed = self._finder.start(self._options.poll_interval)
        self._process(claimed)  # a lost connection here is retried like any other batch
        self._last_poll = self._clock.monotonic()
        self._ready.set()

    def _registered(self) -> bool:
        now = self._clock.now()
        try:
            self._book.load_from(self._store, now)
            self._book.register(self._store, self._actor.id, now)
            self._book.look_around(self._store, now)
            self._leases.register(self._registry.capabilities(), self._options.concurrency,
                                  self._options.limits)
        except errors.ConnectionLost as exc:
            log.warning("database unavailable while starting (%s); retrying", exc)
            return False
        return True

