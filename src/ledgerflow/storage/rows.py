"""Rows as the storage layer reads and writes them.

Value columns (inputs, outputs, state, signal data, results, payloads) travel as the text
``ledger.values.encode`` wrote: the engine already produced it, so storage never
re-serialises, and ``parse_column`` (``values.decode``) gives the value back exactly. Values
are text in both dialects, never ``jsonb`` (which would reorder keys and drop ``2.0``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledgerflow import errors
from ledgerflow.ledger import values


def parse_column(text: str | None, what: str,
                 read: Callable[[str], Any] = values.decode) -> Any:
    """The value of a stored text column; a corrupted one is a ``CorruptedRow`` naming
    ``what``. ``read``: ``json.loads`` for a column that holds no value of an execution
    (log fields, written leniently, may hold NaN)."""
    if text is None:
        return None
    try:
        return read(text)
    except ValueError as exc:
        raise errors.CorruptedRow(
            f"{what} is not valid JSON in the database ({exc}); the row was changed outside "
            "ledgerflow: verify the ledgers to see which executions it affects", what=what,
        ) from exc


@dataclass(frozen=True, kw_only=True, slots=True)
class DefinitionRow:
    tenant_id: str
    name: str
    version: int
    sha256: str
    spec: str
    created_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionRow:
    id: str
    tenant_id: str
    workflow: str
    workflow_version: int
    definition_sha256: str
    status: str
    input: str
    input_sha256: str
    result: str | None
    error: str | None
    state: str
    state_sha256: str
    state_version: int
    head_seq: int
    head_hash: str
    version: int
    recoveries: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    updated_at: str
    expires_at: str | None = None  # a session's deadline (TTL); past it, it expires
    forked_from: str | None = None  # the execution this one was forked from
    forked_at_seq: int | None = None  # ... as of that ledger entry
    lease_owner: str | None = None  # the worker driving it (``storage.leases``)
    lease_epoch: int = 0  # bumped by every claim: a takeover makes older writes stale
    lease_expires_at: str | None = None  # when the lease lapses unless renewed


@dataclass(frozen=True, kw_only=True, slots=True)
class StepRow:
    execution_id: str
    step_id: str
    status: str
    attempt: int = 0
    epoch: int = 0
    agent: str | None = None
    output: str | None = None
    error: str | None = None
    ready_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    heartbeat_at: str | None = None  # written apart from the engine's step updates
    heartbeat: str | None = None  # JSON {"epoch": N, "details": ...}
    waiting_for: str | None = None  # pending: the capability no worker routing it offered


@dataclass(frozen=True, kw_only=True, slots=True)
class StateVersionRow:
    execution_id: str
    version: int
    seq: int
    state: str
    sha256: str
    created_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class LedgerRow:
    execution_id: str
    seq: int
    event_type: str
    step_id: str | None
    occurred_at: str
    prev_hash: str
    entry_hash: str
    body: str  # the exact canonical bytes that were hashed
    payload: str | None  # canonical payload text; None once erased


@dataclass(frozen=True, kw_only=True, slots=True)
class DecisionRow:
    execution_id: str
    step_id: str
    epoch: int
    attempt: int
    capability: str
    agent: str
    candidates: str
    reason: str
    decided_at: str
    outcome: str | None = None  # "success" | "failure", once the attempt ended
    duration_ms: float | None = None
    finished_at: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SignalRow:
    execution_id: str
    seq: int  # the ledger entry that recorded it
    name: str
    data: str  # stored text (``values.encode``)
    received_at: str
    consumed_by: str | None = None  # the wait step that took it
    consumed_at: str | None = None
    handled: int = 0  # 1 once its handler runs were created


@dataclass(frozen=True, kw_only=True, slots=True)
class TombstoneRow:
    execution_id: str
    tenant_id: str
    workflow: str
    workflow_version: int
    final_status: str
    head_seq: int
    head_hash: str
    created_at: str
    finished_at: str | None
    removed_at: str
    removed_by: str


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentRow:
    worker_id: str
    capability: str
    agent: str
    priority: int
    weight: float
    host: str
    pid: int
    started_at: str
    seen_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class BreakerRow:
    capability: str
    agent: str
    state: str
    data: str  # JSON of the whole breaker state
    version: int
    updated_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class BreakerTransitionRow:
    capability: str
    agent: str
    from_state: str
    to_state: str
    reason: str
    actor: str
    occurred_at: str
    id: int | None = None  # assigned by the database


@dataclass(frozen=True, kw_only=True, slots=True)
class StatsRow:
    """An agent's statistics: every part adds (``routing.stats``). Read, the stored totals;
    written (``AgentWrites.stats``), an increment added to them."""

    capability: str
    agent: str
    total: int
    successes: int
    failures: int
    duration_us: int  # sum of the durations, whole microseconds
    last_update: str  # the latest outcome's time
    updated_at: str  # when the row was last written
    buckets: tuple[tuple[int, int], ...] = ()  # latency histogram: (bucket, count)


@dataclass(frozen=True, kw_only=True, slots=True)
class OutcomeRow:
    """How one routed attempt ended (fills in its routing decision)."""

    execution_id: str
    step_id: str
    epoch: int
    outcome: str
    duration_ms: float
    duration_us: int  # the duration as the statistics count it, and its histogram bucket
    bucket: int
    finished_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RemovedOutcomesRow:
    """Outcomes of attempts whose decisions retention removed, summed per agent, outcome
    and histogram bucket: with the decisions still stored, they add up to the statistics."""

    capability: str
    agent: str
    outcome: str
    bucket: int
    count: int
    duration_us: int
    last_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class StatsSnapshot:
    """The stored statistics and everything they are counted from, read at one moment:
    every ended attempt's (capability, agent, outcome, duration_ms, finished_at), and what
    retention removed."""

    stats: tuple[StatsRow, ...]
    outcomes: tuple[tuple[str, str, str, float, str], ...]
    removed: tuple[RemovedOutcomesRow, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class HeartbeatRow:
    execution_id: str
    step_id: str
    epoch: int
    heartbeat_at: str
    heartbeat: str  # JSON {"epoch": N, "details": ...}


@dataclass(frozen=True, kw_only=True, slots=True)
class TelemetryRow:
    kind: str
    execution_id: str | None
    step_id: str | None
    message: str
    fields: str  # JSON
    occurred_at: str
    id: int | None = None  # assigned by the database


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkerRow:
    """A worker process as the registry shows it."""

    id: str  # host:pid
    host: str
    pid: int
    status: str  # running, stopping, stopped
    capabilities: str  # JSON list
    concurrency: int
    lease_seconds: float
    started_at: str
    heartbeat_at: str
    stopped_at: str | None = None
    limits: str = "{}"  # JSON object: capability -> steps of it run at once at most
    stuck: str = "[]"  # JSON list: handlers past their timeout still running (heartbeat)


@dataclass(frozen=True, kw_only=True, slots=True)
class ClaimRow:
    """An execution a worker just claimed: its new lease epoch and who held it before."""

    execution_id: str
    lease_epoch: int
    previous_owner: str | None
    status: str
