"""SIGKILL at named points of the write path, then restart: the invariants hold.

Sizes: CI runs the small soak; LEDGERFLOW_FAULT_SIZE=large runs the long one.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from ledgerflow import App
from tests.acceptance import invariants
from tests.support import (
    CRASH_AGENTS,
    CRASHING_WORKER,
    SAFETY,
    process_env,
    run_worker,
    seed,
    wait_for,
)

LARGE = os.environ.get("LEDGERFLOW_FAULT_SIZE", "small") == "large"


@pytest.mark.parametrize("point", ["before_commit", "during_commit", "after_commit"])
@pytest.mark.parametrize("after", [2, 3, 4])
def test_kill_at_named_point_then_recover(tmp_path: Path, point: str, after: int) -> None:
    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    journal = tmp_path / "journal.jsonl"
    seed(db_url, 3)
    killed = run_worker(db_url, journal, point, after)
    assert killed.returncode == -9, killed.stderr
    done = run_worker(db_url, journal)
    assert done.returncode == 0, done.stderr
    with App(db_url) as app:
        invariants.check(app, journal, expected=3)
        # the first commit dispatched steps, so the kill left some running: recovered
        assert any(r.recoveries == 1 for r in app.list())


def test_kill_inside_a_parallel_branch(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    journal = tmp_path / "journal.jsonl"
    seed(db_url, 1)
    killed = run_worker(db_url, journal, CRASH_KILL_IN_STEP="b2")
    assert killed.returncode == -9
    assert run_worker(db_url, journal).returncode == 0
    with App(db_url) as app:
        counts = invariants.check(app, journal, expected=1)
        (row,) = app.list()
        assert row.recoveries == 1
        events = [(e.event_type, e.step_id) for e in app.history(row.id)]
        assert ("execution.recovered", None) in events
        assert ("step.recovered", "b2") in events
        starts = invariants.journal_starts(journal)
        assert starts[(row.id, "b2")] == 2  # at-least-once: ran again after the crash
        assert starts[(row.id, "a")] == 1  # completed before the crash: never again
        assert counts["handler_reruns"] >= 1


def test_repeated_deaths_hit_the_recovery_limit(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    journal = tmp_path / "journal.jsonl"
    seed(db_url, 1)
    outcomes = []
    for _ in range(4):
        outcomes.append(run_worker(db_url, journal, CRASH_KILL_RANDOM="1.0",
                                   LEDGERFLOW_RECOVERY_LIMIT="2").returncode)
    assert outcomes == [-9, -9, -9, 0]
    with App(db_url) as app:
        (row,) = app.list()
        assert row.status == "failed"
        assert row.error is not None and "recovered 3 times (limit 2)" in row.error
        assert app.verify(row.id).ok


def test_at_most_once_step_is_interrupted_not_rerun(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    journal = tmp_path / "journal.jsonl"
    flow = {"name": "once", "steps": [
        {"id": "pay", "agent": "crash.work", "at_most_once": True}]}
    seed(db_url, 1, flow)
    assert run_worker(db_url, journal, CRASH_KILL_IN_STEP="pay").returncode == -9
    assert run_worker(db_url, journal).returncode == 0
    with App(db_url) as app:
        (row,) = app.list()
        assert row.status == "failed"
        assert app.status(row.id).steps[0].status == "interrupted"
        assert invariants.journal_starts(journal)[(row.id, "pay")] == 1
        assert app.verify(row.id).ok


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def test_soak_random_sigkills(tmp_path: Path) -> None:
    """Hundreds of executions; the worker is SIGKILLed at random moments and restarted.

    A kill is due after a random number of handler starts (read from the journal), not
    after a span of time, so every run kills at least ``KILLS`` times however fast or slow
    the machine is; then the last worker runs to the end."""
    count = 1000 if LARGE else 300
    kills_wanted = 12 if LARGE else 5
    db_url = f"sqlite:///{tmp_path / 'soak.db'}"
    journal = tmp_path / "journal.jsonl"
    seed(db_url, count)
    rng = random.Random(20261122)
    kills = 0
    while True:
        started = _lines(journal)
        proc = subprocess.Popen(
            [sys.executable, str(CRASHING_WORKER), db_url, str(CRASH_AGENTS), "none", "1"],
            # the soak proves at-least-once under random kills; the recovery limit (which
            # a long soak can reach) has its own test
            env=process_env(journal=journal, CRASH_WORK_MS="5",
                            LEDGERFLOW_RECOVERY_LIMIT="1000"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )
        if kills < kills_wanted:
            due = started + rng.randint(5, 3 * count // kills_wanted)
            wait_for(lambda p=proc, d=due: _lines(journal) >= d or p.poll() is not None,
                     what="handler starts to kill the worker at")
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
                kills += 1
                continue
        _, stderr = proc.communicate(timeout=SAFETY)
        assert proc.returncode == 0, stderr
        break
    with App(db_url) as app:
        counts = invariants.check(app, journal, expected=count)
    assert kills >= 3, f"only {kills} kills: the soak did not exercise recovery"
    print(f"soak: {count} executions, {kills} SIGKILLs, {counts['handler_reruns']} re-runs")
