"""The storage contract. Every backend implements ``Store``; one test suite checks them all.

Atomicity: ``commit`` applies a batch of ``Change`` objects in ONE database transaction
(group commit). Each change is guarded by the execution's optimistic ``expected_version``
(or, for a new execution, by the id being unused — a tombstone's id counts as used). A
change whose guard fails is rolled back alone (savepoint) and reported ``False``; the others
commit. Nothing is visible to readers before ``commit`` returns, and once it returns ``True``
for a change that change is durable (at the backend's configured synchronous level).

Not found: ``load_*`` methods return ``None`` for an unknown id or an id of another tenant;
they never raise ``NotFound`` (the engine decides what "not found" means to a user).

Ledger rows are append-only: the schema refuses UPDATE, DELETE and replacing inserts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from ledgerflow.storage.access_contract import AccessContract

# what the engine hands a store, re-exported: the contract's callers import it from here
from ledgerflow.storage.changes import AgentWrites as AgentWrites
from ledgerflow.storage.changes import Change as Change
from ledgerflow.storage.changes import ExecutionFilter as ExecutionFilter
from ledgerflow.storage.locks import WorkerLock
from ledgerflow.storage.rows import (
    DecisionRow,
    DefinitionRow,
    ExecutionRow,
    ExecutionRows,
    LedgerRow,
    SignalRow,
    StateVersionRow,
    StepRow,
    TombstoneRow,
)

if TYPE_CHECKING:  # annotations only: the rows load on first use (``rows``)
    from ledgerflow.storage.agent_rows import (
        AgentRow,
        BreakerRow,
        BreakerTransitionRow,
        ClaimRow,
        HeartbeatRow,
        StatsRow,
        StatsSnapshot,
        TelemetryRow,
        WorkerRow,
    )
    from ledgerflow.storage.migrations import Migration
    from ledgerflow.storage.notices import LedgerNotice


class Closer(Protocol):
    def close(self) -> None: ...


class Store(AccessContract, Protocol):
    """What the engine needs from a database (tenants, tokens and idempotency keys:
    ``AccessContract``)."""

    url: str

    def close(self) -> None:
        """Release connections. The store is unusable afterwards."""
        ...

    def scoped(self, tenant_id: str) -> Store:
        """This store limited to ``tenant_id`` by the database itself where it can
        (PostgreSQL row-level security: each connection it uses says the tenant, and a row
        of another tenant is neither seen nor written); this same store where it cannot
        (SQLite). The backstop of the tenant filter every query has; it shares the
        connections of this store, whose owner closes them."""
        ...

    def worker_lock(self, tenant_id: str | None = None) -> WorkerLock:
        """The lock a worker holds while it drives an embedded database's executions of
        ``tenant_id`` (None: of every tenant). Locks of different tenants may be held
        together; the lock of every tenant excludes all the others."""
        ...

    def pending_migrations(self) -> list[Migration]:
        """The migrations the database lacks, read from it now (a readiness check)."""
        ...

    # definitions -------------------------------------------------------------------------
    def put_definition(
        self, tenant_id: str, name: str, sha256: str, spec: str, created_at: str
    ) -> tuple[DefinitionRow, bool]:
        """Store a definition version. Same (name, sha256) returns the existing row and
        ``False``; otherwise inserts version = latest + 1 and returns ``True``. Atomic."""
        ...

    def get_definition(
        self, tenant_id: str, name: str, version: int | None = None
    ) -> DefinitionRow | None:
        """A version (the latest when ``version`` is None), or None."""
        ...

    def list_definitions(self, tenant_id: str) -> list[DefinitionRow]:
        """The latest version of every workflow, by name."""
        ...

    # executions --------------------------------------------------------------------------
    def commit(self, changes: Sequence[Change], *, together: bool = False,
               agents: AgentWrites | None = None) -> list[bool]:
        """Apply changes in one transaction; one result per change (False: guard failed).
        ``together``: all or nothing — if any guard fails, none applies (all False).
        ``agents``: breaker/statistics rows written in the same transaction, whatever the
        guards say (they record outcomes that happened)."""
        ...

    def load_execution(self, tenant_id: str, execution_id: str) -> ExecutionRow | None: ...

    def load_execution_any_tenant(self, execution_id: str) -> ExecutionRow | None:
        """For the worker, which serves every tenant."""
        ...

    def load_whole_executions(self, ids: Sequence[str]) -> dict[str, ExecutionRows]:
        """For the worker: each execution of ``ids`` (any tenant) with its steps and
        signals (as ``load_steps`` and ``load_signals`` give them), all read at one moment;
        an unknown id is absent."""
        ...

    def execution_ids_by_prefix(self, tenant_id: str, prefix: str, limit: int) -> list[str]:
        """Ids of the tenant's executions that start with ``prefix``, in id order, at most
        ``limit`` of them; read from the primary-key index (a range, not a scan)."""
        ...

    def load_steps(self, execution_id: str) -> list[StepRow]: ...

    def list_executions(self, flt: ExecutionFilter) -> list[ExecutionRow]:
        """Up to ``flt.limit`` executions of the filter, newest first (or oldest first),
        after its cursor."""
        ...

    def count_executions(self, flt: ExecutionFilter) -> dict[str, int]:
        """How many executions of the filter (its cursor and limit aside) are in each
        status; a status none is in is absent."""
        ...

    def executions_with_status(self, statuses: Sequence[str]) -> list[ExecutionRow]:
        """Every tenant's executions in these statuses, oldest first (worker start-up)."""
        ...

    def iter_executions(self, tenant_id: str) -> Iterator[ExecutionRow]:
        """Every execution of a tenant, oldest first, without loading all at once."""
        ...

    # ledger and state versions -----------------------------------------------------------
    def load_ledger(self, execution_id: str) -> list[LedgerRow]:
        """Entries ordered by the stored seq column."""
        ...

    def ledger_page(self, execution_id: str, after_seq: int, limit: int) -> list[LedgerRow]:
        """At most ``limit`` entries after ``after_seq``, by seq (a long ledger is read in
        pages, never whole)."""
        ...

    def ledger_of_types(self, execution_id: str, event_types: Sequence[str],
                        newest: int) -> list[LedgerRow]:
        """The newest ``newest`` entries whose event type is one of ``event_types``, by seq
        (the last control, the signals received: without reading the whole ledger)."""
        ...

    def versions_made(self, execution_id: str, after_seq: int, upto_seq: int) -> dict[int, int]:
        """seq -> the state version that ledger entry made, for entries in (after, upto]."""
        ...

    def load_state_version(self, execution_id: str, version: int) -> StateVersionRow | None:
        """One version holding its whole document's text (rebuilt from the last full
        version before it: ``rows.rebuilt_version``), or None."""
        ...

    def list_state_versions(self, execution_id: str) -> list[StateVersionRow]:
        """Every version as stored (a patch's text is the patch: ``ledger.state_patches``
        rebuilds the documents), in version order."""
        ...

    def load_decisions(self, execution_id: str) -> list[DecisionRow]: ...

    def durations(self, tenant_id: str, workflow: str, limit: int) -> list[tuple[str, str]]:
        """(started_at, finished_at) of the latest completed executions of a workflow."""
        ...

    def load_signals(self, execution_id: str) -> list[SignalRow]:
        """Every signal of an execution, in the order received."""
        ...

    def list_forks(self, execution_id: str) -> list[str]:
        """Ids of the executions forked from this one, oldest first."""
        ...

    # wake-ups: changes made outside a worker ---------------------------------------------
    def last_wakeup(self) -> int:
        """The newest wake-up id (0 when none): a worker starting reads after it."""
        ...

    def wakeups_after(self, after: int, limit: int = 1000) -> list[tuple[int, str]]:
        """(id, execution_id) of wake-ups newer than ``after``, oldest first."""
        ...

    def prune_wakeups(self, before: str) -> int:
        """Forget wake-ups created before this time; returns how many."""
        ...

    def expired_executions(self, now: str, limit: int = 500,
                           tenant_id: str | None = None) -> list[ExecutionRow]:
        """Unfinished executions of ``tenant_id`` (None: of every tenant) whose
        ``expires_at`` is at or before ``now``."""
        ...

    # leases and the worker registry ---------------------------------------------------------
    def claim_executions(self, owner: str, *, now: str, expires_at: str, limit: int,
                         steal: bool = False,
                         capabilities: Sequence[str] = (),
                         tenant_id: str | None = None) -> list[ClaimRow]:
        """Lease up to ``limit`` unfinished executions nobody holds (or whose lease lapsed
        before ``now``), oldest first, each under a new epoch. Concurrent claimers never get
        the same execution. ``steal``: take other owners' leases too (the caller holds an
        embedded database's worker lock for ``tenant_id``, so they belong to dead
        processes). An execution handed over for a capability goes only to a claimer
        offering it (``capabilities``) until its hand-over time passes. ``tenant_id``: only
        that tenant's executions (None: every tenant's)."""
        ...

    def renew_leases(self, owner: str, *, expires_at: str, at: str,
                     stuck: str = "[]") -> dict[str, int]:
        """Extend the owner's leases and heartbeat (with the JSON list of its handlers
        ``stuck`` past their timeout); {execution id: epoch} still held."""
        ...

    def release_leases(self, owner: str, ids: Sequence[str] | None = None, *,
                       needs: str | None = None, until: str | None = None) -> int:
        """Hand back the owner's leases (all, or those of ``ids``). ``needs``: hand them
        over to workers offering that capability, alone until ``until``."""
        ...

    def register_worker(self, row: WorkerRow) -> None: ...

    def set_worker_status(self, worker_id: str, status: str, at: str) -> None: ...

    def list_workers(self) -> list[WorkerRow]: ...

    def worker_load(self) -> dict[str, tuple[int, int, str | None]]:
        """{worker id: (unfinished executions held, steps running, oldest running start)}"""
        ...

    def running_steps(self, limit: int = 1000) -> list[tuple[str, str, str, str | None, str]]:
        """(worker id, execution id, step id, agent, started at) of the steps running in
        held executions, oldest first."""
        ...

    def listen(self, on_message: Callable[[str | None], None]) -> Closer | None:
        """Call ``on_message`` from a background thread for each notification of work
        (None after each (re)connection: look now, something may have been missed).
        None when the backend has no notifications: callers poll."""
        ...

    def watch_ledger(self, on_commit: Callable[[LedgerNotice | None], None]) -> Closer:
        """Call ``on_commit`` from a background thread after each ledger commit of any
        process: a ``LedgerNotice`` (tenant, execution id, new head seq) per execution whose
        ledger grew, or None when notices may have been missed (after a reconnection):
        whoever waits should read again. One watcher serves any number of waiters; close it
        when done."""
        ...

    # retention ------------------------------------------------------------------------------
    def finished_before(self, tenant_id: str, before: str, limit: int,
                        after: tuple[str, str] | None = None) -> list[ExecutionRow]:
        """Finished or expired executions that ended (``finished_at``, else ``updated_at``)
        before ``before``, oldest first, then by id. ``after`` is the (end time, id) of the
        last row of the previous page: the page starts after it."""
        ...

    def remove_executions(self, tombstones: Sequence[TombstoneRow]) -> list[str]:
        """Remove each tombstoned execution whole (rows, ledger, state versions, signals) in
        one transaction with its tombstone. An execution that changed since its tombstone
        was made (head moved, no longer finished, another tenant's) is left alone, and so is
        one that already has a tombstone. Returns the removed ids. A removed execution's id
        stays taken: ``commit`` refuses a new execution with it (guard failed). The outcomes
        of its routing decisions are summed into the removed outcomes (``stats_snapshot``)."""
        ...

    def list_tombstones(self, tenant_id: str) -> list[TombstoneRow]: ...

    def load_tombstone(self, tenant_id: str, execution_id: str) -> TombstoneRow | None: ...

    def waiting_for_agents(self) -> list[tuple[str, str, int]]:
        """(tenant, capability, how many) of the pending steps waiting for an agent."""
        ...

    def execution_counts(self) -> list[tuple[str, str, str, int]]:
        """(tenant, workflow, status, how many) of every tenant's executions."""
        ...

    # agents, breakers, statistics, heartbeats, telemetry -----------------------------------
    def register_agents(self, worker_id: str, rows: Sequence[AgentRow]) -> None:
        """Replace the agents a worker offers."""
        ...

    def touch_agents(self, worker_id: str, seen_at: str) -> None: ...

    def unregister_agents(self, worker_id: str) -> None: ...

    def list_agents(self) -> list[AgentRow]: ...

    def write_agents(self, writes: AgentWrites) -> None:
        """Breaker/statistics rows on their own (a reset by hand), in one transaction."""
        ...

    def load_breakers(self) -> list[BreakerRow]: ...

    def breaker_transitions(self, limit: int = 100) -> list[BreakerTransitionRow]:
        """The latest transitions, oldest first."""
        ...

    def load_stats(self, *, histograms: bool = True) -> list[StatsRow]:
        """Every agent's stored statistics, read at one moment; without their histograms
        (``buckets`` empty) unless ``histograms``."""
        ...

    def stats_snapshot(self) -> StatsSnapshot:
        """The stored statistics, every ended attempt's outcome and what retention removed,
        read at one moment. As outcomes and the increments they cause commit together, the
        statistics add up to the rest at any moment, even while workers write."""
        ...

    def replace_stats(self, rebuild: Callable[[StatsSnapshot], Sequence[StatsRow]],
                      ) -> StatsSnapshot:
        """Replace every agent's statistics by ``rebuild(snapshot)`` (absolute values, not
        increments) in one transaction during which other writers' increments wait: what
        they add afterwards is added to the replaced totals, so none is lost. Returns the
        snapshot ``rebuild`` was given."""
        ...

    def record_heartbeats(self, rows: Sequence[HeartbeatRow]) -> None: ...

    def write_telemetry(self, rows: Sequence[TelemetryRow]) -> None: ...

    def last_telemetry(self, execution_id: str, kind: str,
                       message: str) -> TelemetryRow | None:
        """The execution's latest telemetry record of ``kind`` with ``message``."""
        ...

    def write_tenant_telemetry(self, tenant_id: str, row: TelemetryRow) -> None:
        """Store a record of ``tenant_id`` that no execution owns (``row``'s execution and
        step are ignored)."""
        ...

    def last_tenant_telemetry(self, tenant_id: str, kind: str,
                              message: str) -> TelemetryRow | None:
        """The tenant's latest record of ``kind`` with ``message`` that no execution owns."""
        ...

    def newest_telemetry_id(self, execution_id: str) -> int:
        """The id of the execution's newest telemetry record (0: none)."""
        ...

    def read_telemetry(self, execution_id: str | None, after: int = 0,
                       limit: int = 1000) -> list[TelemetryRow]: ...
