"""The worker: runs handlers on a bounded pool and commits their results with group commit.

One thread (the one calling ``run``) owns every write. Handler threads only put results on
a queue. The writer drains the queue, computes each execution's next change with the pure
rules, commits the whole batch in ONE transaction, and only then dispatches the steps those
changes started. Nothing is acknowledged or started before its commit.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

from ledgerflow import errors
from ledgerflow.clock import Clock
from ledgerflow.definition.model import Definition
from ledgerflow.engine.agents.book import AgentBook, LockedBook
from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.engine.definitions import Definitions
from ledgerflow.engine.model.timers import Timer, TimerKind
from ledgerflow.engine.model.transition import Built, Transition
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.rules import flow
from ledgerflow.engine.worker import reactions
from ledgerflow.engine.worker.attempts import AttemptRunner, RunningAttempts
from ledgerflow.engine.worker.context import StepContext
from ledgerflow.engine.worker.events import (
    Activate,
    Adopt,
    Completed,
    Event,
    Heartbeat,
    Listener,
    Refresh,
    TimerFired,
    WorkerOptions,
    WorkerReport,
)
from ledgerflow.engine.worker.finder import WorkFinder
from ledgerflow.engine.worker.leases import Leases
from ledgerflow.engine.worker.loading import ViewLoader
from ledgerflow.engine.worker.reactions import Heartbeats
from ledgerflow.engine.worker.telemetry import WorkerTelemetry
from ledgerflow.engine.worker.timers import TimerHeap
from ledgerflow.ledger.chain import Actor
from ledgerflow.storage.base import Change, Store

__all__ = ["Listener", "Worker", "WorkerOptions", "WorkerReport"]
Rule = Callable[[Transition], object]

log = logging.getLogger("ledgerflow.worker")
WAKEUP_KEPT = timedelta(hours=1)  # wake-ups older than this are pruned
WAKEUP_PRUNE_EVERY = 600.0  # seconds between prunes while a worker runs
CLAIM_PER_SLOT = 8  # executions claimed per free handler slot (measured: benchmarks/pg.py)
RETRY_AFTER = 1.0  # seconds to wait after the database failed a write, before trying again


class Worker:
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
        self._inflight = 0
        self._stop = threading.Event()
        self._last_poll = 0.0
        self._loader = ViewLoader(store, definitions)
        self._ready = threading.Event()  # start-up recovery done: adoptions are safe
        self._lock = store.worker_lock()
        self._leases = Leases(store, actor.id, clock, options.leases, steal=self._lock.exclusive)
        self._finder = WorkFinder(store, clock, self._leases, self._queue.put)
        self._beats = Heartbeats()
        self._runner = AttemptRunner(registry, self._queue.put, clock)
        self._telemetry = WorkerTelemetry(store, clock, options.telemetry_capacity)
        self._book = AgentBook(registry, actor.id, on_transition=self._telemetry.breaker)
        self._locked = LockedBook(self._book, clock)
        self._choose = self._locked.choose
        self._outcome = self._locked.outcome
        self._attempts = RunningAttempts()
        self.report = WorkerReport()

    # public ---------------------------------------------------------------------------
    def activation(self, insert: Change, definition: Definition) -> tuple[Change, Built]:
        """A new execution's insert, leased to this worker, and the change that starts it
        running, so whoever inserts it commits both in one transaction (then ``adopt`` the
        result). Thread-safe: pure."""
        insert = self._leases.lease_new(insert)
        view = ExecutionView.from_rows(insert.execution, definition, insert.new_steps)
        tr = Transition.begin(view, self._clock.now(), self._actor)
        flow.activate(tr, self._choose)
        built = tr.build()
        change = replace(built.change, lease=(self._leases.owner, 1))
        return insert, replace(built, change=change)

    @property
    def ready(self) -> bool:
        """True once start-up recovery is done and until the worker stops: from then on
        an execution started in this process may be activated by ``activation``/``adopt``
        (before, the start-up scan could see it as running and recover it as well)."""
        return self._ready.is_set() and not self._stop.is_set()

    def adopt(self, built: Built) -> None:
        """Take over an execution whose activation was committed elsewhere in this process."""
        self._queue.put(Adopt(built=built))

    def stop(self) -> None:
        """Stop dispatching, let running handlers finish and commit, then return from run."""
        self._stop.set()
        self._queue.put(None)

    def run(self) -> WorkerReport:
        with self._lock, ThreadPoolExecutor(
            max_workers=self._options.concurrency, thread_name_prefix="ledgerflow-step"
        ) as pool:
            self._pool = pool
            self._startup()
            self._telemetry.start()
            try:
                while True:
                    if self._stop.is_set() and self._inflight == 0:
                        break
                    events = self._collect()
                    try:
                        if events:
                            self._process(events)
                        elif self._idle():
                            break
                    except errors.ConnectionLost as exc:  # outside a batch: nothing to redo
                        log.warning("database unavailable: %s", exc)
                        self._stop.wait(RETRY_AFTER)
            finally:
                self._shutdown()
        return self.report

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

    # the loop -------------------------------------------------------------------------
    def _startup(self) -> None:
        while not self._registered():  # the database went away meanwhile: wait for it
            self._stop.wait(RETRY_AFTER)
        self._book.shared = not self._lock.exclusive
        claimed = self._finder.start(self._options.poll_interval)
        self._process(claimed)  # a lost connection here is retried like any other batch
        self._last_poll = time.monotonic()
        self._ready.set()

    def _registered(self) -> bool:
        now = self._clock.now()
        try:
            self._book.load_from(self._store, now)
            self._book.register(self._store, self._actor.id, now)
            self._book.look_around(self._store, now)
            self._leases.register(self._registry.capabilities(), self._options.concurrency)
        except errors.ConnectionLost as exc:
            log.warning("database unavailable while starting (%s); retrying", exc)
            return False
        return True

    def _collect(self) -> list[Event]:
        events: list[Event] = []
        timeout = self._timers.wait(self._clock.now().timestamp(), self._options.poll_interval)
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
                time.monotonic() - self._last_poll >= self._options.poll_interval:
            self._finder.poke.clear()
            try:
                events.extend(self._poll())
            except errors.ConnectionLost as exc:
                log.warning("could not look for work: %s", exc)
        return events

    def _poll(self) -> list[Event]:
        """Renew leases (even while stopping); unless stopping, claim new work and find
        changes made elsewhere."""
        self._last_poll = time.monotonic()
        for execution_id in self._finder.renew():
            self._lost(execution_id, "no longer held: finished elsewhere, or taken over after "
                       "its lease lapsed")
        if self._stop.is_set():
            return []
        self._book.tick(self._store, self._clock.now())
        # a few executions per free handler slot: chains commit in groups only with many
        # in flight; yet no more, so other workers get the rest (embedded: everything)
        free = self._options.concurrency - self._inflight
        room = self._leases.batch if self._leases.steal else \
            min(self._leases.batch, CLAIM_PER_SLOT * free)
        return self._finder.look(room=room, quarantined=self._loader.quarantined)

    def _idle(self) -> bool:
        """Nothing in flight, no timer that will move an execution (wait deadlines and
        attempt timeouts do not count), and no new work: executions left are waiting for
        a signal or paused."""
        if self._stop.is_set() or not self._options.until_idle:
            return False
        if self._inflight or self._timers.any_moving():
            return False
        new = self._poll()
        for event in new:
            self._queue.put(event)
        return not new

    # applying events ------------------------------------------------------------------
    def _process(self, events: Iterable[Event]) -> None:
        batch: list[tuple[Event, Rule]] = []
        stale: list[Completed] = []  # results of attempts whose lease was lost
        for event in events:
            if isinstance(event, Adopt):
                if event.execution_id not in self._views:  # else known already: dispatched
                    self._leases.held[event.execution_id] = 1
                    self._views[event.execution_id] = event.built.view
                    self._after_commit(event.built)
                continue
            if isinstance(event, Completed) and self._attempts.forget(event) is not None:
                self._inflight -= 1  # once per attempt, even when a conflict requeues it
                self.report.steps_run += 1
                self._outcome(event.execution_id, event.step_id, event.epoch, event.capability,
                              event.agent, event.error is None, event.duration_ms)
            if isinstance(event, TimerFired) and event.timer.kind is TimerKind.TIMEOUT:
                self._timed_out(event.timer)
            if isinstance(event, Heartbeat):
                self._beats.beat(event)
                continue
            if event.execution_id not in self._leases.held:
                if isinstance(event, Completed):
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
            recovery_limit=self._options.recovery_limit, running_here=self._attempts.keys)

    def _retry_later(self, batch: list[tuple[Event, Rule]], exc: Exception) -> None:
        """The database failed the batch (a lost connection): whether its commit landed is
        unknown. Reload its executions and apply the events again; steps a landed commit
        started but nobody runs are started again (``reattach``), results already recorded
        are not recorded twice (their steps are no longer running under that epoch)."""
        log.warning("database unavailable (%s); retrying %d event(s) in %g s", exc,
                    len(batch), RETRY_AFTER)
        touched = dict.fromkeys(event.execution_id for event, _ in batch)
        for execution_id in touched:
            self._views.pop(execution_id, None)
            self._queue.put(Activate(execution_id=execution_id, how="reattach"))
        for event, _ in batch:
            self._queue.put(event)
        self._stop.wait(RETRY_AFTER)

    def _commit_batch(self, batch: list[tuple[Event, Rule]]) -> None:
        now = self._clock.now()
        built: list[tuple[Event, Built, ExecutionView]] = []
        for event, rule in batch:
            view = self._views.get(event.execution_id) or self._loader.load(event.execution_id)
            if view is None or view.status.terminal:
                self._views.pop(event.execution_id, None)
                self._attempts.cancel_stale(event.execution_id, view)
                continue
            tr = Transition.begin(view, now, self._actor)
            tr.hold = self._stop.is_set()
            try:
                rule(tr)
            except errors.LedgerflowError as exc:  # a broken row or a bug: keep serving
                self._loader.quarantine(view.id, exc)
                self._views.pop(view.id, None)
                continue
            if not tr.changed:
                self._views[view.id] = view
                self._timers.arm(tr.timers)  # deadlines found again (start-up, a refresh)
                continue
            result = tr.build()
            built.append((event, result, view))
            self._views[view.id] = result.view
        agents = self._locked.take_writes()
        if not built:
            if agents is not None:
                self._store.commit([], agents=agents)
            return
        changes = [self._leases.guard(b.change, b.view.id) for _, b, _ in built]
        outcomes = self._store.commit(changes, agents=agents)
        self.report.commits += 1
        self.report.changes += len(built)
        for (event, result, old_view), ok in zip(built, outcomes, strict=True):
            if ok:
                self._after_commit(result)
            else:
                self._conflict(event, old_view)

    def _after_commit(self, result: Built) -> None:
        view = result.view
        self._telemetry.committed(result)
        self._attempts.cancel_stale(view.id, view)
        self._timers.arm(result.timers)
        for dispatch in result.dispatches:
            self._inflight += 1
            self._book.started(dispatch.capability, dispatch.agent)
            context = StepContext(dispatch, self._runner.heartbeat, started=self._clock.now(),
                                  on_log=self._telemetry.step_log)
            self._attempts.add(dispatch, context)
            self._pool.submit(self._runner.run, dispatch, context)
        if view.status.terminal:
            self._views.pop(view.id, None)
            self._leases.forget(view.id)
            if self._finder.more:
                self._finder.poke.set()  # room for one more: claim it now
        elif result.handoff is not None and not self._attempts.keys(view.id):
            self._views.pop(view.id, None)  # nothing of it runs here: let another take it
            self._leases.hand_over(view.id, result.handoff)
        if self._listener is not None:
            self._listener(view)

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
            if isinstance(event, Completed):
                reactions.record_stale(self._store, self._loader.load, self._clock.now(),
                                         self._actor, event)
            return
        self._attempts.cancel_stale(old_view.id, fresh)
        if fresh is not None and not fresh.status.terminal:
            self._views[fresh.id] = fresh
            self._queue.put(event)

    def _lost(self, execution_id: str, why: str) -> None:
        """No longer ours: forget it; its running handlers see ``ctx.cancelled``."""
        log.warning("execution %s: lease lost (%s)", execution_id, why)
        self._leases.forget(execution_id)
        self._views.pop(execution_id, None)
        self._attempts.cancel_stale(execution_id, None)

    def _timed_out(self, timer: Timer) -> None:
        """An attempt still running at its deadline counts as a failure of its agent."""
        context = self._attempts.get(timer.execution_id, timer.step_id, timer.epoch)
        if context is not None:
            started = self._clock.now() - context.started
            self._outcome(timer.execution_id, timer.step_id, timer.epoch, context.capability,
                          context.agent, False, started.total_seconds() * 1000.0)
