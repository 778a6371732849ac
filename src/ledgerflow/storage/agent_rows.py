"""Rows of the workers and their agents: registrations, breakers, statistics, outcomes,
heartbeats, telemetry, worker records and claims. Apart from ``rows`` (the executions'
rows), so a process that only reads executions never defines them; ``rows`` re-exports
each name, loaded on first use.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    tenant_scope: str | None = None  # the tenant it works for; None: every tenant


@dataclass(frozen=True, kw_only=True, slots=True)
class ClaimRow:
    """An execution a worker just claimed: its new lease epoch and who held it before."""

    execution_id: str
    lease_epoch: int
    previous_owner: str | None
    status: str
