"""``App``: the engine as a Python object. The CLI, and later the API, are thin faces over it.

::

    app = ledgerflow.App("sqlite:///ledgerflow.db")

    @app.agent("kyc.verify")
    def verify(ctx, data):
        return {"verified": True}

    app.apply("onboarding.yaml")
    execution_id = app.start("onboarding", input={"entity_type": "CORPORATE"})
    app.run_until_idle()
    print(app.status(execution_id).status)

or with a worker in a background thread, waiting for results::

    with ledgerflow.App("sqlite:///ledgerflow.db") as app:
        app.launch()
        execution_id = app.start("onboarding", input={"entity_type": "CORPORATE"})
        print(app.result(execution_id))            # or app.run("onboarding", input=...)

An ``App`` is one tenant's view of one store. Give it a URL (it opens and later closes the
store) or an open ``Store`` (shared: closing the app leaves it open), and
``app.for_tenant(name)`` for another tenant's view over the same store, definition cache
and agents, so one process can serve many tenants with one connection pool.
"""

from __future__ import annotations

import copy
import getpass
import os
import platform
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ledgerflow import definition as defs
from ledgerflow import errors
from ledgerflow.clock import Clock, SystemClock
from ledgerflow.definition import limits
from ledgerflow.engine.app.operating import Operating
from ledgerflow.engine.app.reads import Reads
from ledgerflow.engine.definitions import Applied, Definitions, DefinitionSource
from ledgerflow.engine.model.lifecycle import ExecutionStatus
from ledgerflow.ledger import values
from ledgerflow.ledger.actor import Actor
from ledgerflow.settings import Settings
from ledgerflow.storage import open_store
from ledgerflow.storage.base import Store

# Reads load none of these: agents (and routing), waiting for results, the operator rules
# and the worker are imported where they are first used (a read's start-up stays short)
if TYPE_CHECKING:
    from ledgerflow.access.service import Access
    from ledgerflow.engine.agents.registry import AgentRegistry, F
    from ledgerflow.engine.app import running
    from ledgerflow.engine.control.commands import Controller
    from ledgerflow.engine.model.view import ExecutionView
    from ledgerflow.engine.reports.records import ExecutionUpdate
    from ledgerflow.engine.worker.loop import Worker, WorkerReport
    from ledgerflow.telemetry.metrics import Prometheus

DEFAULT_TENANT = "default"


def default_actor(kind: str) -> Actor:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return Actor(kind=kind, id=f"{user}@{platform.node()}")


def worker_actor() -> Actor:
    return Actor(kind="worker", id=f"{platform.node()}:{os.getpid()}")


