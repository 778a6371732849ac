"""Many worker processes on one PostgreSQL: claims, leases, takeovers, hand-backs, lost
connections. Real processes (``ledgerflow worker``), a real server, SIGKILL and SIGSTOP.

Sizes: CI runs 1,000 executions under kills; LEDGERFLOW_FAULT_SIZE=large runs 5,000.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from ledgerflow import App
from tests.acceptance import invariants
from tests.support import ACCEPTANCE, CRASH_AGENTS, process_env, seed, wait_for

LARGE = os.environ.get("LEDGERFLOW_FAULT_SIZE", "small") == "large"


class Workers:
    """``ledgerflow worker`` processes on one database, each numbered, restartable."""

    def __init__(self, db_url: str, journal: Path, logs: Path, **env: str) -> None:
        self.db_url = db_url
        self.logs = logs
        self.env = process_env(journal=journal, LEDGERFLOW_TRACEBACK="1", **env)
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, n: int, lease: float = 2.0) -> subprocess.Popen[bytes]:
        with open(self.logs / f"worker-{n}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ledgerflow", "--db", self.db_url, "worker",
                 "--agents", str(CRASH_AGENTS), "-q", "--lease", str(lease), "--log-level", "info"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[n] = proc
        return proc

    def owner(self, n: int) -> str:
        return f"{os.uname().nodename}:{self.procs[n].pid}"

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))


@pytest.fixture
def workers(pg_url: str, tmp_path: Path) -> Iterator[Callable[..., Workers]]:
    made: list[Workers] = []

    def make(**env: str) -> Workers:
        w = Workers(pg_url, tmp_path / "journal.jsonl", tmp_path, **env)
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop_all()


def unfinished(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM executions WHERE status NOT IN "
                           "('completed', 'failed', 'cancelled', 'expired')").fetchone()
    return int(row[0]) if row else -1


def wait_until(done: Callable[[], bool], timeout: float, what: str, logs: Workers) -> None:
    """``wait_for`` (``timeout``: a safety net), with the workers' logs when it fails."""
    try:
        wait_for(done, what=what, timeout=timeout, every=0.1)
    except AssertionError as exc:
        pytest.fail(f"{exc}; worker logs:\n{logs.log_text()[-4000:]}")


def ledger_events(db_url: str, event_type: str) -> list[dict[str, object]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT execution_id, step_id, payload FROM ledger_entries "
                            "WHERE event_type = %s", (event_type,)).fetchall()
    return [{"execution": e, "step": s, "payload": json.loads(p)} for e, s, p in rows]


def test_three_workers_killed_at_random_finish_every_execution_once(
        pg_url: str, tmp_path: Path, workers: Callable[..., Workers]) -> None:
    count = 5000 if LARGE else 1000
    seed(pg_url, count)
    pool = workers(CRASH_WORK_MS="2")
    for n in range(3):
        pool.start(n)
    rng = random.Random(5)
    kills = 0
    deadline = time.monotonic() + (900 if LARGE else 300)
    while unfinished(pg_url) and time.monotonic() < deadline:
        time.sleep(rng.uniform(1.0, 3.0))
        victim = rng.randrange(3)
        pool.procs[victim].kill()  # SIGKILL: no hand-back, its leases must lapse
        pool.procs[victim].wait()
        kills += 1
        pool.start(victim)
    wait_until(lambda: unfinished(pg_url) == 0, 60, "every execution completed", pool)
    pool.stop_all()
    assert kills >= 2, "the run ended before the workers were killed twice: make it longer"
    with App(pg_url) as app:
        report = invariants.check(app, tmp_path / "journal.jsonl", expected=count)
        assert all(r.ok for r in app.verify_all())
    assert "took over execution" in pool.log_text()  # the killed workers' leases lapsed
    print(f"{count} executions, {kills} SIGKILLs, {report['handler_reruns']} handler re-runs")


def test_a_worker_paused_past_its_lease_has_its_results_rejected_and_recorded(
        pg_url: str, tmp_path: Path, workers: Callable[..., Workers]) -> None:
    seed(pg_url, 6)
    pool = workers(CRASH_WORK_MS="1500")
    slow = pool.start(0, lease=1.0)
    wait_until(lambda: _running_steps(pg_url) > 0, 30, "steps running on worker 0", pool)
    slow.send_signal(signal.SIGSTOP)  # alive but silent: no heartbeats, no writes
    pool.start(1, lease=1.0)
    wait_until(lambda: unfinished(pg_url) == 0, 120, "worker 1 finishing everything", pool)
    owner = pool.owner(0)
    slow.send_signal(signal.SIGCONT)  # its handlers finish; their results are stale now
    wait_until(lambda: any(e["payload"]["worker"] == owner for e in  # type: ignore[index]
                           ledger_events(pg_url, "step.stale_completion_rejected")),
               30, "the stale results recorded", pool)
    pool.stop_all()
    with App(pg_url) as app:
        invariants.check(app, tmp_path / "journal.jsonl", expected=6)
    assert "lease lost" in pool.log_text()


