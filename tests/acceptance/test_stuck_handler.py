"""A handler that never returns cannot keep a worker from exiting: with a timeout,
``worker --until-idle`` fails the step and exits; without one, SIGTERM exits after the grace
period and a second signal exits at once; the SQLite worker lock is free afterwards. Real
processes on the real clock; waits are on the processes (with a generous safety timeout),
never a bound on how long they take."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from tests.support import LEDGERFLOW, SAFETY, cli_env, lf, lf_json

AGENTS = '''
import time

import ledgerflow


@ledgerflow.agent("t.sleep")
def sleep(ctx, data):
    print("handler started", flush=True)
    time.sleep(3600)  # ignores ctx.cancelled
'''


def setup(tmp: Path, timeout: str | None) -> str:
    (tmp / "sleepy_agents.py").write_text(AGENTS)
    step = {"id": "s", "agent": "t.sleep", **({"timeout": timeout} if timeout else {})}
    (tmp / "sleepy.json").write_text(json.dumps({"name": "sleepy", "steps": [step]}))
    lf(tmp, "apply", "sleepy.json")
    return str(lf(tmp, "start", "sleepy").stdout.strip())


def test_until_idle_exits_past_a_timeout_that_the_handler_ignores(tmp_path: Path) -> None:
    eid = setup(tmp_path, "1s")
    proc = subprocess.run(
        [str(LEDGERFLOW), "worker", "--agents", "sleepy_agents.py", "--until-idle",
         "--log-level", "warning"],
        env=cli_env(tmp_path), cwd=tmp_path, capture_output=True, text=True,
        timeout=SAFETY)
    assert proc.returncode == 0, proc.stderr
    assert "cannot be stopped" in proc.stderr  # the log names the stuck handler
    assert eid in proc.stderr
    report = lf_json(tmp_path, "status", eid)
    assert report["status"] == "failed"
    assert "timed out" in report["error"]
    # the lock went with the process: another worker starts at once
    lf(tmp_path, "worker", "--agents", "sleepy_agents.py", "--until-idle")


def _started(tmp: Path, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [str(LEDGERFLOW), "worker", "--agents", "sleepy_agents.py", *extra],
        env=cli_env(tmp), cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "handler started"
    return proc


def test_sigterm_exits_after_the_grace_period_and_a_second_signal_at_once(
        tmp_path: Path) -> None:
    eid = setup(tmp_path, None)
    proc = _started(tmp_path, "--stop-grace", "0.5")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=SAFETY)
    assert proc.returncode == 0, err
    assert "stopping with 1 handler(s) still running" in err
    assert lf_json(tmp_path, "status", eid)["status"] == "running"  # recovered later

    proc = _started(tmp_path, "--stop-grace", "3600")  # recovers the step: runs it again
    assert proc.stderr is not None
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr.readline().startswith("stopping:")  # the first one was handled
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=SAFETY)  # returns: the second signal did not wait an hour
    assert proc.returncode == -signal.SIGTERM  # killed, not a clean stop after the grace
