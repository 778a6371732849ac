"""Exact agent statistics with several ``ledgerflow worker`` processes on one PostgreSQL:
after the run the stored totals equal the handler runs the agent counted itself, and
``agents stats --recalculate`` agrees without writing anything; with a worker killed
mid-run they still agree with the stored decisions. Then the check and the repair through
the CLI on SQLite.

Sizes: CI runs 90 executions (3 steps each); LEDGERFLOW_FAULT_SIZE=large runs 900.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledgerflow import App
from tests.acceptance.test_many_workers import unfinished, wait_until

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
AGENTS = HERE / "counting_agents.py"
LARGE = os.environ.get("LEDGERFLOW_FAULT_SIZE", "small") == "large"
COUNT = 900 if LARGE else 90
FLOW = {"name": "tally", "steps": [
    {"id": "a", "agent": "count.call", "retry": {"max_attempts": 3, "initial": "5ms"}},
    {"id": "b", "agent": "count.call", "needs": ["a"]},
    {"id": "c", "agent": "count.call", "needs": ["a"]},
]}


def cli_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, COUNT_FILE=str(tmp / "calls.jsonl"), LEDGERFLOW_TRACEBACK="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])  # this tree first
    env.pop("LEDGERFLOW_DB", None)
    return env


def lf(tmp: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ledgerflow", "--db", db, *args],
                          env=cli_env(tmp), cwd=tmp, capture_output=True, text=True,
                          timeout=120)


class Pool:
    """``ledgerflow worker`` processes on one database."""

    def __init__(self, db: str, tmp: Path) -> None:
        self.db, self.tmp = db, tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        with open(self.tmp / f"worker-{len(self.procs)}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ledgerflow", "--db", self.db, "worker", "--agents",
                 str(AGENTS), "-q", "--concurrency", "2", "--lease", "2"],
                env=cli_env(self.tmp), cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        """SIGTERM each: it finishes what runs, writes what is left and exits 0."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:]
                         for p in sorted(self.tmp.glob("worker-*.log")))


@pytest.fixture
def pool(pg_url: str, tmp_path: Path) -> Iterator[Pool]:
    made = Pool(pg_url, tmp_path)
    yield made
    made.stop()


