"""What ``App`` reads and reports: executions, their status, history, state versions,
routing, logs, verification, agents, workers and retention. Everything returned is a
public read-model type (``reports.records`` and the reports beside it), never a storage row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ledgerflow import definition as defs
from ledgerflow import errors
from ledgerflow.clock import Clock
from ledgerflow.definition.outline import WAITING_TYPES, StepOutline
from ledgerflow.engine.control import lookup
from ledgerflow.engine.definitions import Definitions
from ledgerflow.engine.model.lifecycle import OPERATOR_EVENTS, QUARANTINED, ExecutionStatus
from ledgerflow.engine.reports import status as reports
from ledgerflow.engine.reports.listing import Listing
from ledgerflow.engine.reports.verification import KIND, MESSAGE, Verification
from ledgerflow.ledger import values
from ledgerflow.ledger.actor import Actor
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.agent_rows import TelemetryRow
from ledgerflow.storage.base import ExecutionFilter, Store
from ledgerflow.storage.rows import ExecutionRow, StepRow

# loaded by the commands that use them (a status needs none): agent reports, the public
# records of executions and of what happened around them, the history, the verifier,
# workers and retention
if TYPE_CHECKING:
    from ledgerflow.definition.model import Definition
    from ledgerflow.engine.agents import admin
    from ledgerflow.engine.control import retention
    from ledgerflow.engine.reports import workers as worker_reports
    from ledgerflow.engine.reports.activity import BreakerTransition, LogRecord, RoutingDecision
    from ledgerflow.engine.reports.history import HistoryEntry
    from ledgerflow.engine.reports.records import DefinitionInfo, ExecutionSummary, StateVersion
    from ledgerflow.engine.reports.tombstone import Tombstone
    from ledgerflow.ledger.verify import VerifyResult

ETA_SAMPLE = 20  # completed runs of the same workflow behind an ETA
EVERY = 2**62  # a LIMIT that holds every row


class Reads:
    """The reading half of ``App`` (a mixin: ``App`` provides the attributes below)."""

    store: Store
    tenant: str
    clock: Clock
    actor: Actor
    definitions: Definitions

    def _row(self, execution_id: str) -> ExecutionRow:
        return lookup.execution_row(self.store, self.tenant, execution_id)

    # definitions and executions -------------------------------------------------------
    def workflows(self) -> list[DefinitionInfo]:
        """The latest version of every stored workflow, by name."""
        from ledgerflow.engine.reports.records import DefinitionInfo

        return [DefinitionInfo.from_row(r) for r in self.store.list_definitions(self.tenant)]

    def execution(self, execution_id: str) -> ExecutionSummary:
        """One execution; an unknown id raises ``errors.ExecutionNotFound`` (and an id
        retention removed, ``errors.ExecutionRemoved`` with its tombstone)."""
        from ledgerflow.engine.reports.records import ExecutionSummary

        return ExecutionSummary.from_row(self._row(execution_id))

    def forks(self, execution_id: str) -> list[str]:
        """Ids of the executions forked from this one."""
        return self.store.list_forks(self._row(execution_id).id)

    def status(self, execution_id: str) -> reports.ExecutionReport:
        """Progress, timing, ETA and per-step detail of an execution."""
        row = self._row(execution_id)
        expected = reports.expected_duration(
            self.store.durations(self.tenant, row.workflow, ETA_SAMPLE))
        steps = self.definitions.outline(row.tenant_id, row.workflow, row.workflow_version)
        waits = {s.id: s.signal or "" for s in steps if s.type in WAITING_TYPES}
        pending = sum(1 for g in self.store.load_signals(row.id) if g.consumed_by is None
                      and any(w == g.name for w in waits.values()))
        rows = self.store.load_steps(row.id)
        extras = reports.Extras(waits=waits, forks=self.store.list_forks(row.id),
                               signals_pending=pending, offered_by=self._offered_by(rows),
                               needs={s.id: s.needs for s in steps},
                               limited=self._limited(row, rows, steps),
                               quarantined=self._quarantined(row))
        return reports.report(row, rows, frozenset(s.id for s in steps), self.clock.now(),
                              expected, extras)

    def _quarantined(self, row: ExecutionRow) -> dict[str, str] | None:
        """Why a worker set the unfinished execution aside, if it did after its last change
        (a worker records it in telemetry: failing it could not be written either)."""
        if ExecutionStatus(row.status).terminal:
            return None
        record = self.store.last_telemetry(row.id, "error", QUARANTINED)
        if record is None or record.occurred_at < row.updated_at:
            return None
        reason = json.loads(record.fields).get("error", "")
        return {"reason": str(reason), "since": record.occurred_at}

    def _limited(self, row: ExecutionRow, rows: list[StepRow],
                 steps: Sequence[StepOutline]) -> dict[str, tuple[str, int]]:
        """The steps whose capability the worker holding the execution limits: (the
        capability, its limit) by step id (looked up only while a step is pending)."""
        from ledgerflow.engine.reports import workers as worker_reports

        if row.lease_owner is None or not any(s.status == "pending" for s in rows):
            return {}
        limits = worker_reports.limits_of(self.store, row.lease_owner)
        return {s.id: (s.agent, limits[s.agent]) for s in steps if s.agent in limits}

    def _offered_by(self, steps: list[StepRow]) -> dict[str, list[str]]:
        """Live workers offering the capabilities ``steps`` wait for (none asked: none)
        that may take this tenant's executions (its own workers, or of every tenant)."""
        from ledgerflow.engine.reports import workers as worker_reports

        wanted = {s.waiting_for for s in steps if s.waiting_for is not None}
        if not wanted:
            return {}
        found: dict[str, list[str]] = {}
        for worker in worker_reports.workers(self.store, self.clock.now()):
            for capability in wanted.intersection(worker.capabilities):
                if worker.state == "alive" and worker.tenant in (None, self.tenant):
                    found.setdefault(capability, []).append(worker.id)
        return found

    def history(self, execution_id: str, after_seq: int = 0,
                limit: int | None = None) -> list[HistoryEntry]:
        """The execution's ledger, oldest first, with the state version each entry made;
        from ``after_seq`` on, at most ``limit`` entries (None: all; a long ledger is read
        a page at a time)."""
        from ledgerflow.engine.reports.history import history_entries

        row = self._row(execution_id)
        entries = self.store.ledger_page(row.id, after_seq, EVERY if limit is None else limit)
        if not entries:
            return []
        made = self.store.versions_made(row.id, after_seq, entries[-1].seq)
        return history_entries(entries, made)

    def history_of_types(self, execution_id: str, event_types: Sequence[str],
                         newest: int = 100) -> list[HistoryEntry]:
        """The newest ``newest`` entries of the execution whose event type is one of
        ``event_types``, oldest first (its operators' commands, its signals), read without
        the rest of the ledger."""
        from ledgerflow.engine.reports.history import history_entries

        row = self._row(execution_id)
        entries = self.store.ledger_of_types(row.id, list(event_types), newest)
        if not entries:
            return []
        made = self.store.versions_made(row.id, entries[0].seq - 1, entries[-1].seq)
        return history_entries(entries, made)

    def last_control(self, execution_id: str) -> HistoryEntry | None:
        """The newest entry an operator's command recorded (pause, resume, cancel, retry,
        rerun, a state edit), if any."""
        found = self.history_of_types(execution_id, sorted(OPERATOR_EVENTS), 1)
        return found[-1] if found else None

    def state(self, execution_id: str, version: int | None = None) -> StateVersion:
        """The state document as of ``version`` (default: the current one)."""
        from ledgerflow.engine.reports.records import StateVersion

        row = self._row(execution_id)
        wanted = row.state_version if version is None else version
        found = self.store.load_state_version(row.id, wanted)
        if found is None:
            raise errors.NotFound(
                f"execution {execution_id} has no state version {wanted} "
                f"(versions 1..{row.state_version})", kind="state version", id=str(wanted),
                execution_id=row.id,
            )
        return StateVersion.from_row(found)

    def state_diff(self, execution_id: str, old: int, new: int) -> list[dict[str, Any]]:
        """The RFC 6902 JSON Patch that turns state version ``old`` into ``new``."""
        import jsonpatch

        before = self.state(execution_id, old).state
        after = self.state(execution_id, new).state
        return list(jsonpatch.make_patch(before, after).patch)

    def routing(self, execution_id: str) -> list[RoutingDecision]:
        """Every routing decision of an execution, with its outcome."""
        from ledgerflow.engine.reports.activity import RoutingDecision

        rows = self.store.load_decisions(self._row(execution_id).id)
        return [RoutingDecision.from_row(d) for d in rows]

    def logs(self, execution_id: str, after: int = 0, limit: int = 1000) -> list[LogRecord]:
        """Telemetry of an execution (step logs, events, errors, decisions), oldest first,
        from record id ``after`` on."""
        from ledgerflow.engine.reports.activity import LogRecord

        rows = self.store.read_telemetry(self._row(execution_id).id, after, limit)
        return [LogRecord.from_row(r) for r in rows]

    def newest_log_id(self, execution_id: str) -> int:
        """The id of the execution's newest telemetry record (0: none yet): ``logs(after=``
        it``)`` gives only what comes next."""
        return self.store.newest_telemetry_id(self._row(execution_id).id)

    def metrics(self, execution_id: str) -> reports.Metrics:
        """Counts and ages of an execution (steps, state versions, signals, idle time)."""
        row = self._row(execution_id)
        steps = self.definitions.outline(row.tenant_id, row.workflow, row.workflow_version)
        return reports.metrics(row, self.store.load_steps(row.id),
                               frozenset(s.id for s in steps),
                               len(self.store.load_signals(row.id)), self.clock.now())

    # retention ------------------------------------------------------------------------
    def cleanup(self, older_than: float, dry_run: bool = False) -> retention.CleanupReport:
        """Remove finished executions that ended more than ``older_than`` seconds ago, each
        replaced by a tombstone; ``dry_run`` only reports what would be removed."""
        from ledgerflow.engine.control import retention

        return retention.cleanup(self.store, self.tenant, older_than, self.clock.now(),
                                 f"{self.actor.kind}:{self.actor.id}", dry_run)

    def tombstones(self) -> list[Tombstone]:
        """What retention removed from this tenant, oldest removal first."""
        from ledgerflow.engine.reports.tombstone import Tombstone

        return [Tombstone.from_row(t) for t in self.store.list_tombstones(self.tenant)]

    # verification ---------------------------------------------------------------------
    def verify(self, execution_id: str) -> VerifyResult:
        """Recompute one execution's chain. An id removed by retention raises
        ``errors.ExecutionRemoved``, whose message and ``tombstone`` say how it ended."""
        return self._verify_row(self._row(execution_id))

    def verify_all(self) -> Iterator[VerifyResult]:
        """Recompute every chain of this tenant, one execution at a time."""
        for row in self.store.iter_executions(self.tenant):
            yield self._verify_row(row)

    def record_verification(self, checked: int, failures: Sequence[VerifyResult], *,
                            scope: str = "all") -> Verification:
        """Keep what a verification run found: ``checked`` executions, the results of those
        not intact (``scope``: ``all`` of the tenant's executions or ``some``), for
        ``last_verification`` (the dashboard's overview)."""
        run = Verification.of(format_timestamp(self.clock.now()), checked, failures, scope,
                              self.actor.id)
        self.store.write_tenant_telemetry(self.tenant, TelemetryRow(
            kind=KIND, execution_id=None, step_id=None, message=MESSAGE, fields=run.fields(),
            occurred_at=run.at))
        return run

    def last_verification(self) -> Verification | None:
        """The tenant's last verification run that was recorded (None: none yet)."""
        found = self.store.last_tenant_telemetry(self.tenant, KIND, MESSAGE)
        return None if found is None else Verification.from_record(found.occurred_at,
                                                                   found.fields)

    def _verify_row(self, row: ExecutionRow) -> VerifyResult:
        from ledgerflow.ledger.verify import ExecutionHead, verify_execution

        head = ExecutionHead(execution_id=row.id, tenant_id=row.tenant_id,
                             head_seq=row.head_seq, head_hash=row.head_hash,
                             state_sha256=row.state_sha256)
        try:
            state = values.decode(row.state)
        except ValueError:
            state = row.state
        return verify_execution(head, self.store.load_ledger(row.id), state,
                                self.store.list_state_versions(row.id))

    # agents and workers -------------------------------------------------------------------
    def agents(self) -> list[admin.AgentInfo]:
        """Agents of live workers with their breakers and statistics."""
        from ledgerflow.engine.agents import admin

        return admin.agents(self.store, self.clock.now())

    def workers(self, *, everyone: bool = False) -> list[worker_reports.WorkerInfo]:
        """Workers alive or stopping, what each holds and runs (``everyone``: all)."""
        from ledgerflow.engine.reports import workers as worker_reports

        return worker_reports.workers(self.store, self.clock.now(), everyone=everyone)

    def capabilities(self, workflow: str) -> list[str]:
        """The capabilities the latest version of ``workflow`` asks for (its task steps
        and signal handlers), sorted; an unknown name is ``errors.WorkflowNotFound``."""
        row = self.definitions.row(self.tenant, workflow)
        definition = self.definitions.get(self.tenant, row.name, row.version)
        asked = {s.agent for s in definition.steps if s.agent is not None}
        asked.update(h.agent for handlers in definition.on.values() for h in handlers)
        return sorted(asked)

    def reset_breaker(self, agent: str, capability: str | None = None,
                      reason: str | None = None) -> list[BreakerTransition]:
        """Close an agent's breaker by hand (recorded with this app's actor and
        ``reason``)."""
        from ledgerflow.engine.agents import admin
        from ledgerflow.engine.reports.activity import BreakerTransition

        moved = admin.reset(self.store, agent, capability, self.actor.id, self.clock.now(),
                            reason)
        return [BreakerTransition.from_row(t) for t in moved]

    def recalculate_stats(self, write: bool = False) -> list[admin.Recalculated]:
        """Check every agent's stored statistics against the ones rebuilt from the stored
        decisions (one agent per item, ``agree`` or what ``differs``); writes nothing.
        ``write``: a repair, the rebuilt statistics replace the stored ones."""
        from ledgerflow.engine.agents import admin

        return admin.recalculate(self.store, write=write, now=self.clock.now())

    # served over HTTP ---------------------------------------------------------------------
    def definition(self, name: str, version: int | None = None) -> DefinitionInfo:
        """One stored version of workflow ``name`` (default: the latest), with its spec."""
        from ledgerflow.engine.reports.records import DefinitionInfo

        return DefinitionInfo.from_row(self.definitions.row(self.tenant, name, version))

    def load_definition(self, text: str, fmt: str = "yaml") -> Definition:
        """Parse and validate a definition's text (``fmt``: ``yaml`` or ``json``) without
        storing it; ``errors.DefinitionError`` lists every problem with its path."""
        return defs.load_text(text, "<body>", "json" if fmt == "json" else "yaml")

    def breaker_transitions(self, agent: str, limit: int = 100) -> list[BreakerTransition]:
        """The latest moves of ``agent``'s breakers, oldest first."""
        from ledgerflow.engine.reports.activity import BreakerTransition

        rows = self.store.breaker_transitions(limit=max(limit, 1000))
        return [BreakerTransition.from_row(r) for r in rows if r.agent == agent][-limit:]

    def head_seq(self, execution_id: str) -> int | None:
        """The newest ledger seq of the execution with this exact id (None: none such)."""
        row = self.store.load_execution(self.tenant, execution_id)
        return None if row is None else row.head_seq

    def page(self, listing: Listing) -> list[ExecutionSummary]:
        """One page of this tenant's executions, in the listing's order after its cursor."""
        from ledgerflow.engine.reports.records import ExecutionSummary

        rows = self.store.list_executions(listing.of_tenant(self.tenant))
        return [ExecutionSummary.from_row(r) for r in rows]

    def count(self, listing: Listing) -> dict[str, int]:
        """How many of this tenant's executions the listing takes (its cursor and limit
        aside), by status."""
        return self.store.count_executions(listing.of_tenant(self.tenant))

    # last in the class: the name shadows the builtin in annotations after it
    def list(self, *, status: str | None = None, workflow: str | None = None,
             limit: int = 50) -> list[ExecutionSummary]:
        """This tenant's executions, newest first."""
        from ledgerflow.engine.reports.records import ExecutionSummary

        rows = self.store.list_executions(
            ExecutionFilter(tenant_id=self.tenant, status=status, workflow=workflow,
                            limit=limit)
        )
        return [ExecutionSummary.from_row(r) for r in rows]
