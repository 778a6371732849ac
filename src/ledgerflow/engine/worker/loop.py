"""The worker: runs handlers in bounded slots and commits their results with group commit.

One thread (the one calling ``run``) owns every write. Handlers only put results on a
queue. The writer drains the queue, computes each execution's next change with the pure
rules, admits steps waiting for the slots those results freed (``dispatcher``), commits
the whole batch in ONE transaction, and only then hands the steps those changes started to
their handlers. Nothing is acknowledged or started before its commit.

The COMMIT runs on this thread. Handing it, or the whole batch's write, to a thread of its
own while the next batch is built was measured (1,000 × 10 steps): at par or 7 % slower on
SQLite (64 in flight), 11 % slower on PostgreSQL (whole write, 256 in flight). The
interpreter lock bounds a worker, and every round trip's return waits for it meanwhile.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from ledgerflow import errors
from ledgerflow.clock import Clock
from ledgerflow.definition.model import Definition
from ledgerflow.engine.agents.book import AgentBook, LockedBook
from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.engine.definitions import Definitions
from ledgerflow.engine.model.outcome import Outcome
from ledgerflow.engine.model.timers import Timer, TimerKind
from ledgerflow.engine.model.transition import Built, Transition
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.rules import flow
from ledgerflow.engine.worker import reactions
from ledgerflow.engine.worker.admission import checked_limits, queue_all
from ledgerflow.engine.worker.attempts import AttemptRunner
from ledgerflow.engine.worker.context import StepContext
from ledgerflow.engine.worker.dispatcher import Dispatcher
from ledgerflow.engine.worker.events import (
    STOP_GRACE,
    Activate,
    Adopt,
    Event,
    Heartbeat,
    Listener,
    Refresh,
    TimerFired,
    WorkerOptions,
    WorkerReport,
)
from ledgerflow.engine.worker.finder import WorkFinder
from ledgerflow.engine.worker.leases import LeaseOptions, Leases
from ledgerflow.engine.worker.lifecycle import RETRY_AFTER, Backoff, Lifecycle
from ledgerflow.engine.worker.loading import ViewLoader
from ledgerflow.engine.worker.poison import Poison
from ledgerflow.engine.worker.reactions import Heartbeats
from ledgerflow.engine.worker.setbacks import Rule, Setbacks
from ledgerflow.engine.worker.telemetry import WorkerTelemetry
from ledgerflow.engine.worker.timers import TimerHeap
from ledgerflow.ledger.chain import Actor
from ledgerflow.storage.base import Change, Store

# what the App needs to build a worker, importable from here alone (loaded only to work)
__all__ = ["STOP_GRACE", "LeaseOptions", "Listener", "Worker", "WorkerOptions", "WorkerReport",
           "checked_limits"]

log = logging.getLogger("ledgerflow.worker")
CLAIM_PER_SLOT = 8  # executions claimed per free handler slot (measured: benchmarks/pg.py)


class Worker(Lifecycle, Setbacks):
    def __init__(self, store: Store, definitions: Definitions, registry: AgentRegistry,
                 clock: Clock, actor: Actor, options: WorkerOptions,
                 listener: Listener | None = None) -> None:
        self._store = store
        self._definitions = definitions
        self._registry = registry
        self._clock = clock
        self._actor = actor
        self._options = options
        self._listener = listener
        self._queue: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._views: dict[str, ExecutionView] = {}
        self._timers = TimerHeap()
        self._stop = threading.Event()
        self._stop_by: float | None = None  # monotonic end of a stop's grace period
        self._retry = Backoff()  # the wait before a batch the database refused is redone
        self._last_poll = 0.0
        self._loader = ViewLoader(store, definitions)
        self._ready = threading.Event()  # start-up recovery done: adoptions are safe
        self._lock = store.worker_lock(options.tenant)
        self._leases = Leases(store, actor.id, clock, options.leases, steal=self._lock.exclusive,
                              tenant=options.tenant)
        self._finder = WorkFinder(store, clock, self._leases, self._queue.put)
        self._beats = Heartbeats()
        self._runner = AttemptRunner(registry, self._queue.put, clock)
        self._telemetry = WorkerTelemetry(store, clock, options.telemetry_capacity,
                                          options.metrics)
        self._book = AgentBook(registry, actor.id, on_transition=self._telemetry.breaker)
        self._book.tenant = options.tenant
        self._locked = LockedBook(self._book, clock)
        self._slots = Dispatcher(registry, self._runner, options.concurrency, options.limits)
        if options.metrics is not None:
            slots = self._slots
            options.metrics.gauges(lambda: self._telemetry.scraped(
                lambda: (slots.inflight, max(slots.free, 0)),
                lambda: self._finder.taken_over))
        self._choose = self._slots.gate(self._locked.choose)
        self._outcome = self._locked.outcome
        self._poison = Poison(store, self._loader, clock, actor, self._leases, self._telemetry)
        self.report = WorkerReport()
        self._admitted: list[str] = []  # executions admitted into the batch being built
        self._loaded: dict[str, ExecutionView | None] = {}  # read for the batch, not yet used

    # public ---------------------------------------------------------------------------
    def activation(self, insert: Change, definition: Definition) -> tuple[Change, Built]:
        """A new execution's insert, leased to this worker, and the change that starts it
        running, so whoever inserts it commits both in one transaction (then ``adopt`` the
        result). Thread-safe: pure."""
        insert = self._leases.lease_new(insert)
        view = ExecutionView.from_rows(insert.execution, definition, insert.new_steps)
        tr = Transition.begin(view, self._clock.now(), self._actor)
        flow.activate(tr, queue_all)  # its steps wait for the writer's admission
        built = tr.build()
        change = replace(built.change, lease=(self._leases.owner, 1))
        return insert, replace(built, change=change)

    @property
    def tenant(self) -> str | None:
        """The tenant whose executions it works (None: every tenant's)."""
        return self._options.tenant

    def serves(self, tenant: str) -> bool:
        """Whether it works ``tenant``'s executions."""
        return self._options.tenant in (None, tenant)

    @property
    def ready(self) -> bool:
        """True once start-up recovery is done and until the worker stops: from then on
        an execution started in this process may be activated by ``activation``/``adopt``
        (before, the start-up scan could see it as running and recover it as well)."""
        return self._ready.is_set() and not self._stop.is_set()

    def adopt(self, built: Built) -> None:
        """Take over an execution whose activation was committed elsewhere in this process."""
        self._queue.put(Adopt(built=built))

    def run(self) -> WorkerReport:
        with self._lock:
            self._startup()
            self._telemetry.start()
            try:
                while not self._stopped():
                    events = self._collect()
                    try:
                        if events or self._admissible():
                            self._process(events)
                        elif self._idle():
                            break
                    except errors.ConnectionLost as exc:  # outside a batch: nothing to redo
                        log.warning("database unavailable: %s", exc)
                        self._stop.wait(RETRY_AFTER)
            finally:
                self._slots.close()
                self._shutdown()
        return self.report

    def _admissible(self) -> bool:
        return not self._stop.is_set() and self._slots.admissible

    # the loop -------------------------------------------------------------------------
    def _collect(self) -> list[Event]:
        events: list[Event] = []
        # settled: what is queued is all there is; a poke: work is there to claim (room
        # was freed, a notification came). Either way wait for nothing: a poll interval
        # here would hold the freed slots idle
        longest = 0.0 if self._settled() or self._finder.poke.is_set() \
            else self._options.poll_interval
        timeout = self._timers.wait(self._clock.now().timestamp(), longest)
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            first = None
        if first is not None:
            events.append(first)
        while len(events) < self._options.batch_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                events.append(item)
        events.extend(TimerFired(timer=t) for t in self._timers.due(self._clock.now().timestamp()))
        if self._finder.poke.is_set() or \
                self._clock.monotonic() - self._last_poll >= self._options.poll_interval:
            self._finder.poke.clear()
            try:
                events.extend(self._poll())
            except errors.ConnectionLost as exc:
                log.warning("could not look for work: %s", exc)
        return events

    def _poll(self) -> list[Event]:
        """Renew leases (even while stopping); unless stopping, claim new work and find
        changes made elsewhere."""
        self._last_poll = self._clock.monotonic()
        for execution_id in self._finder.renew(self._slots.stuck()):
            self._lost(execution_id, "no longer held: finished elsewhere, or taken over after "
                       "its lease lapsed")
        if self._stop.is_set():
            return []
        self._book.tick(self._store, self._clock.now())
        # a few executions per free handler slot: chains commit in groups only with many
        # in flight; yet no more, so other workers get the rest (embedded: everything)
        free = max(self._slots.free - self._slots.queued, 0)
        room = self._leases.batch if self._leases.steal else \
            min(self._leases.batch, CLAIM_PER_SLOT * free)
        return self._finder.look(room=room, quarantined=self._loader.quarantined)

    def _settled(self) -> bool:
        """Running until idle, and nothing here will move an execution on by itself: no
        handler in flight or queued, no timer but wait deadlines and attempt timeouts."""
        return self._options.until_idle and not self._stop.is_set() and \
            not self._slots.inflight and not self._slots.queued and \
            not self._timers.any_moving()

    def _idle(self) -> bool:
        """Settled, and one more look finds no new work (what is left waits or is paused)."""
        if not self._settled():
            return False
        new = self._poll()
        for event in new:
            self._queue.put(event)
        return not new

    # applying events ------------------------------------------------------------------
    def _process(self, events: Iterable[Event]) -> None:
        batch: list[tuple[Event, Rule]] = []
        stale: list[Outcome] = []  # results of attempts whose lease was lost
        for event in events:
            if isinstance(event, Adopt):
                if event.execution_id not in self._views:  # else known already: dispatched
                    self._leases.held[event.execution_id] = 1
                    self._views[event.execution_id] = event.built.view
                    self._after_commit(event.built)
                    self._slots.enqueue(event.execution_id)
                continue
            if isinstance(event, Outcome) and self._slots.finished(event):
                self.report.steps_run += 1  # once per attempt, even when a conflict requeues it
                self._outcome(event.execution_id, event.step_id, event.epoch, event.capability,
                              event.agent, event.ok, event.duration_ms)
            if isinstance(event, TimerFired) and event.timer.kind is TimerKind.TIMEOUT:
                self._timed_out(event.timer)
            if isinstance(event, Heartbeat):
                self._beats.beat(event)
                continue
            if event.execution_id not in self._leases.held:
                if isinstance(event, Outcome):
                    stale.append(event)
                continue  # another worker's: its events are not ours to apply
            if isinstance(event, Refresh):
                self._views.pop(event.execution_id, None)  # changed elsewhere: reload it
            rule = self._rule(event)
            if rule is not None:
                batch.append((event, rule))
        try:
            self._beats.flush(self._store)
            self._commit_batch(batch)
            self._retry.reset()  # got through: the next refusal waits RETRY_AFTER again
            for event in stale:
                reactions.record_stale(self._store, self._loader.load, self._clock.now(),
                                         self._actor, event)
        except errors.ConnectionLost as exc:
            self._retry_later(batch, exc)
            for event in stale:  # their rejection is recorded once the database is back
                self._queue.put(event)

    def _rule(self, event: Event) -> Rule | None:
        return reactions.rule_for(
            event, self._choose, self._beats, stopping=self._stop.is_set(),
            recovery_limit=self._options.recovery_limit, running_here=self._slots.attempts.keys)

    def _commit_batch(self, batch: list[tuple[Event, Rule]]) -> None:
        self._slots.release_reservations()
        self._admitted = []
        try:
            self._build_and_commit(batch)
        finally:
            self._slots.release_reservations()
            self._slots.applying(None)

    def _build_and_commit(self, batch: list[tuple[Event, Rule]]) -> None:
        now = self._clock.now()
        built: list[tuple[Event, Built, ExecutionView]] = []
        # the executions this batch needs that are not in memory: read in one call
        self._loaded = self._loader.load_many(
            e.execution_id for e, _ in batch if e.execution_id not in self._views)
        try:
            for event, rule in batch:
                self._build(event, rule, now, built)
        finally:
            self._loaded = {}
        # slots this batch freed admit queued steps of any execution held here, committed
        # together with the results that freed them
        tried: set[str] = set()
        while not self._stop.is_set() and (execution_id := self._slots.next_admission(tried)):
            if execution_id not in self._leases.held:
                self._slots.forget(execution_id)
                continue
            self._admitted.append(execution_id)
            self._build(Activate(execution_id=execution_id),
                        lambda tr: flow.advance(tr, self._choose), now, built)
            self._slots.admitted(execution_id)
        agents = self._locked.take_writes()
        if not built:
            if agents is not None:
                self._store.commit([], agents=agents)
            return
        began = self._clock.monotonic()
        outcomes = self._poison.commit(built, agents)
        self._telemetry.committed_batch(len(built), self._clock.monotonic() - began)
        self.report.commits += 1
        self.report.changes += len(built)
        for (event, _, old_view), done in zip(built, outcomes, strict=True):
            if done is False:
                self._conflict(event, old_view)
            elif done is not True:
                self._after_commit(done)

    def _build(self, event: Event, rule: Rule, now: datetime,
               built: list[tuple[Event, Built, ExecutionView]]) -> None:
        view = self._views.get(event.execution_id) or self._load(event.execution_id)
        if view is None or view.status.terminal:
            self._views.pop(event.execution_id, None)
            self._slots.attempts.cancel_stale(event.execution_id, view)
            return
        tr = Transition.begin(view, now, self._actor)
        tr.hold = self._stop.is_set()
        self._slots.applying(view.id)
        try:
            rule(tr)
            result = tr.build() if tr.changed else None
        except Exception as exc:  # a broken row, a bug, a value nothing caught: alone
            self._views.pop(view.id, None)
            built.extend(self._poison.failing(event, exc, "move on"))
            return
        if result is None:
            self._views[view.id] = view
            self._timers.arm(tr.timers)  # deadlines found again (start-up, a refresh)
            self._hand_over(view, tr.handoff)  # its wait was recorded before
            return
        built.append((event, result, view))
        self._views[view.id] = result.view

    def _load(self, execution_id: str) -> ExecutionView | None:
        """The view read for this batch (once: later it is in memory or gone), else read now."""
        if execution_id in self._loaded:
            return self._loaded.pop(execution_id)
        return self._loader.load(execution_id)

    def _after_commit(self, result: Built) -> None:
        view = result.view
        self._telemetry.committed(result)
        self._slots.attempts.cancel_stale(view.id, view)
        self._timers.arm(result.timers)
        for dispatch in result.dispatches:
            self._book.started(dispatch.capability, dispatch.agent)
            context = StepContext(dispatch, self._runner.heartbeat, started=self._clock.now(),
                                  on_log=self._telemetry.step_log)
            self._slots.start(dispatch, context)
        if view.status.terminal:
            self._views.pop(view.id, None)
            self._leases.forget(view.id)
            self._slots.forget(view.id)
            self._locked.forget(view.id)
            if self._finder.more:
                self._finder.poke.set()  # room for one more: claim it now
        self._hand_over(view, result.handoff)
        if self._listener is not None:
            self._listener(view)

    def _hand_over(self, view: ExecutionView, capability: str | None) -> None:
        """A step waits for ``capability``: once nothing of it runs here, offer it elsewhere."""
        if capability and not view.status.terminal and not self._slots.attempts.keys(view.id):
            self._views.pop(view.id, None)
            self._slots.forget(view.id)
            self._locked.forget(view.id)
            self._leases.hand_over(view.id, capability)

    def _timed_out(self, timer: Timer) -> None:
        """An attempt still running at its deadline counts as a failure of its agent, and
        gives its slot back at once (its handler is told through ``ctx.cancelled``)."""
        context = self._slots.give_up(timer.execution_id, timer.step_id, timer.epoch,
                                      self._clock.now())
        if context is not None:
            started = self._clock.now() - context.started
            self._outcome(timer.execution_id, timer.step_id, timer.epoch, context.capability,
                          context.agent, False, started.total_seconds() * 1000.0)
