"""Prometheus metrics (FACES.md §6 names): seconds as the unit, ``_total`` for counters,
bounded labels. A ``Prometheus`` owns its registry, so a worker and a server in one process
(or two tests) never share counters by accident.

Histogram buckets, and why:

- step durations: handlers run from milliseconds (a lookup) to minutes (a model call, a
  slow partner API), so 5 ms … 10 min, about ×2-×2.5 apart;
- workflow durations: a run takes from a fraction of a second to days (waits, sessions,
  people in the loop), so 100 ms … 7 days, at the steps people reason in (minute, quarter
  hour, hour, 4 hours, day, week);
- schedule-to-start: a free worker starts a ready step within a commit (~1 ms); a busy one
  queues it for seconds to minutes; a missing agent for up to hours: 1 ms … 1 h;
- commit seconds: a group commit is one fsync (SQLite, ~0.2-2 ms here) or a round trip
  (PostgreSQL), so 0.5 ms … 1 s;
- batch sizes: powers of two up to 512 (a worker's concurrency bounds a batch);
- HTTP durations: 5 ms … 60 s, the longest long-poll.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
                600)
WORKFLOW_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400, 604800)
QUEUE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
                 900, 3600)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

disable_created_metrics()  # type: ignore[no-untyped-call]  # no ``*_created`` series: they double every counter's output


class Prometheus:
    """The counters and histograms a process updates as things happen."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ledger_entries = Counter(
            "ledgerflow_ledger_entries", "Ledger entries committed, by event type.",
            ["event_type"], registry=r)
        self.executions_started = Counter(
            "ledgerflow_executions_started", "Executions a worker started running, by "
            "workflow.", ["workflow"], registry=r)
        self.recovered = Counter(
            "ledgerflow_recovered_executions", "Executions taken over after their worker "
            "stopped or crashed.", registry=r)
        self.control_actions = Counter(
            "ledgerflow_control_actions", "Operator actions asked over HTTP, by action and "
            "outcome (changed, unchanged, refused).", ["action", "outcome"], registry=r)
        self.verify_failures = Counter(
            "ledgerflow_verify_failures", "Executions whose ledger failed verification, by "
            "problem.", ["problem"], registry=r)
        self.executions_finished = Counter(
            "ledgerflow_executions_finished", "Executions that ended, by workflow and status.",
            ["workflow", "status"], registry=r)
        self.execution_duration = Histogram(
            "ledgerflow_execution_duration_seconds",
            "From creation to the end of an execution.", ["workflow", "status"],
            buckets=WORKFLOW_BUCKETS, registry=r)
        self.steps_finished = Counter(
            "ledgerflow_steps_finished", "Step attempts that ended, by workflow, agent and "
            "outcome (completed, failed).", ["workflow", "agent", "outcome"], registry=r)
        self.step_duration = Histogram(
            "ledgerflow_step_duration_seconds", "A step attempt's run time in its handler.",
            ["agent", "outcome"], buckets=STEP_BUCKETS, registry=r)
        self.schedule_to_start = Histogram(
            "ledgerflow_step_schedule_to_start_seconds", "From when a step attempt could "
            "start (its needs done, its retry due) to its start on an agent: time spent "
            "waiting for a worker, a slot or an agent.", ["capability"],
            buckets=QUEUE_BUCKETS, registry=r)
        self.step_retries = Counter(
            "ledgerflow_step_retries", "Retries scheduled after a failed attempt.", ["agent"],
            registry=r)
        self.routing_decisions = Counter(
            "ledgerflow_routing_decisions", "Routing decisions, by capability and agent "
            "chosen.", ["capability", "agent"], registry=r)
        self.circuit_transitions = Counter(
            "ledgerflow_circuit_transitions", "Circuit breaker transitions, by agent and the "
            "state entered.", ["agent", "to"], registry=r)
        self.commit_seconds = Histogram(
            "ledgerflow_db_commit_seconds", "A worker's group commit, begin to durable.",
            ["backend"], buckets=COMMIT_BUCKETS, registry=r)
        self.batch_size = Histogram(
            "ledgerflow_group_commit_batch_size", "Changes per group commit.", ["backend"],
            buckets=BATCH_BUCKETS, registry=r)
        self.http_requests = Counter(
            "ledgerflow_http_requests", "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"], registry=r)
        self.http_duration = Histogram(
            "ledgerflow_http_request_duration_seconds", "HTTP request handling time.",
            ["route", "method"], buckets=HTTP_BUCKETS, registry=r)

    def gauges(self, collect: Callable[[], Iterable[Metric]]) -> None:
        """Add gauges computed when scraped (``collect`` yields metric families)."""
        self.registry.register(_Scraped(collect))


class _Scraped(Collector):
    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect

    def collect(self) -> Iterable[Metric]:
        return self._collect()

    def describe(self) -> Iterable[Metric]:
        return []  # computed at scrape time (a database read): nothing to call early


def gauge(name: str, documentation: str, labels: list[str],
          samples: Iterable[tuple[list[str], float]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family

