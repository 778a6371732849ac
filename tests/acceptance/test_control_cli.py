"""Operator control as a user runs it: real `ledgerflow` processes on a real database file.

A worker runs in the background (its own process) while pause, edit, resume, cancel,
signal and fork are given from other processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.test_cli import HERE, LEDGERFLOW, lf, lf_json

SLOW = """
name: slow
steps:
  - {id: a, agent: crash.work, output: a}
  - {id: b, agent: crash.work, needs: [a], output: b}
  - {id: c, agent: crash.work, needs: [b], output: c}
  - {id: d, agent: crash.work, needs: [c], output: d}
"""
APPROVAL = """
name: approval
steps:
  - {id: prepare, agent: crash.work}
  - {id: approve, type: wait, signal: approve, needs: [prepare], output: approval}
  - {id: book, agent: crash.work, needs: [approve]}
"""


def env_for(tmp: Path, work_ms: int) -> dict[str, str]:
    return dict(os.environ, LEDGERFLOW_DB=f"sqlite:///{tmp / 'cli.db'}",
                CRASH_JOURNAL=str(tmp / "journal.jsonl"), CRASH_WORK_MS=str(work_ms),
                PYTHONPATH=os.pathsep.join([str(HERE.parent.parent / "src"),  # this tree's
                                            str(HERE.parent.parent)]),
                LEDGERFLOW_POLL_INTERVAL="0.05")


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    (tmp_path / "slow.yaml").write_text(SLOW)
    (tmp_path / "approval.yaml").write_text(APPROVAL)
    lf(tmp_path, "apply", "slow.yaml")
    lf(tmp_path, "apply", "approval.yaml")
    return tmp_path


@pytest.fixture
def worker(tmp: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [str(LEDGERFLOW), "worker", "--agents", str(HERE / "crash_agents.py")],
        env=env_for(tmp, 1500), cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    yield proc
    proc.terminate()
    proc.communicate(timeout=60)


def wait_until(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def steps_of(tmp: Path, eid: str) -> dict[str, str]:
    return {s["id"]: s["status"] for s in lf_json(tmp, "status", eid)["steps"]}


def journal(tmp: Path) -> list[dict[str, Any]]:
    path = tmp / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def runs(tmp: Path, eid: str) -> list[str]:
    """Steps whose handler started for this execution, in order (the agents' journal)."""
    return [e["s"] for e in journal(tmp) if e["e"] == eid and e["ev"] == "start"]


def test_pause_edit_resume_from_a_step(tmp: Path, worker: subprocess.Popen[str]) -> None:
    eid = lf(tmp, "start", "slow").stdout.strip()
    wait_until(lambda: "a" in runs(tmp, eid))  # a's handler is running
    out = lf(tmp, "pause", eid, "--reason", "check the data").stdout
    assert f"paused {eid}" in out
    wait_until(lambda: steps_of(tmp, eid)["a"] == "completed")  # a still finishes
    time.sleep(1.0)  # many polls: nothing new is dispatched while paused
    assert steps_of(tmp, eid) == {"a": "completed", "b": "pending", "c": "pending",
                                  "d": "pending"}
    shown = lf(tmp, "status", eid).stdout
    assert "pending steps (the stack): b, c, d" in shown and "state document" in shown
    assert lf_json(tmp, "status", eid)["state"]["a"] is not None
    lf(tmp, "state", "set", eid, "review.note", '"checked by ops"', "--reason", "ops review")
    (tmp / "patch.json").write_text('{"review": {"risk": "low"}}')
    version = lf_json(tmp, "state", "patch", eid, "patch.json")["state_version"]
    assert lf_json(tmp, "state", eid)["state"]["review"] == {"note": "checked by ops",
                                                             "risk": "low"}
    diff = lf_json(tmp, "state", eid, "--diff", str(version - 1), str(version))["patch"]
    assert diff == [{"op": "add", "path": "/review/risk", "value": "low"}]
    lf(tmp, "resume", eid, "--from", "a")
    wait_until(lambda: lf_json(tmp, "status", eid)["status"] == "completed")
    ran = runs(tmp, eid)
    assert ran.count("a") == 2 and ran.count("d") == 1  # a was reset, so it ran again
    history = [e["event_type"] for e in lf_json(tmp, "history", eid)]
    assert {"execution.paused", "state.edited", "execution.resumed", "step.reset"} <= set(
        history)
    edited = [e for e in lf_json(tmp, "history", eid) if e["event_type"] == "state.edited"]
    assert edited[0]["payload"]["reason"] == "ops review"
    assert edited[0]["payload"]["before_sha256"] != edited[0]["payload"]["after_sha256"]
    assert lf(tmp, "verify", eid).returncode == 0


def test_cancel_a_running_execution(tmp: Path, worker: subprocess.Popen[str]) -> None:
    eid = lf(tmp, "start", "slow").stdout.strip()
    wait_until(lambda: "a" in runs(tmp, eid))  # a's handler is running
    assert "cancelled" in lf(tmp, "cancel", eid, "--reason", "client withdrew").stdout
    assert lf_json(tmp, "status", eid)["status"] == "cancelled"
    assert "already cancelled" in lf(tmp, "cancel", eid).stdout
    wait_until(lambda: any(e["e"] == eid and e["ev"] == "cancelled" for e in journal(tmp)))
    # the handler running at the cancel saw ctx.cancelled; its late result is dropped
    saw = {e["s"] for e in journal(tmp) if e["e"] == eid and e["ev"] == "cancelled"}
    steps = steps_of(tmp, eid)
    assert saw and all(steps[s] == "cancelled" for s in saw)
    assert steps["d"] == "cancelled" and set(steps.values()) <= {"completed", "cancelled"}
    assert lf(tmp, "verify", eid).returncode == 0


def test_wrong_state_and_unknown_ids_are_one_line_errors(tmp: Path) -> None:
    eid = lf(tmp, "start", "slow").stdout.strip()
    cases = [
        (("resume", eid), "it is pending; allowed when pending: pause, cancel, signal"),
        (("retry", eid), "cannot retry"),
        (("state", "set", eid, "x", "1"), "pause it first"),
        (("pause", "nope"), "execution 'nope' not found"),
        (("signal", "nope", "approve"), "execution 'nope' not found"),
        (("fork", eid, "--at", "99"), "no ledger entry 99"),
        (("signal", eid, "approve", "--data", "{bad"), "not valid JSON"),
        (("start", "slow", "--ttl", "soon"), "--ttl"),
    ]
    for args, message in cases:
        proc = lf(tmp, *args, check=False)
        assert proc.returncode != 0, args
        assert message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_retry_a_failed_run_without_rerunning_completed_steps(tmp: Path) -> None:
    (tmp / "flaky.yaml").write_text("""
name: flaky
steps:
  - {id: a, agent: crash.work}
  - {id: b, agent: crash.fail_until_file, needs: [a]}
  - {id: c, agent: crash.work, needs: [b]}
""")
    lf(tmp, "apply", "flaky.yaml")
    agents = str(HERE / "crash_agents.py")
    eid = lf(tmp, "start", "flaky").stdout.strip()
    lf(tmp, "worker", "--agents", agents, "--until-idle")
    assert lf_json(tmp, "status", eid)["status"] == "failed"
    (tmp / "fixed").write_text("yes")
    assert "b" in lf_json(tmp, "retry", eid)["steps"]
    lf(tmp, "worker", "--agents", agents, "--until-idle")
    assert lf_json(tmp, "status", eid)["status"] == "completed"
    ran = runs(tmp, eid)
    assert ran.count("a") == 1 and ran.count("c") == 1
    # rerun a finished execution from b: a is not run again
    lf(tmp, "rerun", eid, "--from", "b")
    lf(tmp, "worker", "--agents", agents, "--until-idle")
    ran = runs(tmp, eid)
    assert ran.count("a") == 1 and ran.count("c") == 2
    assert lf(tmp, "verify", eid).returncode == 0


def test_fork_at_an_earlier_entry(tmp: Path) -> None:
    agents = str(HERE / "crash_agents.py")
    eid = lf(tmp, "start", "slow", "--input", '{"who": "x"}').stdout.strip()
    lf(tmp, "worker", "--agents", agents, "--until-idle")
    history = lf_json(tmp, "history", eid)
    at = next(e["seq"] for e in history
              if e["event_type"] == "step.completed" and e["step_id"] == "b")
    fork = lf_json(tmp, "fork", eid, "--at", str(at), "--input-patch", '{"who": "y"}')["id"]
    report = lf_json(tmp, "status", fork)
    assert (report["forked_from"], report["forked_at_seq"]) == (eid, at)
    assert lf_json(tmp, "status", eid)["forks"] == [fork]
    assert set(lf_json(tmp, "state", fork)["state"]) == {"a", "b"}
    lf(tmp, "worker", "--agents", agents, "--until-idle")
    assert lf_json(tmp, "status", fork)["status"] == "completed"
    assert lf(tmp, "verify", "--all").returncode == 0


def test_wait_and_signal_round_trip_across_restarts(tmp: Path) -> None:
    agents = str(HERE / "crash_agents.py")
    early = lf(tmp, "start", "approval").stdout.strip()
    lf(tmp, "signal", early, "approve", "--data", '{"by": "ann"}')  # before the wait began
    late = lf(tmp, "start", "approval").stdout.strip()
    lf(tmp, "worker", "--agents", agents, "--until-idle")
    assert lf_json(tmp, "status", early)["status"] == "completed"
    report = lf_json(tmp, "status", late)
    assert report["status"] == "waiting"
    assert report["waiting_for"] == [{"step": "approve", "signal": "approve", "until": None}]
    waiting = lf_json(tmp, "list", "--status", "waiting", "--metrics")
    assert [w["id"] for w in waiting] == [late] and waiting[0]["metrics"]["steps_done"] == 1
    lf(tmp, "signal", late, "approve", "--data", '{"by": "bob"}')  # no worker runs now
    lf(tmp, "worker", "--agents", agents, "--until-idle")  # a new worker delivers it
    assert lf_json(tmp, "status", late)["status"] == "completed"
    assert lf_json(tmp, "state", late)["state"]["approval"] == {"by": "bob"}
    proc = lf(tmp, "signal", late, "approve", check=False)
    assert proc.returncode == 1 and "it is completed" in proc.stderr
    assert lf(tmp, "verify", "--all").returncode == 0


def test_onboarding_session_flow(tmp: Path) -> None:
    lf(tmp, "demo")
    cases = lf_json(tmp, "list", "--status", "waiting", "--metrics")
    assert len(cases) == 4 and all(c["metrics"]["expires_in_seconds"] > 0 for c in cases)
    trust = next(c["id"] for c in cases
                 if "Trust" in json.dumps(lf_json(tmp, "state", c["id"])["state"]))
    before = lf_json(tmp, "state", trust)["version"]
    lf(tmp, "signal", trust, "instruction", "--data",
       '{"text": "Start enhanced KYC verification and screen the owners for sanctions"}')
    lf(tmp, "worker", "--agents", "ledgerflow.demo.agents", "--until-idle")
    after = lf_json(tmp, "state", trust)
    added = after["state"]["document"][-3:]
    assert sorted(f.split(" ", 1)[0] for f in added) == [
        "(compliance.instruction", "(kyc.instruction", "(ubo.instruction"]
    assert after["version"] == before + 3  # a new state version per fragment
    old = lf_json(tmp, "state", trust, "--version", str(before))["state"]["document"]
    assert old == after["state"]["document"][:-3]
    lf(tmp, "signal", trust, "close")
    lf(tmp, "worker", "--agents", "ledgerflow.demo.agents", "--until-idle")
    assert lf_json(tmp, "status", trust)["status"] == "completed"
    assert lf(tmp, "verify", "--all").returncode == 0


def test_session_ttl_expiry(tmp: Path) -> None:
    eid = lf(tmp, "start", "approval", "--ttl", "5s").stdout.strip()
    expires = datetime.fromisoformat(lf_json(tmp, "status", eid)["expires_at"])
    agents = str(HERE / "crash_agents.py")
    lf(tmp, "worker", "--agents", agents, "--until-idle")
    assert lf_json(tmp, "status", eid)["status"] == "waiting"
    time.sleep(max((expires - datetime.now(UTC)).total_seconds(), 0) + 0.1)
    lf(tmp, "worker", "--agents", agents, "--until-idle")
    assert lf_json(tmp, "status", eid)["status"] == "expired"
    proc = lf(tmp, "pause", eid, check=False)
    assert proc.returncode == 1 and "it is expired" in proc.stderr
    assert lf(tmp, "verify", "--all").returncode == 0


def test_a_step_timeout_survives_a_crash(tmp: Path) -> None:
    """The worker dies inside a step with a 1 s timeout; one started after the deadline
    counts that attempt as timed out at once, and the retry policy runs it again."""
    (tmp / "timed.yaml").write_text("""
name: timed
steps:
  - {id: a, agent: crash.work, timeout: 1s, retry: {max_attempts: 2, initial: 10ms}}
""")
    lf(tmp, "apply", "timed.yaml")
    eid = lf(tmp, "start", "timed").stdout.strip()
    env = dict(env_for(tmp, 0), CRASH_KILL_IN_STEP="a")
    died = subprocess.run([str(LEDGERFLOW), "worker", "--agents", str(HERE / "crash_agents.py"),
                           "--until-idle"], env=env, cwd=tmp, capture_output=True, text=True,
                          timeout=60)
    assert died.returncode == -9  # SIGKILL inside step a
    deadline = datetime.fromisoformat(lf_json(tmp, "status", eid)["steps"][0]["started_at"])
    time.sleep(max((deadline - datetime.now(UTC)).total_seconds() + 1.1, 0))
    lf(tmp, "worker", "--agents", str(HERE / "crash_agents.py"), "--until-idle")
    report = lf_json(tmp, "status", eid)
    assert report["status"] == "completed" and report["steps"][0]["attempts"] == 2
    retried = [e for e in lf_json(tmp, "history", eid)
               if e["event_type"] == "step.retry_scheduled"]
    assert len(retried) == 1 and "the deadline passed" in retried[0]["payload"]["error"]
    assert lf(tmp, "verify", eid).returncode == 0
