"""Two workers' agent books on one database: breakers and statistics travel between them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ledgerflow.engine.agents.book import AgentBook
from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import Store
from ledgerflow.storage.rows import WorkerRow

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _handler(ctx: Any, data: Any) -> Any:
    return data


def book(worker: str) -> AgentBook:
    registry = AgentRegistry()
    registry.register("pay.send", _handler, name="bank", failure_threshold=2)
    registry.register("pay.send", _handler, name="backup", priority=-1)  # an open breaker
    # excludes an agent only when another one offers the capability
    return AgentBook(registry, worker)


def test_a_breaker_opened_and_outcomes_counted_by_one_worker_reach_the_other(
        store: Store) -> None:
    one, two = book("h:1"), book("h:2")
    for b in (one, two):
        b.load_from(store, T0)
    assert two.choose("pay.send", T0) is not None
    for i in range(3):  # three failures on worker one open its breaker
        one.outcome(capability="pay.send", agent="bank", execution_id="e", step_id="s",
                    epoch=i, ok=False, duration_ms=5.0, now=T0 + timedelta(seconds=i))
    writes = one.take_writes(T0)
    assert writes is not None
    store.write_agents(writes)
    two.sync(store, T0 + timedelta(seconds=5))
    assert two.breakers[("pay.send", "bank")].state == "open"
    assert two.stats[("pay.send", "bank")].failures == 3
    choice = two.choose("pay.send", T0 + timedelta(seconds=5))
    assert choice is not None and choice.agent == "backup"  # bank refused: its breaker is open



def _running(store: Store, worker_id: str, tenant: str | None) -> None:
    """``worker_id`` in the registry, working ``tenant`` (None: every tenant)."""
    at = format_timestamp(T0)
    store.register_worker(WorkerRow(
        id=worker_id, host="h", pid=0, status="running", capabilities='["pay.send"]',
        concurrency=1, lease_seconds=10.0, started_at=at, heartbeat_at=at,
        tenant_scope=tenant))


def _offered(store: Store, worker_id: str) -> None:
    """``worker_id``'s agents (pay.send) are the only ones offered."""
    for other in ("h:2", "h:3", "h:4"):
        store.unregister_agents(other)
    book(worker_id).register(store, worker_id, T0)


def test_a_worker_of_one_tenant_hands_over_only_to_workers_that_may_take_it(
        store: Store) -> None:
    """A capability only another tenant's worker offers is not "offered elsewhere": that
    worker would never claim the execution."""
    for worker_id, tenant in (("h:2", "umbrella"), ("h:3", "acme"), ("h:4", None)):
        _running(store, worker_id, tenant)
    lacking = AgentBook(AgentRegistry(), "h:1")  # offers nothing
    lacking.tenant = "acme"
    _offered(store, "h:2")  # umbrella's worker
    lacking.look_around(store, T0)
    assert lacking.choose("pay.send", T0) is None  # nobody who may take acme's: no agent
    for other in ("h:3", "h:4"):  # acme's own worker, then a worker of every tenant
        _offered(store, other)
        lacking.look_around(store, T0)
        choice = lacking.choose("pay.send", T0)
        assert choice is not None and choice.handoff and other in choice.reason
    everyone = AgentBook(AgentRegistry(), "h:1")  # of every tenant: any worker may help
    _offered(store, "h:2")
    everyone.look_around(store, T0)
    choice = everyone.choose("pay.send", T0)
    assert choice is not None and choice.handoff and "h:2" in choice.reason
