"""SIGKILL during operator control, signal delivery, sleeps and session expiry, then
restart: the execution is consistent and its ledger verifies.

* control (pause, resume, cancel, signal) commits in the operator's process: killed at each
  kill point of that one commit, the action is either all there or not there at all, and
  a worker started afterwards brings the execution to a consistent end;
* the worker's own commits (delivering a signal, waking a sleep, expiring a session) are
  killed at each kill point: a restarted worker finishes the job exactly once.

Real processes, a real database file. Set-up without an agent runs in this process. No test
waits for a TTL, a sleep or a deadline: the worker that must find it passed starts with its
clock ahead (``CRASH_CLOCK_AHEAD``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledgerflow import App, errors
from ledgerflow.settings import Settings
from ledgerflow.storage.rows import parse_column
from ledgerflow.testing import KILL_POINTS
from tests.acceptance import invariants
from tests.support import (
    ACCEPTANCE,
    CLOCK_AHEAD,
    CRASH_AGENTS,
    CRASHING_WORKER,
    LATER,
    process_env,
    run_worker,
    wait_for,
)

CONTROL = ACCEPTANCE / "crashing_control.py"
POLL = "0.05"  # seconds between a worker's polls: wake-ups and expiries are seen quickly
KILLED = -9
DATA = {"by": "ann", "n": 1}

APPROVAL = {
    "name": "approval",
    "steps": [
        {"id": "approve", "type": "wait", "signal": "approve", "output": "approval"},
        {"id": "book", "agent": "crash.work", "needs": ["approve"]},
    ],
}
SESSION = {
    "name": "session",
    "steps": [{"id": "close", "type": "wait", "signal": "close"}],
    "on": {"note": [{"agent": "crash.work", "output": {"path": "notes", "mode": "append"}}]},
}


def nap(duration: str) -> dict[str, Any]:
    return {"name": "nap", "steps": [
        {"id": "nap", "type": "sleep", "for": duration},
        {"id": "after", "agent": "crash.work", "needs": ["nap"]},
    ]}


@dataclass(frozen=True)
class Snapshot:
    """What an execution looks like from outside: equal snapshots, nothing changed."""

    status: str
    version: int
    head_seq: int
    head_hash: str
    steps: dict[str, str]
    signals: int
    wakeups: int


@dataclass
class Case:
    db_url: str
    journal: Path
    app: App  # in this process: set-up, inspection, operator actions that do not crash

    def env(self) -> dict[str, str]:
        return process_env(journal=self.journal, LEDGERFLOW_POLL_INTERVAL=POLL)

    def worker(self, point: str = "none", after: int = 1, *,
               later: bool = False) -> subprocess.CompletedProcess[str]:
        """A worker process run until idle, killed at ``point`` of its ``after``-th commit;
        ``later``: started ``LATER`` seconds from now (its clock is that far ahead)."""
        ahead = {CLOCK_AHEAD: str(LATER)} if later else {}
        return run_worker(self.db_url, self.journal, point, after,
                          LEDGERFLOW_POLL_INTERVAL=POLL, **ahead)

    def control(self, point: str, *args: str) -> subprocess.CompletedProcess[str]:
        """One operator action in its own process, killed at ``point`` of its commit."""
        return subprocess.run([sys.executable, str(CONTROL), self.db_url, point, *args],
                              env=self.env(), capture_output=True, text=True, timeout=60)

    def serving_worker(self, point: str) -> subprocess.Popen[str]:
        """A worker that keeps serving, killed at ``point`` of its first commit; returns
        once its start-up recovery is done."""
        proc = subprocess.Popen(
            [sys.executable, str(CONTROL), self.db_url, point, "serve", str(CRASH_AGENTS)],
            env=self.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            proc.kill()
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"the serving worker did not start: {line!r} {err}")
        return proc

    # set-up -------------------------------------------------------------------------
    def waiting(self, flow: dict[str, Any] = APPROVAL, ttl: float | None = None) -> str:
        """An execution whose first step waits for a signal (run here: no agent needed)."""
        self.app.apply(flow)
        eid = self.app.start(flow["name"], execution_id=f"x-{flow['name']}", ttl=ttl)
        self.app.run_until_idle()
        assert self.app.execution(eid).status == "waiting"
        return eid

    # reading --------------------------------------------------------------------------
    def snapshot(self, eid: str) -> Snapshot:
        row = self.app.execution(eid)
        return Snapshot(status=row.status, version=row.version, head_seq=row.head_seq,
                        head_hash=row.head_hash, steps=self.steps(eid),
                        signals=len(self.app.store.load_signals(eid)),
                        wakeups=sum(1 for _, e in self.app.store.wakeups_after(0) if e == eid))

    def steps(self, eid: str) -> dict[str, str]:
        return {s.step_id: s.status for s in self.app.store.load_steps(eid)}

    def output(self, eid: str, step_id: str) -> Any:
        (row,) = [s for s in self.app.store.load_steps(eid) if s.step_id == step_id]
        return parse_column(row.output, step_id)

    def events(self, eid: str) -> list[str]:
        return [e.event_type for e in self.app.history(eid)]

    def started(self, eid: str, step_id: str) -> int:
        """How often the step's handler started (the agents' journal)."""
        return invariants.journal_starts(self.journal)[(eid, step_id)]

    def verified(self, eid: str) -> None:
        result = self.app.verify(eid)
        assert result.ok, result.message


@pytest.fixture
def case(tmp_path: Path) -> Iterator[Case]:
    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    app = App(db_url, settings=Settings(db_url=db_url, poll_interval=float(POLL)))
    yield Case(db_url=db_url, journal=tmp_path / "journal.jsonl", app=app)
    app.close()


points = pytest.mark.parametrize("point", KILL_POINTS)


# control: the operator's process dies while committing ------------------------------------
def crash_control(case: Case, point: str, eid: str, action: list[str], *,
                  events: list[str], status: str, steps: dict[str, str]) -> bool:
    """Run ``action`` killed at ``point`` and check it is all there or not there at all:
    ``events`` appended, ``status`` and ``steps`` set, one wake-up for the workers.
    Returns whether it committed (it must exactly when killed after the commit)."""
    before = case.snapshot(eid)
    proc = case.control(point, action[0], eid, *action[1:])
    assert proc.returncode == KILLED, proc.stdout + proc.stderr
    assert "done" not in proc.stdout  # it died inside the action, not after it
    after = case.snapshot(eid)
    case.verified(eid)
    if point != "after_commit":
        assert after == before, f"{action[0]} killed {point} left a trace"
        return False
    assert case.events(eid)[before.head_seq:] == events
    assert after.head_seq == before.head_seq + len(events)
    assert after.version == before.version + 1
    assert after.wakeups == before.wakeups + 1
    assert (after.status, after.steps) == (status, steps)
    return True


@points
def test_pause_killed_while_committing(case: Case, point: str) -> None:
    eid = case.waiting()
    applied = crash_control(case, point, eid, ["pause"], events=["execution.paused"],
                            status="paused", steps={"approve": "running", "book": "pending"})
    if not applied:
        case.app.pause(eid)  # the operator sees no "paused" and pauses again: it works
    case.app.signal(eid, "approve", DATA)
    paused = case.snapshot(eid)
    assert paused.status == "paused"
    assert case.worker().returncode == 0
    assert case.snapshot(eid) == paused  # left alone: the signal waits for the resume
    assert case.started(eid, "book") == 0
    case.app.resume(eid)
    assert case.worker().returncode == 0
    counts = invariants.check(case.app, case.journal, expected=1)
    assert counts["handler_reruns"] == 0
    assert Counter(case.events(eid))["execution.paused"] == 1
    assert case.output(eid, "approve") == DATA
    assert case.started(eid, "book") == 1


@points
def test_resume_killed_while_committing(case: Case, point: str) -> None:
    eid = case.waiting()
    case.app.pause(eid)
    case.app.signal(eid, "approve", DATA)  # kept while paused
    applied = crash_control(case, point, eid, ["resume"], events=["execution.resumed"],
                            status="running", steps={"approve": "running", "book": "pending"})
    if not applied:
        assert case.app.execution(eid).status == "paused"
        case.app.resume(eid)
    assert case.worker().returncode == 0
    invariants.check(case.app, case.journal, expected=1)
    assert Counter(case.events(eid))["execution.resumed"] == 1
    assert case.output(eid, "approve") == DATA
    assert case.started(eid, "book") == 1


@points
def test_cancel_killed_while_committing(case: Case, point: str) -> None:
    eid = case.waiting()
    applied = crash_control(
        case, point, eid, ["cancel"],
        events=["step.cancelled", "step.cancelled", "execution.cancelled"],
        status="cancelled", steps={"approve": "cancelled", "book": "cancelled"})
    assert case.app.cancel(eid) is not applied  # again: done now, or harmless
    cancelled = case.snapshot(eid)
    assert cancelled.status == "cancelled"
    assert set(cancelled.steps.values()) == {"cancelled"}
    assert case.worker().returncode == 0
    assert case.snapshot(eid) == cancelled  # stays cancelled, nothing runs
    assert case.started(eid, "book") == 0
    with pytest.raises(errors.InvalidTransition, match="it is cancelled"):
        case.app.signal(eid, "approve", DATA)
    assert Counter(case.events(eid))["execution.cancelled"] == 1
    case.verified(eid)


@points
def test_signal_killed_while_committing(case: Case, point: str) -> None:
    eid = case.waiting()
    applied = crash_control(case, point, eid, ["signal", "approve", json.dumps(DATA)],
                            events=["signal.received"], status="waiting",
                            steps={"approve": "running", "book": "pending"})
    if not applied:
        assert case.app.store.load_signals(eid) == []  # simply absent
        case.app.signal(eid, "approve", DATA)  # sent again
    assert case.worker().returncode == 0
    invariants.check(case.app, case.journal, expected=1)
    (signal,) = case.app.store.load_signals(eid)
    assert (signal.name, signal.consumed_by) == ("approve", "approve")
    assert case.output(eid, "approve") == DATA
    assert case.started(eid, "book") == 1


# the worker dies while delivering a signal ----------------------------------------------
@points
@pytest.mark.parametrize("via", ["startup", "wakeup"])
def test_signal_delivery_killed_then_delivered_once(case: Case, point: str, via: str) -> None:
    eid = case.waiting()
    if via == "startup":  # stored while no worker ran; the next one delivers it at start
        case.app.signal(eid, "approve", DATA)
        assert case.worker(point).returncode == KILLED
    else:  # a serving worker hears of it through the wake-up and delivers it
        proc = case.serving_worker(point)
        try:
            case.app.signal(eid, "approve", DATA)
            proc.wait(timeout=30)  # stdin stays open: only the kill point ends it
        finally:
            if proc.poll() is None:
                proc.kill()
            _, err = proc.communicate()
        assert proc.returncode == KILLED, err
    case.verified(eid)
    (signal,) = case.app.store.load_signals(eid)
    if point == "after_commit":  # delivered, and book dispatched but never started
        assert signal.consumed_by == "approve"
        assert case.steps(eid) == {"approve": "completed", "book": "running"}
        assert case.app.execution(eid).status == "running"
    else:
        assert signal.consumed_by is None
        assert case.steps(eid) == {"approve": "running", "book": "pending"}
        assert case.app.execution(eid).status == "waiting"
    assert case.started(eid, "book") == 0
    assert case.worker().returncode == 0
    counts = invariants.check(case.app, case.journal, expected=1)
    assert counts["handler_reruns"] == 0
    (signal,) = case.app.store.load_signals(eid)
    assert signal.consumed_by == "approve"
    assert case.output(eid, "approve") == DATA
    assert case.app.state(eid).state["approval"] == DATA
    assert case.started(eid, "book") == 1
    history = [(e.event_type, e.step_id) for e in case.app.history(eid)]
    assert history.count(("step.completed", "approve")) == 1
    assert (("step.recovered", "book") in history) == (point == "after_commit")


@points
def test_signal_handler_routing_killed_then_routed_once(case: Case, point: str) -> None:
    eid = case.waiting(SESSION)
    case.app.signal(eid, "note", {"text": "hello"})
    assert case.worker(point).returncode == KILLED
    case.verified(eid)
    run = f"on.note.0@{case.app.store.load_signals(eid)[0].seq}"
    assert (run in case.steps(eid)) == (point == "after_commit")
    assert case.worker().returncode == 0
    assert case.steps(eid) == {"close": "running", run: "completed"}
    assert case.started(eid, run) == 1
    assert Counter(case.events(eid))["signal.routed"] == 1
    notes = case.app.state(eid).state["notes"]
    assert [n["step"] for n in notes] == [run]
    invariants.check(case.app, case.journal, expected=1, final_status="waiting")


# sleeps -----------------------------------------------------------------------------------
def sleeping_until(case: Case, eid: str) -> str:
    """The deadline the sleep recorded when it began (its only ``step.sleeping`` entry)."""
    (entry,) = [e for e in case.app.history(eid) if e.event_type == "step.sleeping"]
    until: str = entry.payload["until"]
    return until


@points
def test_sleep_wakeup_killed_then_completed_once(case: Case, point: str) -> None:
    case.app.apply(nap("300ms"))
    eid = case.app.start("nap", execution_id="x-nap")
    # commit 1 starts the execution and the sleep; commit 2 is the wake-up
    assert case.worker(point, after=2).returncode == KILLED
    case.verified(eid)
    if point == "after_commit":
        assert case.steps(eid) == {"nap": "completed", "after": "running"}
    else:
        assert case.steps(eid) == {"nap": "running", "after": "pending"}
        assert case.app.execution(eid).status == "waiting"
    assert case.worker().returncode == 0
    invariants.check(case.app, case.journal, expected=1)
    assert case.output(eid, "nap") == {"slept_until": sleeping_until(case, eid)}
    assert case.started(eid, "after") == 1


def test_worker_killed_mid_sleep_then_restarted_after_the_due_time(case: Case) -> None:
    case.app.apply(nap(f"{LATER:g}s"))
    eid = case.app.start("nap", execution_id="x-nap")
    proc = subprocess.Popen([sys.executable, str(CRASHING_WORKER), case.db_url,
                             str(CRASH_AGENTS)], env=case.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: case.steps(eid).get("nap") == "running" or proc.poll() is not None,
                 what="the sleep began")
        assert proc.poll() is None, "the worker ended before the sleep began"
    finally:
        proc.kill()  # SIGKILL while the step sleeps
        proc.communicate()
    assert proc.returncode == KILLED
    assert case.app.execution(eid).status == "waiting"
    case.verified(eid)
    due = datetime.fromisoformat(sleeping_until(case, eid).replace("Z", "+00:00"))
    assert case.worker(later=True).returncode == 0  # its clock: past the due time
    invariants.check(case.app, case.journal, expected=1)
    (woke,) = [e for e in case.app.history(eid)
               if e.event_type == "step.completed" and e.step_id == "nap"]
    woke_at = datetime.fromisoformat(woke.occurred_at.replace("Z", "+00:00"))
    # at once: the stored deadline is kept; a sleep started over on restart would wake a
    # whole sleep after the restart, which is itself after the due time
    assert due <= woke_at < due + timedelta(seconds=LATER)
    assert case.output(eid, "nap") == {"slept_until": sleeping_until(case, eid)}
    assert case.started(eid, "after") == 1


# session expiry ---------------------------------------------------------------------------
@points
def test_expiry_killed_then_expired_once(case: Case, point: str) -> None:
    eid = case.waiting(ttl=LATER)
    assert case.app.execution(eid).expires_at is not None
    # started after the TTL, with nothing else to commit: its first commit is the expiry
    assert case.worker(point, later=True).returncode == KILLED
    case.verified(eid)
    expected = "expired" if point == "after_commit" else "waiting"
    assert case.app.execution(eid).status == expected
    assert case.worker(later=True).returncode == 0
    row = case.app.execution(eid)
    assert row.status == "expired" and row.finished_at is not None
    assert Counter(case.events(eid))["execution.expired"] == 1
    assert case.events(eid)[-1] == "execution.expired"
    assert case.steps(eid) == {"approve": "cancelled", "book": "cancelled"}
    assert case.started(eid, "book") == 0
    case.verified(eid)
    with pytest.raises(errors.InvalidTransition, match="it is expired"):
        case.app.signal(eid, "approve", DATA)


TASKS = {"name": "tasks", "steps": [
    {"id": "a", "agent": "crash.work"},
    {"id": "b", "agent": "crash.work", "needs": ["a"]},
]}


@pytest.mark.parametrize("before", ["never_started", "killed_in_a_step"])
def test_session_past_its_ttl_at_worker_start_runs_nothing(case: Case, before: str) -> None:
    case.app.apply(TASKS)
    eid = case.app.start("tasks", execution_id="x-tasks", ttl=LATER)
    ran = 0
    if before == "killed_in_a_step":  # the worker dies inside a; the next starts past the TTL
        assert run_worker(case.db_url, case.journal, CRASH_KILL_IN_STEP="a",
                          LEDGERFLOW_POLL_INTERVAL=POLL).returncode == KILLED
        ran = 1
    assert case.app.execution(eid).expires_at is not None
    assert case.worker(later=True).returncode == 0  # started after the TTL
    assert case.started(eid, "a") == ran  # fails: a's handler starts again after the TTL
    assert case.app.execution(eid).status == "expired"
    case.verified(eid)