def _running_steps(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM step_runs WHERE status = 'running'").fetchone()
    return int(row[0]) if row else 0


def test_sigterm_finishes_running_steps_and_hands_leases_back(
        pg_url: str, tmp_path: Path, workers: Callable[..., Workers]) -> None:
    seed(pg_url, 20)
    pool = workers(CRASH_WORK_MS="300")
    first = pool.start(0, lease=600.0)  # a lapse would take ten minutes: only a hand-back
    wait_until(lambda: _running_steps(pg_url) > 0, 30, "steps running on worker 0", pool)
    owner = pool.owner(0)
    shown = subprocess.run([sys.executable, "-m", "ledgerflow", "--db", pg_url, "workers",
                            "--json"], capture_output=True, text=True, check=True)
    [seen] = json.loads(shown.stdout)
    assert (seen["id"], seen["state"]) == (owner, "alive")
    assert seen["executions"] > 0 and seen["steps"] and seen["capabilities"] == [
        "crash.fail_until_file", "crash.work"]
    first.terminate()
    assert first.wait(timeout=60) == 0
    shown = subprocess.run([sys.executable, "-m", "ledgerflow", "--db", pg_url, "workers",
                            "--all", "--json"], capture_output=True, text=True, check=True)
    assert [(w["id"], w["state"], w["executions"]) for w in json.loads(shown.stdout)] == [
        (owner, "stopped", 0)]
    with psycopg.connect(pg_url) as conn:
        held = conn.execute("SELECT count(*) FROM executions WHERE lease_owner = %s",
                            (owner,)).fetchone()
        running = conn.execute("SELECT count(*) FROM step_runs WHERE status = 'running'"
                               ).fetchone()
        state = conn.execute("SELECT status FROM workers WHERE id = %s", (owner,)).fetchone()
    assert held == (0,) and running == (0,) and state == ("stopped",)
    pool.start(1, lease=600.0)
    wait_until(lambda: unfinished(pg_url) == 0, 120, "worker 1 finishing the rest", pool)
    pool.stop_all()
    with App(pg_url) as app:
        invariants.check(app, tmp_path / "journal.jsonl", expected=20)
        assert app.list(limit=100)[0].recoveries == 0  # handed back, nothing to recover


def test_workers_survive_their_connections_being_cut(
        pg_url: str, tmp_path: Path, workers: Callable[..., Workers]) -> None:
    seed(pg_url, 300)
    pool = workers(CRASH_WORK_MS="20")
    pool.start(0)
    pool.start(1)
    dbname = pg_url.rsplit("/", 1)[1]
    for _ in range(2):  # what a server restart looks like to the workers
        wait_until(lambda: _running_steps(pg_url) > 0, 30, "steps running", pool)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,))
        time.sleep(0.5)
    wait_until(lambda: unfinished(pg_url) == 0, 180, "every execution completed", pool)
    pool.stop_all()
    with App(pg_url) as app:
        invariants.check(app, tmp_path / "journal.jsonl", expected=300)
    assert all(p.returncode == 0 for p in pool.procs.values()), pool.log_text()[-3000:]
    assert "lost the LISTEN connection" in pool.log_text()


RESTART = os.environ.get("LEDGERFLOW_PG_RESTART_CMD")  # e.g. "pg_ctlcluster 15 main restart"


@pytest.mark.skipif(not RESTART, reason="restarting the server is opt-in: set "
                    "LEDGERFLOW_PG_RESTART_CMD to a command that restarts it")
def test_workers_carry_on_after_the_server_restarts(
        pg_url: str, tmp_path: Path, workers: Callable[..., Workers]) -> None:
    seed(pg_url, 600)
    pool = workers(CRASH_WORK_MS="20")
    for n in range(3):
        pool.start(n)
    wait_until(lambda: _running_steps(pg_url) > 0, 30, "steps running", pool)
    subprocess.run(str(RESTART), shell=True, check=True, timeout=120)

    def finished() -> bool:
        try:
            return unfinished(pg_url) == 0
        except psycopg.OperationalError:  # still starting up
            return False

    wait_until(finished, 300, "every execution completed after the restart", pool)
    pool.stop_all()
    with App(pg_url) as app:
        invariants.check(app, tmp_path / "journal.jsonl", expected=600)
    assert all(p.returncode == 0 for p in pool.procs.values()), pool.log_text()[-3000:]
    assert "listening for work" in pool.log_text()  # they listened again


SPLIT = {"name": "split", "steps": [
    {"id": "a", "agent": "left.work", "output": "a"},
    {"id": "b", "agent": "right.work", "needs": ["a"], "output": "b"},
    {"id": "c", "agent": "left.work", "needs": ["b"], "output": "c"},
]}


def test_a_step_only_another_worker_can_run_is_handed_over_to_it(
        pg_url: str, tmp_path: Path) -> None:
    with App(pg_url) as app:
        app.apply(SPLIT)
        ids = [app.start("split", {"i": i}) for i in range(10)]
    agents = ACCEPTANCE / "split_agents.py"
    procs = {}
    for side in ("left", "right"):
        with open(tmp_path / f"{side}.log", "wb") as log:
            procs[side] = subprocess.Popen(
                [sys.executable, "-m", "ledgerflow", "--db", pg_url, "worker", "--agents",
                 str(agents), "-q", "--lease", "2", "--log-level", "info"],
                env=process_env(SPLIT_SIDE=side), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while unfinished(pg_url) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(timeout=30)
    logs = "".join((tmp_path / f"{s}.log").read_text() for s in procs)
    assert unfinished(pg_url) == 0, logs[-3000:]
    pids = {side: proc.pid for side, proc in procs.items()}
    with App(pg_url) as app:
        for eid in ids:
            report = app.status(eid)
            assert report.status == "completed", report
            outputs = app.state(eid).state
            assert [outputs[s]["side"] for s in "abc"] == ["left", "right", "left"]
            assert [outputs[s]["pid"] for s in "abc"] == [
                pids["left"], pids["right"], pids["left"]]
            assert app.verify(eid).ok
    waits = ledger_events(pg_url, "step.waiting_for_agent")
    needs = {"a": "left.work", "b": "right.work", "c": "left.work"}
    assert waits and all(e["payload"] == {"capability": needs[str(e["step"])]} for e in waits)
    assert len({(e["execution"], e["step"]) for e in waits}) == len(waits)  # once per wait
    assert not ledger_events(pg_url, "step.deferred")  # handed over, not polled
