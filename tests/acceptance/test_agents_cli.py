"""Agents, breakers, statistics, routing decisions and logs through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import ACCEPTANCE, lf, lf_json

FLOW = """
name: pay
steps:
  - {id: charge, agent: pay.charge, retry: {max_attempts: 3, initial: 10ms}}
"""
AGENTS = str(ACCEPTANCE / "routing_agents.py")


@pytest.fixture
def tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ROUTING_COOLDOWN", "60s")  # probes after the cool-down: engine tests
    (tmp_path / "pay.yaml").write_text(FLOW)
    lf(tmp_path, "apply", "pay.yaml")
    return tmp_path


def run_one(tmp: Path) -> str:
    eid = lf(tmp, "start", "pay").stdout.strip()
    lf(tmp, "worker", "--agents", AGENTS, "--until-idle", "--concurrency", "1")
    return eid


def agent(tmp: Path, name: str) -> dict:
    return next(a for a in lf_json(tmp, "agents") if a["agent"] == name)


def test_breaker_stats_routing_and_logs(tmp: Path) -> None:
    (tmp / "broken").write_text("")
    ids = [run_one(tmp) for _ in range(4)]
    assert all(lf_json(tmp, "status", e)["status"] == "completed" for e in ids)
    assert agent(tmp, "primary")["breaker"] == "open"
    assert agent(tmp, "primary")["stats"]["failures"] == 2  # the threshold, then no calls
    decisions = lf_json(tmp, "routing", ids[0])
    assert [(d["agent"], d["outcome"]) for d in decisions] == [
        ("primary", "failure"), ("backup", "success")]
    assert "passed over primary" in decisions[1]["reason"]
    assert {c["agent"] for c in decisions[0]["candidates"]} == {"primary", "backup"}
    later = lf_json(tmp, "routing", ids[-1])
    assert [d["agent"] for d in later] == ["backup"]
    assert "primary excluded: breaker open" in later[0]["reason"]
    shown = lf(tmp, "routing", ids[-1]).stdout
    assert "backup" in shown and "excluded" in shown

    # statistics: incremental == rebuilt from the stored decisions
    checked = lf_json(tmp, "agents", "stats", "--recalculate")
    assert checked and all(c["agree"] for c in checked)

    # logs: step logs, decisions, errors; --json is one object per line
    lines = lf(tmp, "logs", ids[0], "--json").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    kinds = {r["kind"] for r in records}
    assert {"interaction", "decision", "error", "telemetry"} <= kinds
    assert any(r["message"] == "charging" and r["fields"]["via"] == "backup" for r in records)


def test_reset_by_hand_and_errors(tmp: Path) -> None:
    (tmp / "broken").write_text("")
    for _ in range(3):
        run_one(tmp)
    assert agent(tmp, "primary")["breaker"] == "open"
    out = lf(tmp, "agents", "reset", "primary", "--reason", "gateway fixed").stdout
    assert "primary (pay.charge): open → closed (reset by hand)" in out
    assert agent(tmp, "primary")["breaker"] == "closed"
    proc = lf(tmp, "agents", "reset", "nobody", check=False)
    assert proc.returncode == 1 and "no breaker for agent 'nobody'" in proc.stderr
    assert "primary (pay.charge)" in proc.stderr
    proc = lf(tmp, "routing", "nope", check=False)
    assert proc.returncode == 1 and "not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "pay.charge" in lf(tmp, "agents").stdout
    (tmp / "broken").unlink()  # the gateway is mended: traffic goes back to the primary
    eid = run_one(tmp)
    assert [d["agent"] for d in lf_json(tmp, "routing", eid)] == ["primary"]
    assert agent(tmp, "primary")["breaker"] == "closed"
