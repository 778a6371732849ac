"""Prometheus metrics: a worker's counters follow what it committed; the server's
``/metrics`` (role ``metrics``) adds HTTP counters and gauges read from the database, in
text that ``prometheus_client``'s parser reads back."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from ledgerflow import Prometheus
from tests.server.conftest import Served
from tests.support import diamond


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
