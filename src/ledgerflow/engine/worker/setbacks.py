"""When a batch does not land as built: the database failed it (a lost connection), an
execution changed under the worker (a control, a signal), or it is no longer the worker's
(taken over, or ended by an operator). A mixin of ``Worker``: the attributes are its."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from ledgerflow.clock import Clock
from ledgerflow.engine.agents.book import LockedBook
from ledgerflow.engine.model.outcome import Outcome
from ledgerflow.engine.model.transition import Transition
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.worker import reactions
from ledgerflow.engine.worker.dispatcher import Dispatcher
from ledgerflow.engine.worker.events import Activate, Event
from ledgerflow.engine.worker.leases import Leases
from ledgerflow.engine.worker.lifecycle import Backoff
from ledgerflow.engine.worker.loading import ViewLoader
from ledgerflow.ledger.chain import Actor
from ledgerflow.storage.base import Store

log = logging.getLogger("ledgerflow.worker")
Rule = Callable[[Transition], object]


class Setbacks:
    """A batch that did not land (a mixin of ``Worker``)."""

    _store: Store
    _clock: Clock
    _actor: Actor
    _queue: queue.SimpleQueue[Event | None]
    _views: dict[str, ExecutionView]
    _stop: threading.Event
    _loader: ViewLoader
    _leases: Leases
    _slots: Dispatcher
    _locked: LockedBook
    _admitted: list[str]
    _retry: Backoff

    def _retry_later(self, batch: list[tuple[Event, Rule]], exc: Exception) -> None:
        """The database failed the batch (a lost connection): whether its commit landed is
        unknown. Reload its executions and apply the events again; steps a landed commit
        started but nobody runs are started again (``reattach``), results already recorded
        are not recorded twice (their steps are no longer running under that epoch)."""
        log.warning("database unavailable (%s); retrying %d event(s) in %g s", exc,
                    len(batch), delay := self._retry.next())
        # executions admitted into this batch too: their steps were taken off the queue
        touched = dict.fromkeys([*(event.execution_id for event, _ in batch), *self._admitted])
        for execution_id in touched:
            self._views.pop(execution_id, None)
            self._queue.put(Activate(execution_id=execution_id, how="reattach"))
        for event, _ in batch:
            self._queue.put(event)
        self._stop.wait(delay)

    def _conflict(self, event: Event, old_view: ExecutionView) -> None:
        """The execution changed under us (a control, a signal, or another worker took it
        over): reload it and retry the event, unless it is no longer ours."""
        log.info("execution %s changed elsewhere; reloading", old_view.id)
        self._views.pop(old_view.id, None)
        fresh = self._loader.load(old_view.id)
        mine = fresh is not None and fresh.row.lease_owner == self._leases.owner and \
            fresh.row.lease_epoch == self._leases.held.get(old_view.id)
        if fresh is not None and not mine:
            self._lost(old_view.id, f"another worker ({fresh.row.lease_owner}) took it over")
            if isinstance(event, Outcome):
                reactions.record_stale(self._store, self._loader.load, self._clock.now(),
                                         self._actor, event)
            return
        self._slots.attempts.cancel_stale(old_view.id, fresh)
        if fresh is not None and not fresh.status.terminal:
            self._views[fresh.id] = fresh
            self._queue.put(event)

    def _lost(self, execution_id: str, why: str) -> None:
        """No longer ours (taken over, or ended by an operator): forget it; its running
        handlers see ``ctx.cancelled``."""
        self._leases.let_go(execution_id, why)
        self._views.pop(execution_id, None)
        self._slots.forget(execution_id)
        self._locked.forget(execution_id)
        self._slots.attempts.cancel_stale(execution_id, None)
