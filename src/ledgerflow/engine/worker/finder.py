"""Where a worker's work comes from, besides its own handlers: executions it claims,
changes made elsewhere to the ones it holds (wake-ups, by notification or by polling),
sessions past their deadline, and leases it lost. Runs on the writer thread, except
``notified``, which the listening thread calls (and a clock moved by hand, after a jump)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from ledgerflow import errors
from ledgerflow.clock import Clock, MovedByHand
from ledgerflow.engine.model.lifecycle import ExecutionStatus
from ledgerflow.engine.worker.events import Activate, Event, Expire, Refresh
from ledgerflow.engine.worker.leases import Leases
from ledgerflow.engine.worker.wake_cursor import WakeCursor
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import Closer, Store
from ledgerflow.storage.notices import WAKE, WORK

log = logging.getLogger("ledgerflow.worker")
WAKEUP_KEPT = timedelta(hours=1)  # wake-ups older than this are pruned
WAKEUP_PRUNE_EVERY = 600.0  # seconds between prunes while a worker runs


class WorkFinder:
    def __init__(self, store: Store, clock: Clock, leases: Leases,
                 put: Callable[[Event | None], None]) -> None:
        self._store = store
        self._clock = clock
        self._leases = leases
        self._put = put
        self._wakes = WakeCursor()
        self.poke = threading.Event()  # a notification: look for work now
        self._notifications: Closer | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._last_prune = 0.0
        self.recovered = 0  # running executions claimed (left running by a dead holder)
        self.taken_over = 0  # executions claimed whose holder's lease had expired
        # the last claim was full, or a look was skipped for want of room: more may be
        # waiting (an execution that ends here pokes for it)
        self.more = False

    def start(self, poll_interval: float) -> list[Event]:
        """Listen for notifications, then claim what is there (an embedded database's
        worker takes everything at once). A database lost meanwhile is waited out: the
        next looks claim."""
        self._notifications = self._store.listen(self.notified)  # reconnects by itself
        if isinstance(self._clock, MovedByHand):  # a jump may pass deadlines: look again
            self._unsubscribe = self._clock.on_advance(lambda: self.notified(None))
        if self._notifications is None:
            log.info("%s has no LISTEN/NOTIFY: looking for work every %g s",
                     self._store.url, poll_interval)
        try:
            self._wakes = WakeCursor(self._store.last_wakeup())  # before claiming
            self.prune()
            claimed = self.claim()
            while self._leases.steal and self.more:  # full claims: take the rest too
                claimed.extend(self.claim())
        except errors.ConnectionLost as exc:
            log.warning("database unavailable while starting (%s); carrying on", exc)
            return []
        return claimed

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._notifications is not None:
            self._notifications.close()

    def notified(self, payload: str | None) -> None:
        """From the listening thread: work to claim, or a held execution changed."""
        if payload is not None and payload.startswith(WAKE):
            self._put(Refresh(execution_id=payload[len(WAKE):]))
            return
        if payload is None or payload == WORK:
            self.poke.set()
            self._put(None)

    def claim(self, limit: int | None = None) -> list[Event]:
        """Claim executions nobody holds; those left running by a dead holder recover.
        A full claim asks to look again at once (while there is room, the caller decides)."""
        claims = self._leases.claim(limit)
        self.more = len(claims) >= (limit or self._leases.batch)
        if self.more:
            self.poke.set()
        running = sum(c.status == ExecutionStatus.RUNNING for c in claims)
        if running:
            log.info("recovering %d running execution(s)", running)
        self.recovered += running  # waiting and paused ones are only re-armed
        self.taken_over += sum(c.previous_owner is not None for c in claims)
        return [Activate(execution_id=c.execution_id, how="recover") for c in claims]

    def renew(self, stuck: list[dict[str, str]]) -> list[str]:
        """Renew the leases when due (the heartbeat reports the handlers ``stuck`` past
        their timeout); the executions lost meanwhile."""
        return self._leases.renew(stuck) if self._leases.renew_due() else []

    def look(self, *, room: int, quarantined: set[str]) -> list[Event]:
        """New work (up to ``room`` executions), wake-ups of held executions, held
        sessions past their deadline."""
        if room > 0:
            events: list[Event] = self.claim(room)
        else:  # not looked for: work announced now waits, claimed as soon as room frees
            events, self.more = [], True
        if self._clock.monotonic() - self._last_prune > WAKEUP_PRUNE_EVERY:
            self.prune()
        woken = self._wakes.see(self._store.wakeups_after(self._wakes.position),
                                self._clock.monotonic())
        held = self._leases.held
        events.extend(Refresh(execution_id=eid) for eid in woken if eid in held)
        now = format_timestamp(self._clock.now())
        events.extend(Expire(execution_id=r.id, expires_at=r.expires_at or now)
                      for r in self._store.expired_executions(now,
                                                              tenant_id=self._leases.tenant)
                      if r.id in held and r.id not in quarantined)
        return events

    def prune(self) -> None:
        self._last_prune = self._clock.monotonic()
        self._store.prune_wakeups(format_timestamp(self._clock.now() - WAKEUP_KEPT))
