"""Two workers' agent books on one database: breakers and statistics travel between them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ledgerflow.engine.agents.book import AgentBook
from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.storage.base import Store

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
