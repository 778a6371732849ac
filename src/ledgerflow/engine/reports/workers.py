"""Who works: the worker registry as ``ledgerflow workers`` shows it. Pure over the rows."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledgerflow.storage.base import Store

if TYPE_CHECKING:  # annotations only: the rows load on first use (``rows``)
    from ledgerflow.storage.agent_rows import WorkerRow


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    state: str  # alive, stopping, stopped, dead (heartbeats stopped: its leases lapse)
    started_at: str
    heartbeat_at: str
    heartbeat_age_s: float
    stopped_at: str | None
    lease_seconds: float
    concurrency: int
    limits: dict[str, int]  # capability -> steps of it run at once at most (--limit)
    capabilities: list[str]
    executions: int  # unfinished executions it holds
    running: int  # steps running in them
    running_since: str | None  # when the oldest of those started
    steps: list[dict[str, str | None]]  # the running steps: execution, step, agent, since
    # handlers past their timeout that never returned, as of its last heartbeat: execution,
    # step, agent, since (when it timed out); their slots were given back
    stuck: list[dict[str, str]]
    tenant: str | None = None  # the tenant whose executions it works; None: every tenant's

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _age(at: str, now: datetime) -> float:
    return max((now - datetime.fromisoformat(at.replace("Z", "+00:00"))).total_seconds(), 0.0)


def state_of(row: WorkerRow, age: float) -> str:
    if row.status == "stopped":
        return "stopped"
    if age > row.lease_seconds:
        return "dead"  # no heartbeat for a whole lease: its executions go to others
    return "alive" if row.status == "running" else row.status


def limits_of(store: Store, worker_id: str) -> dict[str, int]:
    """The per-capability limits of a worker ({} for one unknown or without any)."""
    for row in store.list_workers():
        if row.id == worker_id:
            return dict(json.loads(row.limits))
    return {}


def workers(store: Store, now: datetime, *, everyone: bool = False) -> list[WorkerInfo]:
    """Workers alive or stopping (``everyone``: also stopped and dead ones), oldest first."""
    load = store.worker_load()
    steps: dict[str, list[dict[str, str | None]]] = {}
    for worker_id, execution_id, step_id, agent, started_at in store.running_steps():
        steps.setdefault(worker_id, []).append({
            "execution": execution_id, "step": step_id, "agent": agent, "since": started_at})
    found: list[WorkerInfo] = []
    for row in store.list_workers():
        age = _age(row.heartbeat_at, now)
        state = state_of(row, age)
        held, running, since = load.get(row.id, (0, 0, None))
        if not everyone and state in ("stopped", "dead") and not held:
            continue
        found.append(WorkerInfo(
            id=row.id, host=row.host, pid=row.pid, state=state, started_at=row.started_at,
            heartbeat_at=row.heartbeat_at, heartbeat_age_s=round(age, 3),
            stopped_at=row.stopped_at, lease_seconds=row.lease_seconds,
            concurrency=row.concurrency, limits=json.loads(row.limits),
            capabilities=json.loads(row.capabilities), executions=held, running=running,
            running_since=since, steps=steps.get(row.id, []), stuck=json.loads(row.stuck),
            tenant=row.tenant_scope))
    return found
