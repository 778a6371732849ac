"""Prometheus metrics: a worker's counters follow what it committed; the server's
``/metrics`` (role ``metrics``) adds HTTP counters and gauges read from the database, in
text that ``prometheus_client``'s parser reads back."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from ledgerflow import Prometheus
from ledgerflow.testing import FakeClock
from tests.server.conftest import Served
from tests.storage.conftest import postgres_execute, sqlite_execute
from tests.support import diamond

WAITS = {"name": "waits", "steps": [{"id": "w", "type": "wait", "signal": "go"}]}


def scrape(served: Served, role: str = "metrics") -> dict[tuple[str, tuple[tuple[str, str], ...]],
                                                         float]:
    r = served.client.get("/metrics", headers=served.headers(role))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def total(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels match (an ``agent`` label by its
    capability: agents are named ``capability:handler``)."""
    found = 0.0
    for family in registry.collect():
        for sample in family.samples:
            if sample.name != name:
                continue
            got = dict(sample.labels)
            if all(got.get(k) == v or (k == "agent" and got.get(k, "").startswith(v + ":"))
                   for k, v in labels.items()):
                found += sample.value
    return found


def test_a_workers_counters_follow_its_commits(served: Served) -> None:
    engine = served.engine
    engine.apply(diamond("t.echo", flaky="t.flaky"))
    for n in range(3):
        engine.start("diamond", {"mode": "full", "n": n})
    metrics = Prometheus()
    engine.worker(until_idle=True, metrics=metrics).run()
    reg = metrics.registry
    assert total(reg, "ledgerflow_executions_finished_total", workflow="diamond",
                 status="completed") == 3
    assert total(reg, "ledgerflow_executions_started_total", workflow="diamond") == 3
    assert total(reg, "ledgerflow_worker_slots", state="busy") == 0  # all done
    assert total(reg, "ledgerflow_worker_slots", state="free") >= 1
    assert total(reg, "ledgerflow_telemetry_dropped_total") == 0
    assert total(reg, "ledgerflow_recovered_executions_total") == 0
    assert total(reg, "ledgerflow_lease_expirations_total") == 0
    # every attempt started is timed from when it could start: 3 × (a, c, d) and 3 × 2 of b
    assert total(reg, "ledgerflow_step_schedule_to_start_seconds_count",
                 capability="t.echo") == 9
    assert total(reg, "ledgerflow_step_schedule_to_start_seconds_count",
                 capability="t.flaky") == 6
    # b fails its first attempt in each execution: one retry each; a, c, d are echoes
    assert total(reg, "ledgerflow_step_retries_total", agent="t.flaky") == 3
    assert total(reg, "ledgerflow_steps_finished_total", agent="t.flaky",
                 outcome="failed") == 3
    assert total(reg, "ledgerflow_steps_finished_total", agent="t.flaky",
                 outcome="completed") == 3
    assert total(reg, "ledgerflow_steps_finished_total", workflow="diamond", agent="t.echo",
                 outcome="completed") == 9
    assert total(reg, "ledgerflow_ledger_entries_total", event_type="execution.completed") == 3
    assert total(reg, "ledgerflow_ledger_entries_total", event_type="step.started") == 15
    assert total(reg, "ledgerflow_routing_decisions_total") == 15  # 4 steps + 1 retry, × 3
    assert total(reg, "ledgerflow_step_duration_seconds_count", agent="t.echo",
                 outcome="completed") == 9
    assert total(reg, "ledgerflow_execution_duration_seconds_count", workflow="diamond") == 3
    commits = total(reg, "ledgerflow_group_commit_batch_size_count",
                    backend=engine.db_url.split(":")[0])
    assert commits >= 1
    assert total(reg, "ledgerflow_group_commit_batch_size_sum") >= commits


