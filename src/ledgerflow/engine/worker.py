"""The worker: runs handlers on a bounded pool and commits their results with group commit.

One thread (the one calling ``run``) owns every write. Handler threads only put results on
a queue. The writer drains the queue, computes each execution's next change with the pure
rules, commits the whole batch in ONE transaction, and only then dispatches the steps those
changes started. Nothing is acknowledged or started before its commit.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from ledgerflow import errors
from ledgerflow.clock import Clock
from ledgerflow.engine import event_rules, resume, rules
from ledgerflow.engine.agent_book import AgentBook
from ledgerflow.engine.agents import AgentRegistry
from ledgerflow.engine.attempts import AttemptRunner
from ledgerflow.engine.context import StepContext
from ledgerflow.engine.definitions import Definitions
from ledgerflow.engine.event_rules import Heartbeats
from ledgerflow.engine.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.engine.transition import Built, Timer, Transition
from ledgerflow.engine.view import ExecutionView
from ledgerflow.engine.worker_events import (
    Activate,
    Adopt,
    Completed,
    Event,
    Expire,
    Heartbeat,
    Listener,
    Refresh,
    TimerFired,
    WorkerOptions,
    WorkerReport,
)
from ledgerflow.engine.worker_telemetry import WorkerTelemetry
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.ledger.chain import Actor
from ledgerflow.storage.base import Store

__all__ = ["Listener", "Worker", "WorkerOptions", "WorkerReport"]
Rule = Callable[[Transition], object]
UNFINISHED = [ExecutionStatus.RUNNING, ExecutionStatus.WAITING, ExecutionStatus.PAUSED,
              ExecutionStatus.PENDING]

log = logging.getLogger("ledgerflow.worker")
WAKEUP_KEPT = timedelta(hours=1)  # wake-ups older than this are pruned
ATTEMPT_TIMERS = frozenset({"timeout", "heartbeat"})  # only matter while an attempt runs
WAKEUP_PRUNE_EVERY = 600.0  # seconds between prunes while a worker runs


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
        self._timers: list[tuple[float, int, Timer]] = []
        self._timer_seq = itertools.count()
        self._inflight = 0
        self._stop = threading.Event()
        self._last_poll = 0.0
        self._quarantined: set[str] = set()
        self._ready = threading.Event()  # start-up recovery done: adoptions are safe
        self._wake_cursor = 0  # the last wake-up seen
        self._last_prune = 0.0
        self._beats = Heartbeats()
        self._runner = AttemptRunner(registry, self._queue.put, clock)
        self._telemetry = WorkerTelemetry(store, clock, options.telemetry_capacity)
        self._book = AgentBook(registry, actor.id, on_transition=self._telemetry.breaker)
        self._book_lock = threading.Lock()  # activation() routes from the caller's thread
        # running attempts: execution id -> (step id, epoch) -> the handler's context
        self._attempts: dict[str, dict[tuple[str, int], StepContext]] = {}
        self.report = WorkerReport()

    # public ---------------------------------------------------------------------------
    def activation(self, view: ExecutionView) -> Built:
        """The change that starts a new execution running, so whoever inserts it can commit
        both in one transaction (then ``adopt`` the result). Thread-safe: pure."""
        tr = Transition.begin(view, self._clock.now(), self._actor)
        rules.activate(tr, self._choose)
        return tr.build()

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
        with self._store.worker_lock(), ThreadPoolExecutor(
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
                    if events:
                        self._process(events)
                    elif self._idle():
                        break
            finally:
                with self._book_lock:
                    final = self._book.take_writes(final=True)
                if final is not None:
                    self._store.commit([], agents=final)
                self._book.unregister(self._store)
                self.report.telemetry = self._telemetry.close()
        return self.report

    # the loop -------------------------------------------------------------------------
    def _startup(self) -> None:
        now = self._clock.now()
        self._book.load_from(self._store, now)
        self._book.register(self._store, self._actor.id, now)
        self._wake_cursor = self._store.last_wakeup()  # before the scan: nothing is missed
        self._prune_wakeups()
        found = self._store.executions_with_status(UNFINISHED)
        recovering = [r for r in found if r.status == ExecutionStatus.RUNNING]
        self.report.recovered = len(recovering)  # waiting and paused ones are only re-armed
        if recovering:
            log.info("recovering %d running execution(s)", len(recovering))
        limit = self._options.recovery_limit

        def recover(tr: Transition) -> None:
            resume.recover(tr, self._choose, limit)

        self._commit_batch([(Activate(execution_id=row.id), recover) for row in found])
        self._last_poll = time.monotonic()
        self._ready.set()

    def _collect(self) -> list[Event]:
        events: list[Event] = []
        timeout = self._wait_time()
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
        events.extend(self._due_timers())
        if time.monotonic() - self._last_poll >= self._options.poll_interval:
            events.extend(self._poll())
        return events

    def _wait_time(self) -> float:
        wait = self._options.poll_interval
        if self._timers:
            wait = min(wait, max(self._timers[0][0] - self._clock.now().timestamp(), 0.0))
        return wait

    def _due_timers(self) -> list[Event]:
        now = self._clock.now().timestamp()
        fired: list[Event] = []
        while self._timers and self._timers[0][0] <= now:
            _, _, timer = heapq.heappop(self._timers)
            fired.append(TimerFired(timer=timer))
        return fired

    def _prune_wakeups(self) -> None:
        self._last_prune = time.monotonic()
        self._store.prune_wakeups(format_timestamp(self._clock.now() - WAKEUP_KEPT))

    def _poll(self) -> list[Event]:
        """New executions, changes made elsewhere (wake-ups) and sessions past their TTL."""
        self._last_poll = time.monotonic()
        if self._stop.is_set():
            return []
        events: list[Event] = []
        pending = self._store.executions_with_status([ExecutionStatus.PENDING])
        events.extend(Activate(execution_id=r.id) for r in pending
                      if r.id not in self._views and r.id not in self._quarantined)
        self._book.tick(self._store, self._clock.now())
        if time.monotonic() - self._last_prune > WAKEUP_PRUNE_EVERY:
            self._prune_wakeups()
        woken = self._store.wakeups_after(self._wake_cursor)
        if woken:
            self._wake_cursor = woken[-1][0]
            events.extend(Refresh(execution_id=eid) for eid in dict.fromkeys(e for _, e in woken)
                          if eid not in self._quarantined)
        now = format_timestamp(self._clock.now())
        events.extend(Expire(execution_id=r.id, expires_at=r.expires_at or now)
                      for r in self._store.expired_executions(now)
                      if r.id not in self._quarantined)
        return events

    def _idle(self) -> bool:
        """Nothing in flight, no timer that will move an execution (wait deadlines and
        attempt timeouts do not count), and no new work: executions left are waiting for
        a signal or paused."""
        if self._stop.is_set() or not self._options.until_idle:
            return False
        if self._inflight or any(t.kind not in ATTEMPT_TIMERS for _, _, t in self._timers):
            return False
        new = self._poll()
        for event in new:
            self._queue.put(event)
        return not new

    # applying events ------------------------------------------------------------------
    def _process(self, events: Iterable[Event]) -> None:
        batch: list[tuple[Event, Callable[[Transition], object]]] = []
        for event in events:
            if isinstance(event, Adopt):
                if event.execution_id not in self._views:  # else known already: dispatched
                    self._views[event.execution_id] = event.built.view
                    self._after_commit(event.built)
                continue
            if isinstance(event, Completed) and self._forget(event) is not None:
                self._inflight -= 1  # once per attempt, even when a conflict requeues it
                self.report.steps_run += 1
                self._outcome(event.execution_id, event.step_id, event.epoch, event.capability,
                              event.agent, event.error is None, event.duration_ms)
            if isinstance(event, TimerFired) and event.timer.kind == "timeout":
                self._timed_out(event.timer)
            if isinstance(event, Refresh):
                self._views.pop(event.execution_id, None)  # changed elsewhere: reload it
            if isinstance(event, Heartbeat):
                self._beats.beat(event)
                continue
            step = event_rules.rule_for(event, self._choose, self._beats,
                                        stopping=self._stop.is_set())
            if step is not None:
                batch.append((event, step))
        self._beats.flush(self._store)
        self._commit_batch(batch)

    def _commit_batch(self, batch: list[tuple[Event, Callable[[Transition], object]]]) -> None:
        now = self._clock.now()
        built: list[tuple[Event, Built, ExecutionView]] = []
        for event, rule in batch:
            view = self._views.get(event.execution_id) or self._load(event.execution_id)
            if view is None or view.status.terminal:
                self._views.pop(event.execution_id, None)
                self._cancel_attempts(event.execution_id, view)
                continue
            tr = Transition.begin(view, now, self._actor)
            tr.hold = self._stop.is_set()
            try:
                rule(tr)
            except errors.LedgerflowError as exc:  # a broken row or a bug: keep serving
                self._quarantined.add(view.id)
                self._views.pop(view.id, None)
                log.error("execution %s skipped: %s", view.id, exc)
                continue
            if not tr.changed:
                self._views[view.id] = view
                self._arm(tr.timers)  # deadlines found again (start-up, a refresh)
                continue
            result = tr.build()
            built.append((event, result, view))
            self._views[view.id] = result.view
        with self._book_lock:
            agents = self._book.take_writes()
        if not built:
            if agents is not None:
                self._store.commit([], agents=agents)
            return
        outcomes = self._store.commit([b.change for _, b, _ in built], agents=agents)
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
        self._cancel_attempts(view.id, view)
        self._arm(result.timers)
        for dispatch in result.dispatches:
            self._inflight += 1
            self._book.started(dispatch.capability, dispatch.agent)
            context = StepContext(dispatch, self._runner.heartbeat, started=self._clock.now(),
                                  on_log=self._telemetry.step_log)
            self._attempts.setdefault(dispatch.execution_id, {})[
                (dispatch.step_id, dispatch.epoch)] = context
            self._pool.submit(self._runner.run, dispatch, context)
        if view.status.terminal:
            self._views.pop(view.id, None)
        if self._listener is not None:
            self._listener(view)

    def _arm(self, timers: Iterable[Timer]) -> None:
        for timer in timers:
            heapq.heappush(self._timers, (timer.due.timestamp(), next(self._timer_seq), timer))

    def _forget(self, event: Completed) -> StepContext | None:
        """The attempt's context, removed (None if it was already: a requeued event)."""
        running = self._attempts.get(event.execution_id)
        if running is None:
            return None
        context = running.pop((event.step_id, event.epoch), None)
        if not running:
            del self._attempts[event.execution_id]
        return context

    def _cancel_attempts(self, execution_id: str, view: ExecutionView | None) -> None:
        """Tell running handlers whose attempt is no longer current (the execution was
        cancelled, expired or reset) through ``ctx.cancelled``."""
        for (sid, epoch), context in self._attempts.get(execution_id, {}).items():
            row = view.steps.get(sid) if view is not None else None
            if row is None or row.status != StepStatus.RUNNING or row.epoch != epoch:
                context.cancel()

    def _conflict(self, event: Event, old_view: ExecutionView) -> None:
        """The execution changed under us (another process): reload it and retry the event."""
        log.info("execution %s changed elsewhere; reloading", old_view.id)
        self._views.pop(old_view.id, None)
        fresh = self._load(old_view.id)
        self._cancel_attempts(old_view.id, fresh)
        if fresh is not None and not fresh.status.terminal:
            self._views[fresh.id] = fresh
            self._queue.put(event)

    def _load(self, execution_id: str) -> ExecutionView | None:
        """The execution's view, or None if it is unknown or cannot be loaded.

        A corrupted execution (bad JSON, unloadable definition) is skipped with an error
        logged, never allowed to stop the worker from serving every other execution.
        """
        if execution_id in self._quarantined:
            return None
        row = self._store.load_execution_any_tenant(execution_id)
        if row is None:
            return None
        try:
            definition = self._definitions.get(row.tenant_id, row.workflow,
                                               row.workflow_version)
            return ExecutionView.from_rows(row, definition, self._store.load_steps(row.id),
                                           self._store.load_signals(row.id))
        except (errors.StorageError, errors.DefinitionError, errors.NotFound) as exc:
            self._quarantined.add(execution_id)
            log.error("execution %s skipped: %s", execution_id, exc)
            return None

    def _choose(self, capability: str, avoid: str | None = None) -> rules.Choice | None:
        with self._book_lock:
            return self._book.choose(capability, self._clock.now(), avoid)

    def _outcome(self, execution_id: str, step_id: str, epoch: int, capability: str,
                 agent: str, ok: bool, duration_ms: float) -> None:
        with self._book_lock:
            self._book.outcome(capability=capability, agent=agent, execution_id=execution_id,
                               step_id=step_id, epoch=epoch, ok=ok, duration_ms=duration_ms,
                               now=self._clock.now())

    def _timed_out(self, timer: Timer) -> None:
        """An attempt still running at its deadline counts as a failure of its agent."""
        context = self._attempts.get(timer.execution_id, {}).get((timer.step_id, timer.epoch))
        if context is not None:
            started = self._clock.now() - context.started
            self._outcome(timer.execution_id, timer.step_id, timer.epoch, context.capability,
                          context.agent, False, started.total_seconds() * 1000.0)