class App(Reads, Operating):
    """One tenant's view of one database, with the agents this process offers.

    Every method that takes an ``execution_id`` takes an unambiguous prefix of 8 or more
    characters of it too (an exact id wins); a prefix several of the tenant's ids start
    with raises ``errors.AmbiguousExecutionId``, a ``NotFound`` listing ``candidates``."""

    def __init__(self, store_or_url: Store | str | None = None, *,
                 tenant: str = DEFAULT_TENANT, clock: Clock | None = None,
                 actor: Actor | str | None = None, settings: Settings | None = None,
                 migrate: bool = False) -> None:
        self.settings = settings or Settings.from_env()
        self.clock: Clock = clock or SystemClock()
        # a string names the kind of actor (``"cli"``): this user on this host
        self.actor = default_actor(actor or "python") if not isinstance(actor, Actor) else actor
        if isinstance(store_or_url, str | None):
            self.store: Store = open_store(store_or_url or self.settings.db_url,
                                           migrate=migrate)
            self._owns_store = True
        else:
            self.store = store_or_url
            self._owns_store = False
        self.db_url = self.store.url
        self.definitions = Definitions(self.store, self.clock)
        self._registry: AgentRegistry | None = None
        self._worker: Worker | None = None  # the worker running in this process, if any
        self._launched: running.Launched | None = None  # the one ``launch`` started
        self._waits: running.Results | None = None
        self._bind(tenant)

    def _bind(self, tenant: str) -> None:
        self.tenant = tenant
        self._controller: Controller | None = None

    @property
    def registry(self) -> AgentRegistry:
        """The agents this app offers (besides those registered with ``ledgerflow.agent``)."""
        from ledgerflow.engine.agents.registry import DEFAULT_REGISTRY, AgentRegistry

        if self._registry is None:
            self._registry = AgentRegistry(parents=[DEFAULT_REGISTRY])
        return self._registry

    @property
    def _results(self) -> running.Results:
        from ledgerflow.engine.app import running

        if self._waits is None:
            self._waits = running.Results(self.settings.poll_interval)
        return self._waits

    @property
    def _commands(self) -> Controller:
        from ledgerflow.engine.control.commands import Controller

        if self._controller is None:
            self._controller = Controller(self.store, self.definitions, self.clock, self.actor,
                                          self.tenant)
        return self._controller

    @property
    def access(self) -> Access:
        """Tenants and API tokens of this database (``ledgerflow.access``)."""
        from ledgerflow.access.service import Access

        return Access(self.store, self.clock, f"{self.actor.kind}:{self.actor.id}")

    def for_tenant(self, tenant: str, *, actor: Actor | None = None) -> App:
        """This app as seen by ``tenant``: the same database, definition cache, agents
        and clock, and its actor unless ``actor`` (who its commands are recorded as) is
        given; every read and write is scoped to ``tenant``, by its queries and, on
        PostgreSQL, by row-level security too (``Store.scoped``). Closing the view leaves
        the store open (its owner closes it)."""
        _ = self.registry, self._results  # made now, so the view shares them
        view = copy.copy(self)
        view._owns_store = False
        view._worker = None
        view._launched = None
        view.store = self.store.scoped(tenant)
        if actor is not None:
            view.actor = actor
        view._bind(tenant)
        return view

    # lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the worker ``launch`` started (its running handlers finish and commit
        first), then close the store if this app opened it (an app given a ``Store``
        leaves it open)."""
        self._stop_launched()
        if self._owns_store:
            self.store.close()

    def launch(self, concurrency: int | None = None,
               limits: Mapping[str, int] | None = None, *, all_tenants: bool = False) -> App:
        """Start a worker in a background thread of this process and return once it is
        ready: from then on ``start`` begins an execution at once (``concurrency``,
        ``limits`` and ``all_tenants`` as ``worker`` takes them). Idempotent (while a
        worker runs in this app, returns without starting another); ``close`` (or leaving
        ``with app:``) stops it. Returns the app."""
        from ledgerflow.engine.app import running

        if self._launched is None and (self._worker is None or not self._worker.ready):
            launched = running.Launched(self.worker(concurrency=concurrency, limits=limits,
                                                    all_tenants=all_tenants),
                                        on_end=self._results.nudge)
            self._worker, self._launched = launched.worker, launched
            try:
                launched.start()
            except BaseException:
                self._stop_launched()
                raise
        return self

    def _stop_launched(self) -> None:
        launched, self._launched = self._launched, None
        if launched is not None:
            if self._worker is launched.worker:
                self._worker = None
            launched.stop()

    def __enter__(self) -> App:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # agents and definitions -----------------------------------------------------------
    def agent(self, capability: str, *, name: str | None = None, priority: int = 0,
              **options: Any) -> Callable[[F], F]:
        """Decorator registering a handler for ``capability`` in this app."""
        return self.registry.agent(capability, name=name, priority=priority, **options)

    def apply(self, source: DefinitionSource) -> Applied:
        """Store a definition (file path, mapping or built ``Definition``) as a version."""
        return self.definitions.apply(self.tenant, source)

    # executions -----------------------------------------------------------------------
    def start(self, workflow: str, input: Any = None, *, execution_id: str | None = None,
              version: int | None = None, ttl: float | None = None) -> str:
        """Start an execution and return its id once it is committed.

        ``ttl`` (seconds; else the definition's ``ttl``) makes it a session that expires
        unless it finishes by then.

        With ``execution_id`` the call is idempotent: the same id and input return the
        existing execution; the same id with a different input raises IdempotencyConflict.
        """
        from ledgerflow.engine.model.ids import new_execution_id
        from ledgerflow.engine.model.transition import value_sha256
        from ledgerflow.engine.rules import starting

        given = {} if input is None else input
        limits.check_value(given, "input")
        value = values.accept(given, "input", "the input")
        if ttl is not None:
            limits.check_duration(ttl, "ttl")
        input_sha = value_sha256(value)
        if execution_id is None:  # a fresh id cannot be taken: nothing to look up
            execution_id = new_execution_id()
        else:
            starting.check_id(execution_id)
            existing = self._existing(execution_id, input_sha)
            if existing is not None:
                return existing
        row = self.definitions.row(self.tenant, workflow, version)
        definition = self.definitions.get(self.tenant, row.name, row.version)
        defs.check_input(definition, value)
        change = starting.new_execution(
            tenant_id=self.tenant, execution_id=execution_id, row=row, definition=definition,
            input=value, now=self.clock.now(), actor=self.actor, ttl=ttl,
        )
        worker = self._worker if self._worker is not None and self._worker.ready \
            and self._worker.serves(self.tenant) else None
        if worker is None:
            ok = self.store.commit([change])[0]
        else:
            # a worker runs in this process: start running in the same transaction
            change, activation = worker.activation(change, definition)
            ok = all(self.store.commit([change, activation.change]))
        if not ok:
            existing = self._existing(execution_id, input_sha)
            if existing is None:
                raise errors.IdempotencyConflict(f"execution id {execution_id!r} is in use",
                                                 execution_id=execution_id)
            return existing
        if worker is not None:
            worker.adopt(activation)
        return execution_id

    def result(self, execution_id: str, timeout: float | None = None) -> Any:
        """Wait until the execution ends and return its result (the output of its last
        step, or of each last step by id when the graph has several ends).

        Raises ``errors.ExecutionFailed`` when it ends failed, cancelled or expired
        (``status``, ``step_id``, ``error`` say how), and ``errors.ResultTimeout`` (a
        ``TimeoutError``) when ``timeout`` seconds pass first (None: wait as long as it
        takes; a paused or waiting execution is waited for). It wakes as soon as a worker
        of this app commits the end, and looks at the database every poll interval for
        an end committed by another process's worker."""
        from ledgerflow.engine.app import running
        from ledgerflow.engine.reports.records import ExecutionSummary

        heard = self._results.heard_so_far()  # before the read: no end is missed after it
        row = self._row(execution_id)
        ended = self._results.wait(row, heard, lambda: self._row(row.id), self._launch_error,
                                   timeout)
        if ended.status == ExecutionStatus.COMPLETED:
            return ExecutionSummary.from_row(ended).result
        raise running.failure(ended, self.store.load_ledger(ended.id))

    def run(self, workflow: str, input: Any = None, *, execution_id: str | None = None,
            timeout: float | None = None) -> Any:
        """Start an execution of ``workflow`` and return its result (see ``result`` for
        the errors). Without a worker running in this app, one is launched for the call
        and stopped afterwards; ``timeout`` bounds the wait, not the start."""
        launching = self._launched is None and (self._worker is None or not self._worker.ready)
        if launching:
            self.launch()
        try:
            return self.result(self.start(workflow, input, execution_id=execution_id),
                               timeout)
        finally:
            if launching:
                self._stop_launched()

    def _launch_error(self) -> Exception | None:
        return None if self._launched is None else self._launched.error

    def _existing(self, execution_id: str, input_sha: str) -> str | None:
        row = self.store.load_execution_any_tenant(execution_id)
        if row is None:
            return None
        if row.tenant_id != self.tenant:
            raise errors.IdempotencyConflict(f"execution id {execution_id!r} is in use",
                                             execution_id=execution_id)
        if row.input_sha256 != input_sha:
            raise errors.IdempotencyConflict(
                f"execution {execution_id} already exists with a different input; "
                "start with the same input to get it back, or use a new id",
                execution_id=execution_id,
            )
        return row.id

    def worker(self, *, concurrency: int | None = None, until_idle: bool = False,
               listener: Callable[[ExecutionUpdate], None] | None = None,
               lease_seconds: float | None = None, stop_grace: float | None = None,
               limits: Mapping[str, int] | None = None,
               metrics: Prometheus | None = None, all_tenants: bool = False) -> Worker:
        """A worker over this app's store and agents (``run()`` it, ``stop()`` it) that
        works this app's tenant's executions, or every tenant's with ``all_tenants`` (a
        shared pool; on SQLite it needs the database to itself, while workers of different
        tenants run side by side). The agents serve whichever tenant it works.
        ``listener`` hears an ``ExecutionUpdate`` after each commit that changed an
        execution; ``stop_grace``: seconds running handlers get to finish once stopped
        (default 30); ``limits``: {capability: N}, at most N steps of it run at once
        (within ``concurrency``), the others wait for a slot of it (``ConfigurationError``
        unless N >= 1 and an agent of this app offers the capability); ``metrics``: the
        Prometheus counters it updates as it commits (``ledgerflow.telemetry.metrics``)."""
        # the worker (threads, leases, breakers, the router) loads only when this process
        # works: reads and operator commands never pay for it
        from ledgerflow.engine.worker.loop import (
            STOP_GRACE,
            LeaseOptions,
            Worker,
            WorkerOptions,
            checked_limits,
        )

        options = WorkerOptions(
            leases=LeaseOptions(seconds=lease_seconds or self.settings.lease_seconds),
            concurrency=concurrency or self.settings.concurrency,
            limits=checked_limits(limits, self.registry.capabilities()),
            recovery_limit=self.settings.recovery_limit,
            poll_interval=self.settings.poll_interval,
            until_idle=until_idle,
            telemetry_capacity=self.settings.telemetry_capacity,
            stop_grace=STOP_GRACE if stop_grace is None else stop_grace,
            metrics=metrics,
            tenant=None if all_tenants else self.tenant,
        )
        hear = _updates_to(self._results, listener)
        return Worker(self.store, self.definitions, self.registry, self.clock,
                      worker_actor(), options, hear)

    def run_until_idle(self, *, concurrency: int | None = None,
                       listener: Callable[[ExecutionUpdate], None] | None = None,
                       limits: Mapping[str, int] | None = None,
                       all_tenants: bool = False) -> WorkerReport:
        """Work in this thread until no execution of this app's tenant (of any tenant
        with ``all_tenants``) can progress."""
        worker = self.worker(concurrency=concurrency, until_idle=True, listener=listener,
                             limits=limits, all_tenants=all_tenants)
        self._worker = worker
        try:
            return worker.run()
        finally:
            self._worker = None


def _updates_to(results: running.Results, listener: Callable[[ExecutionUpdate], None] | None,
                ) -> Callable[[ExecutionView], None]:
    from ledgerflow.engine.reports.records import ExecutionUpdate

    def hear(view: ExecutionView) -> None:
        results.heard(view)  # whoever waits for a result wakes at once
        if listener is not None:
            listener(ExecutionUpdate.from_view(view))
    return hear
