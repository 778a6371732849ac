"""The server's Prometheus metrics: its HTTP requests, gauges read from the database when
scraped (executions by workflow and status, live workers, circuit states) and its open event
streams. A ``tenant`` label is added only when ``LEDGERFLOW_METRICS_TENANT_LABEL=true``
(tenants can be many: labels stay bounded by default)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client.core import Metric

from ledgerflow.telemetry.metrics import Prometheus, gauge

if TYPE_CHECKING:
    from ledgerflow import App

CIRCUIT = {"closed": 0, "half_open": 1, "open": 2}


def tenant_label() -> bool:
    return os.environ.get("LEDGERFLOW_METRICS_TENANT_LABEL", "").lower() in ("1", "true",
                                                                            "yes")


def server_metrics(engine: App, open_streams: Callable[[], int] = lambda: 0) -> Prometheus:
    """``open_streams``: how many event streams are open now."""
    metrics = Prometheus()
    by_tenant = tenant_label()

    def scraped() -> Iterable[Metric]:
        counts: Counter[tuple[str, ...]] = Counter()
        for tenant, workflow, status, n in engine.store.execution_counts():
            counts[(tenant, workflow, status) if by_tenant else (workflow, status)] += n
        labels = ["tenant", "workflow", "status"] if by_tenant else ["workflow", "status"]
        yield gauge("ledgerflow_executions", "Executions stored, by workflow and status.",
                    labels, ((list(k), v) for k, v in sorted(counts.items())))
        ready: Counter[tuple[str, ...]] = Counter()
        for tenant, capability, n in engine.store.waiting_for_agents():
            ready[(tenant, capability) if by_tenant else (capability,)] += n
        yield gauge("ledgerflow_ready_steps", "Steps ready to start that wait for an agent "
                    "of their capability (no live worker offers one).",
                    ["tenant", "capability"] if by_tenant else ["capability"],
                    ((list(k), v) for k, v in sorted(ready.items())))
        alive = sum(1 for w in engine.workers() if w.state == "alive")
        yield gauge("ledgerflow_workers_alive", "Workers whose heartbeat is current.", [],
                    [([], alive)])
        states: dict[str, int] = {}
        for a in engine.agents():
            states[a.agent] = max(states.get(a.agent, 0), CIRCUIT.get(a.breaker, 0))
        yield gauge("ledgerflow_circuit_state", "Circuit breaker state per agent (0 closed, "
                    "1 half-open, 2 open; the worst over its capabilities).", ["agent"],
                    (([agent], state) for agent, state in sorted(states.items())))
        yield gauge("ledgerflow_sse_streams", "Server-sent event streams open now.", [],
                    [([], open_streams())])

    metrics.gauges(scraped)
    return metrics
