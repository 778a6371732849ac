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
"""

from __future__ import annotations

import copy
import getpass
import json
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import json_merge_patch
import jsonpatch

from ledgerflow import errors
from ledgerflow.clock import Clock, SystemClock
from ledgerflow.engine.agents import admin
from ledgerflow.engine.agents.registry import DEFAULT_REGISTRY, AgentRegistry, F
from ledgerflow.engine.control import editing, retention
from ledgerflow.engine.control.commands import Controller
from ledgerflow.engine.definitions import Applied, Definitions, DefinitionSource
from ledgerflow.engine.model.transition import Transition, sha256_text, text
from ledgerflow.engine.reports import status
from ledgerflow.engine.reports import workers as worker_reports
from ledgerflow.engine.reports.history import HistoryEntry, history_entries
from ledgerflow.engine.reports.status import Metrics
from ledgerflow.engine.rules import actions, flow, starting
from ledgerflow.engine.worker.leases import LeaseOptions
from ledgerflow.engine.worker.loop import Listener, Worker, WorkerOptions, WorkerReport
from ledgerflow.ledger.chain import Actor
from ledgerflow.ledger.verify import ExecutionHead, VerifyResult, verify_execution
from ledgerflow.settings import Settings
from ledgerflow.storage import open_store
from ledgerflow.storage.base import ExecutionFilter
from ledgerflow.storage.rows import (
    DecisionRow,
    DefinitionRow,
    ExecutionRow,
    StateVersionRow,
    TelemetryRow,
    TombstoneRow,
    parse_column,
)

DEFAULT_TENANT = "default"
ETA_SAMPLE = 20  # completed runs of the same workflow behind an ETA


def default_actor(kind: str) -> Actor:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return Actor(kind=kind, id=f"{user}@{socket.gethostname()}")


def worker_actor() -> Actor:
    return Actor(kind="worker", id=f"{socket.gethostname()}:{os.getpid()}")


class App:
    """One tenant's view of one database, with the agents this process offers."""

    def __init__(self, db_url: str | None = None, *, tenant: str = DEFAULT_TENANT,
                 clock: Clock | None = None, actor: Actor | None = None,
                 settings: Settings | None = None, migrate: bool = False) -> None:
        self.settings = settings or Settings.from_env()
        self.db_url = db_url or self.settings.db_url
        self.tenant = tenant
        self.clock: Clock = clock or SystemClock()
        self.actor = actor or default_actor("python")
        self.store = open_store(self.db_url, migrate=migrate)
        self.definitions = Definitions(self.store, self.clock)
        self.registry = AgentRegistry(parents=[DEFAULT_REGISTRY])
        self._worker: Worker | None = None
        self.control = Controller(self.store, self.definitions, self.clock, self.actor, tenant)

    # lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        self.store.close()

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

    def workflows(self) -> list[DefinitionRow]:
        return self.store.list_definitions(self.tenant)

    # executions -----------------------------------------------------------------------
    def start(self, workflow: str, input: Any = None, *, execution_id: str | None = None,
              version: int | None = None, ttl: float | None = None) -> str:
        """Start an execution and return its id once it is committed.

        ``ttl`` (seconds; else the definition's ``ttl``) makes it a session that expires
        unless it finishes by then.

        With ``execution_id`` the call is idempotent: the same id and input return the
        existing execution; the same id with a different input raises IdempotencyConflict.
        """
        value = {} if input is None else input
        try:
            input_sha = sha256_text(text(value))
        except Exception as exc:
            raise errors.InputValidationError(
                f"input is not JSON-serialisable: {type(exc).__name__}: {exc}"
            ) from exc
        execution_id = execution_id or str(uuid.uuid4())
        existing = self._existing(execution_id, input_sha)
        if existing is not None:
            return existing
        row = self.definitions.row(self.tenant, workflow, version)
        definition = self.definitions.get(self.tenant, row.name, row.version)
        starting.validate_input(definition, value)
        change = starting.new_execution(
            tenant_id=self.tenant, execution_id=execution_id, row=row, definition=definition,
            input=value, now=self.clock.now(), actor=self.actor, ttl=ttl,
        )
        worker = self._worker if self._worker is not None and self._worker.ready else None
        if worker is None:
            ok = self.store.commit([change])[0]
        else:
            # a worker runs in this process: start running in the same transaction
            change, activation = worker.activation(change, definition)
            ok = all(self.store.commit([change, activation.change]))
        if not ok:
            existing = self._existing(execution_id, input_sha)
            if existing is None:
                raise errors.IdempotencyConflict(f"execution id {execution_id!r} is in use")
            return existing
        if worker is not None:
            worker.adopt(activation)
        return execution_id

    def _existing(self, execution_id: str, input_sha: str) -> str | None:
        row = self.store.load_execution_any_tenant(execution_id)
        if row is None:
            return None
        if row.tenant_id != self.tenant:
            raise errors.IdempotencyConflict(f"execution id {execution_id!r} is in use")
        if row.input_sha256 != input_sha:
            raise errors.IdempotencyConflict(
                f"execution {execution_id} already exists with a different input; "
                "start with the same input to get it back, or use a new id"
            )
        return row.id

    def worker(self, *, concurrency: int | None = None, until_idle: bool = False,
               listener: Listener | None = None, lease_seconds: float | None = None) -> Worker:
        options = WorkerOptions(
            leases=LeaseOptions(seconds=lease_seconds or self.settings.lease_seconds),
            concurrency=concurrency or self.settings.concurrency,
            recovery_limit=self.settings.recovery_limit,
            poll_interval=self.settings.poll_interval,
            until_idle=until_idle,
            telemetry_capacity=self.settings.telemetry_capacity,
        )
        return Worker(self.store, self.definitions, self.registry, self.clock,
                      worker_actor(), options, listener)

    def run_until_idle(self, *, concurrency: int | None = None,
                       listener: Listener | None = None) -> WorkerReport:
        """Work in this thread until no execution can progress."""
        worker = self.worker(concurrency=concurrency, until_idle=True, listener=listener)
        self._worker = worker
        try:
            return worker.run()
        finally:
            self._worker = None

    # control: every action is a ledger entry with this app's actor ------------------------
    def pause(self, execution_id: str, reason: str | None = None) -> None:
        """No new step is dispatched once this returns; running steps finish and record."""
        self.control.apply(execution_id, "pause", lambda tr: actions.pause(tr, reason))

    def resume(self, execution_id: str, reason: str | None = None,
               from_step: str | None = None) -> None:
        """Continue where it stopped, or reset ``from_step`` and its dependents first."""
        self.control.apply(execution_id, "resume",
                           lambda tr: actions.resume(tr, reason, from_step))

    def cancel(self, execution_id: str, reason: str | None = None) -> bool:
        """End it ``cancelled`` (False if it already was). Running handlers see
        ``ctx.cancelled``."""
        return self.control.apply(execution_id, "cancel", lambda tr: actions.cancel(tr, reason))

    def retry(self, execution_id: str, reason: str | None = None) -> list[str]:
        """Run the failed steps of a failed execution again; returns their ids."""
        return self.control.apply(execution_id, "retry", lambda tr: actions.retry(tr, reason))

    def rerun(self, execution_id: str, from_step: str, reason: str | None = None) -> list[str]:
        """Run ``from_step`` and its dependents of a finished execution again."""
        return self.control.apply(execution_id, "rerun",
                                  lambda tr: actions.rerun(tr, from_step, reason))

    def fork(self, execution_id: str, at_seq: int | None = None,
             input_patch: Any = None) -> str:
        """A new execution from the state as of ledger entry ``at_seq``; returns its id."""
        return self.control.fork(execution_id, at_seq, input_patch)

    def forks(self, execution_id: str) -> list[str]:
        return self.store.list_forks(self.execution(execution_id).id)

    def signal(self, execution_id: str, name: str, data: Any = None) -> None:
        """Store a signal for the execution's wait steps and handlers."""
        value = {} if data is None else data
        self.control.apply(execution_id, "signal",
                           lambda tr: actions.signal(tr, name, value), strict=False)

    def set_state(self, execution_id: str, path: str, value: Any,
                  reason: str | None = None) -> int:
        """Set ``path`` (dotted) in the state of a paused execution; the new state version."""
        keys = [k for k in path.split(".") if k]
        if not keys:
            raise errors.InputValidationError("a state path such as 'case.risk' is required")

        def edit(tr: Transition) -> int:
            new = editing.set_path(tr.state, keys, value)
            actions.edit_state(tr, new, {"set": path, "value": value}, reason)
            return tr.view.row.state_version + 1
        return self.control.apply(execution_id, "edit the state of", edit)

    def patch_state(self, execution_id: str, patch: Any, reason: str | None = None) -> int:
        """Apply a JSON merge patch (RFC 7386) to the state of a paused execution."""
        def edit(tr: Transition) -> int:
            new = json_merge_patch.merge(copy.deepcopy(tr.state), patch)
            actions.edit_state(tr, new, {"merge_patch": patch}, reason)
            return tr.view.row.state_version + 1
        return self.control.apply(execution_id, "edit the state of", edit)

    # reading --------------------------------------------------------------------------
    def execution(self, execution_id: str) -> ExecutionRow:
        return self.control.row(execution_id)

    def status(self, execution_id: str) -> status.ExecutionReport:
        row = self.execution(execution_id)
        expected = status.expected_duration(
            self.store.durations(self.tenant, row.workflow, ETA_SAMPLE))
        definition = self.definitions.get(row.tenant_id, row.workflow, row.workflow_version)
        waits = {s.id: s.options.get("signal", "") for s in definition.steps
                 if s.type in flow.WAITING_TYPES}
        pending = sum(1 for g in self.store.load_signals(row.id) if g.consumed_by is None
                      and any(w == g.name for w in waits.values()))
        extras = status.Extras(waits=waits, forks=self.store.list_forks(row.id),
                               signals_pending=pending)
        return status.report(row, self.store.load_steps(row.id), self.clock.now(), expected,
                             extras)

    def history(self, execution_id: str) -> list[HistoryEntry]:
        row = self.execution(execution_id)
        return history_entries(self.store.load_ledger(row.id),
                               self.store.list_state_versions(row.id))

    def state(self, execution_id: str, version: int | None = None) -> StateVersionRow:
        row = self.execution(execution_id)
        wanted = row.state_version if version is None else version
        found = self.store.load_state_version(row.id, wanted)
        if found is None:
            raise errors.NotFound(
                f"execution {execution_id} has no state version {wanted} "
                f"(versions 1..{row.state_version})"
            )
        return found

    def state_diff(self, execution_id: str, old: int, new: int) -> list[dict[str, Any]]:
        """The RFC 6902 JSON Patch that turns state version ``old`` into ``new``."""
        before = parse_column(self.state(execution_id, old).state, f"state version {old}")
        after = parse_column(self.state(execution_id, new).state, f"state version {new}")
        return list(jsonpatch.make_patch(before, after).patch)

    # retention ------------------------------------------------------------------------
    def cleanup(self, older_than: float, dry_run: bool = False) -> retention.CleanupReport:
        """Remove finished executions that ended more than ``older_than`` seconds ago, each
        replaced by a tombstone; ``dry_run`` only reports what would be removed."""
        return retention.cleanup(self.store, self.tenant, older_than, self.clock.now(),
                                 f"{self.actor.kind}:{self.actor.id}", dry_run)

    def tombstones(self) -> list[TombstoneRow]:
        """What retention removed from this tenant, oldest removal first."""
        return self.store.list_tombstones(self.tenant)

    # verification ---------------------------------------------------------------------
    def verify(self, execution_id: str) -> VerifyResult:
        """Recompute one execution's chain. An id removed by retention raises
        ``errors.ExecutionRemoved``, whose message and ``tombstone`` say how it ended."""
        return self._verify_row(self.execution(execution_id))

    def verify_all(self) -> Iterator[VerifyResult]:
        for row in self.store.iter_executions(self.tenant):
            yield self._verify_row(row)

    def _verify_row(self, row: ExecutionRow) -> VerifyResult:
        head = ExecutionHead(execution_id=row.id, tenant_id=row.tenant_id,
                             head_seq=row.head_seq, head_hash=row.head_hash,
                             state_sha256=row.state_sha256)
        try:
            state = json.loads(row.state)
        except ValueError:
            state = row.state
        return verify_execution(head, self.store.load_ledger(row.id), state,
                                self.store.list_state_versions(row.id))

    # agents ------------------------------------------------------------------------------
    def agents(self) -> list[admin.AgentInfo]:
        """Agents of live workers with their breakers and statistics."""
        return admin.agents(self.store, self.clock.now())

    def workers(self, *, everyone: bool = False) -> list[worker_reports.WorkerInfo]:
        """Workers alive or stopping, what each holds and runs (``everyone``: all)."""
        return worker_reports.workers(self.store, self.clock.now(), everyone=everyone)

    def reset_breaker(self, agent: str, capability: str | None = None) -> list[Any]:
        """Close an agent's breaker by hand (recorded with this app's actor)."""
        return admin.reset(self.store, agent, capability, self.actor.id,
                                 self.clock.now())

    def recalculate_stats(self, write: bool = True) -> list[admin.Recalculated]:
        """Rebuild agent statistics from the stored decisions and compare."""
        return admin.recalculate(self.store, write=write, now=self.clock.now())

    def routing(self, execution_id: str) -> list[DecisionRow]:
        """Every routing decision of an execution, with its outcome."""
        return self.store.load_decisions(self.execution(execution_id).id)

    def logs(self, execution_id: str, after: int = 0, limit: int = 1000) -> list[TelemetryRow]:
        """Telemetry of an execution (step logs, events, errors, decisions), oldest first."""
        return self.store.read_telemetry(self.execution(execution_id).id, after, limit)

    def metrics(self, row: ExecutionRow) -> Metrics:
        """Counts and ages of an execution (steps, state versions, signals, idle time)."""
        return status.metrics(row, self.store.load_steps(row.id),
                              len(self.store.load_signals(row.id)), self.clock.now())

    # last in the class: the name shadows the builtin in annotations after it
    def list(self, *, status: str | None = None, workflow: str | None = None,
             limit: int = 50) -> list[ExecutionRow]:
        return self.store.list_executions(
            ExecutionFilter(tenant_id=self.tenant, status=status, workflow=workflow,
                            limit=limit)
        )