def scalar(db: str, sql: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else -1


def stored(db: str) -> list[tuple[Any, ...]]:
    """Every row behind the statistics, to prove a check wrote nothing."""
    with psycopg.connect(db) as conn:
        return [row for table, order in (
            ("agent_stats", "capability, agent"),
            ("agent_stat_buckets", "capability, agent, bucket"),
            ("removed_outcomes", "capability, agent, outcome, bucket"))
            for row in conn.execute(f"SELECT '{table}', * FROM {table} "
                                    f"ORDER BY {order}").fetchall()]


def calls(tmp: Path) -> list[dict[str, Any]]:
    path = tmp / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run_three_workers(pg_url: str, tmp: Path, pool: Pool,
                      meanwhile: Callable[[], None] = lambda: None) -> None:
    """Three workers up first (so all share the work), then the executions, until done."""
    with App(pg_url) as app:
        app.apply(FLOW)
        for _ in range(3):
            pool.start()
        wait_until(lambda: scalar(pg_url, "SELECT count(*) FROM workers "
                                          "WHERE status = 'running'") == 3,
                   60, "three workers running", pool)
        for i in range(COUNT):
            app.start("tally", {}, execution_id=f"x-{i:05d}")
    meanwhile()
    wait_until(lambda: unfinished(pg_url) == 0, 900 if LARGE else 180,
               "every execution finished", pool)
    pool.stop()
    assert [p.returncode for p in pool.procs[-3:]] == [0, 0, 0], pool.log_text()
    assert scalar(pg_url, "SELECT count(*) FROM executions WHERE status = 'completed'") \
        == COUNT


def check_writes_nothing(pg_url: str, tmp: Path) -> list[dict[str, Any]]:
    before = stored(pg_url)
    proc = lf(tmp, pg_url, "agents", "stats", "--recalculate", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stored(pg_url) == before  # values and updated_at alike: nothing written
    checked: list[dict[str, Any]] = json.loads(proc.stdout)
    assert checked and all(c["agree"] and not c["repaired"] for c in checked)
    return checked


def test_three_workers_statistics_equal_the_handler_runs(pg_url: str, tmp_path: Path,
                                                         pool: Pool) -> None:
    run_three_workers(pg_url, tmp_path, pool)
    ran = calls(tmp_path)
    by_worker = Counter(c["pid"] for c in ran)
    assert len(by_worker) >= 2, f"one worker ran everything ({by_worker}): no test of sharing"
    failed = sum(1 for c in ran if not c["ok"])
    assert failed == len(range(0, COUNT, 3))  # the first attempt of every third execution
    assert len(ran) == 3 * COUNT + failed

    shown = lf(tmp_path, pg_url, "agents", "stats", "--json")
    assert shown.returncode == 0, shown.stderr
    [counter] = [a for a in json.loads(shown.stdout) if a["agent"] == "counter"]
    assert (counter["total"], counter["successes"], counter["failures"]) == (
        len(ran), len(ran) - failed, failed)
    [checked] = check_writes_nothing(pg_url, tmp_path)
    assert checked["stored"]["total"] == checked["rebuilt"]["total"] == len(ran)
    print(f"{COUNT} executions, {len(ran)} handler runs on {dict(by_worker)}")


def test_a_worker_killed_mid_run_leaves_statistics_that_agree(pg_url: str, tmp_path: Path,
                                                              pool: Pool) -> None:
    """A killed worker's outcomes not yet committed are lost from the decisions and the
    statistics alike (they commit together): the two still agree."""
    def kill_one() -> None:
        wait_until(lambda: len(calls(tmp_path)) >= COUNT, 120, "a third of the calls", pool)
        pool.procs[0].send_signal(signal.SIGKILL)
        pool.procs[0].wait()
        pool.start()  # its leases lapse after 2 s and go to the others

    run_three_workers(pg_url, tmp_path, pool, kill_one)
    assert pool.procs[0].returncode == -signal.SIGKILL
    [checked] = check_writes_nothing(pg_url, tmp_path)
    assert checked["stored"]["total"] <= len(calls(tmp_path))


# the check and the repair through the CLI (SQLite) ----------------------------------------

def test_the_check_exits_1_naming_what_differs_and_the_repair_mends(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    (tmp_path / "tally.json").write_text(json.dumps(FLOW))
    assert lf(tmp_path, db, "apply", "tally.json").returncode == 0
    for i in range(4):
        assert lf(tmp_path, db, "start", "tally", "--id", f"x-{i:05d}").returncode == 0
    ran = lf(tmp_path, db, "worker", "--agents", str(AGENTS), "--until-idle")
    assert ran.returncode == 0, ran.stderr
    assert lf(tmp_path, db, "agents", "stats", "--recalculate").returncode == 0

    with closing(sqlite3.connect(tmp_path / "cli.db")) as conn, conn:
        conn.execute("UPDATE agent_stats SET failures = failures + 2 "
                     "WHERE slot = (SELECT min(slot) FROM agent_stats)")
    proc = lf(tmp_path, db, "agents", "stats", "--recalculate")
    assert proc.returncode == 1 and "no: failures" in proc.stdout, proc.stdout
    proc = lf(tmp_path, db, "agents", "stats", "--recalculate", "--json")
    [checked] = json.loads(proc.stdout)
    assert proc.returncode == 1 and checked["differs"] == ["failures"]
    assert checked["stored"]["failures"] == checked["rebuilt"]["failures"] + 2

    proc = lf(tmp_path, db, "agents", "stats", "--recalculate", "--repair")
    assert proc.returncode == 1 and "(repaired)" in proc.stdout  # it did disagree
    assert lf(tmp_path, db, "agents", "stats", "--recalculate").returncode == 0

    proc = lf(tmp_path, db, "agents", "stats", "--repair")
    assert proc.returncode == 2 and "--repair goes with --recalculate" in proc.stderr
    assert "Traceback" not in proc.stderr
    shown = lf(tmp_path, db, "agents", "stats", "--help").stdout
    assert "--repair" in shown and "writes nothing" in shown