def test_a_step_waiting_for_an_agent_is_a_ready_step_and_its_wait_is_timed(
        served: Served, clock: FakeClock) -> None:
    engine = served.engine
    engine.apply({"name": "lonely", "steps": [{"id": "a", "agent": "t.nobody"}]})
    eid = engine.start("lonely", {})
    engine.run_until_idle()  # no worker offers t.nobody: the step waits for one
    assert scrape(served)[("ledgerflow_ready_steps", (("capability", "t.nobody"),))] == 1
    clock.advance(30)

    @engine.agent("t.nobody")
    def arrives(ctx: object, data: object) -> dict[str, bool]:
        return {"ok": True}

    metrics = Prometheus()
    engine.worker(until_idle=True, metrics=metrics).run()
    assert engine.status(eid).status == "completed"
    reg = metrics.registry
    assert total(reg, "ledgerflow_step_schedule_to_start_seconds_count",
                 capability="t.nobody") == 1
    assert total(reg, "ledgerflow_step_schedule_to_start_seconds_sum",
                 capability="t.nobody") == 30
    assert not any(name == "ledgerflow_ready_steps" for name, _ in scrape(served))


def test_a_worker_counts_the_executions_it_took_over_from_an_expired_lease(
        served: Served, backend_url: str) -> None:
    engine = served.engine
    engine.apply(WAITS)
    eid = engine.start("waits", {})
    engine.run_until_idle()
    assert engine.execution(eid).status == "waiting"
    # its holder died: the lease names it and has run out
    execute = sqlite_execute(Path(backend_url.removeprefix("sqlite:///"))) \
        if backend_url.startswith("sqlite") else postgres_execute(backend_url)
    execute("UPDATE executions SET lease_owner = :owner, lease_expires_at = :expired "
            "WHERE id = :id", [{"owner": "w-gone", "expired": "2000-01-01T00:00:00.000000Z",
                                "id": eid}])
    metrics = Prometheus()
    engine.worker(until_idle=True, metrics=metrics).run()
    assert total(metrics.registry, "ledgerflow_lease_expirations_total") == 1


def test_the_server_scrape_counts_executions_and_requests(served: Served) -> None:
    engine = served.engine
    engine.apply(diamond("t.echo"))
    for _ in range(2):
        engine.start("diamond", {"mode": "short"})
    before = scrape(served)
    assert before[("ledgerflow_executions", (("status", "pending"), ("workflow", "diamond")))] \
        == 2
    assert before[("ledgerflow_workers_alive", ())] == 0
    engine.run_until_idle()
    served.client.get("/healthz")
    after = scrape(served)
    assert after[("ledgerflow_executions", (("status", "completed"),
                                            ("workflow", "diamond")))] == 2
    assert after[("ledgerflow_http_requests_total", (("method", "GET"), ("route", "/healthz"),
                                                     ("status", "200")))] == 1
    assert after[("ledgerflow_http_requests_total", (("method", "GET"), ("route", "/metrics"),
                                                     ("status", "200")))] == 1
    r = served.client.get("/metrics", headers=served.headers("metrics"))
    assert "# TYPE ledgerflow_circuit_state gauge" in r.text


def test_only_a_metrics_token_reads_the_metrics(served: Served) -> None:
    for role in ("viewer", "operator", "admin"):
        r = served.client.get("/metrics", headers=served.headers(role))
        assert (r.status_code, r.json()["code"]) == (403, "forbidden"), role
    r = served.client.get("/metrics", headers=served.headers("system", tenant=None))
    assert r.status_code == 403
    assert served.client.get("/metrics").status_code == 401


def test_control_actions_are_counted_by_outcome(served: Served) -> None:
    served.engine.apply({"name": "waits", "steps": [{"id": "w", "type": "wait",
                                                     "signal": "go"}]})
    eid = served.engine.start("waits", {})
    operator = served.headers("operator")
    for _ in range(2):
        served.client.post(f"/api/v1/executions/{eid}/pause", headers=operator)
    served.client.post(f"/api/v1/executions/{eid}/retry", headers=operator)  # not failed
    found = scrape(served)
    assert found[("ledgerflow_control_actions_total",
                  (("action", "pause"), ("outcome", "changed")))] == 1
    assert found[("ledgerflow_control_actions_total",
                  (("action", "pause"), ("outcome", "unchanged")))] == 1
    assert found[("ledgerflow_control_actions_total",
                  (("action", "retry"), ("outcome", "refused")))] == 1
