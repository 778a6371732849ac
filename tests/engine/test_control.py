"""Operator control through the Python API, on SQLite and on PostgreSQL: pause, edit,
resume, cancel, retry, rerun, fork, signals and waits, sleeps and session expiry."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from ledgerflow import App, errors
from ledgerflow.engine.rules import actions
from ledgerflow.settings import Settings
from ledgerflow.testing import FakeClock
from tests.support import SAFETY, Agents, Background, until_idle, wait_for

CHAIN = {
    "name": "chain",
    "steps": [
        {"id": "a", "agent": "t.echo", "output": "a"},
        {"id": "b", "agent": "t.gate", "needs": ["a"], "output": "b"},
        {"id": "c", "agent": "t.echo", "needs": ["b"],
         "input": {"x": "${has(state.x) ? state.x : 0}"}, "output": "c"},
        {"id": "d", "agent": "t.echo", "needs": ["c"], "output": "d"},
    ],
}
APPROVAL = {
    "name": "approval",
    "steps": [
        {"id": "prepare", "agent": "t.echo"},
        {"id": "approve", "type": "wait", "signal": "approve", "needs": ["prepare"],
         "output": "approval"},
        {"id": "book", "agent": "t.echo", "needs": ["approve"],
         "input": {"by": "${steps.approve.output.by}"}},
    ],
}


def statuses(app: App, eid: str) -> dict[str, str]:
    return {s.id: s.status for s in app.status(eid).steps}


def events(app: App, eid: str) -> list[str]:
    return [e.event_type for e in app.history(eid)]


def test_pause_stops_dispatch_running_step_finishes_edit_and_resume(app: App, agents: Agents
                                                                   ) -> None:
    app.apply(CHAIN)
    eid = app.start("chain")
    with Background(app):
        assert agents.gate.entered.wait(SAFETY)
        app.pause(eid, reason="check the data")
        agents.gate.opened.set()  # b finishes while paused and records its result
        wait_for(lambda: statuses(app, eid)["b"] == "completed")
        time.sleep(0.6)  # several polls: nothing new may start (a slower machine polls less)
        assert app.status(eid).status == "paused"
        assert statuses(app, eid)["c"] == "pending"
        version = app.set_state(eid, "x", 42, reason="fix x")
        assert app.state(eid, version).state["x"] == 42
        app.resume(eid)
        wait_for(lambda: app.status(eid).status == "completed")
    assert agents.calls == Counter({"a": 1, "b": 1, "c": 1, "d": 1})
    assert app.state(eid).state["c"]["data"] == {"x": 42}
    kinds = events(app, eid)
    assert kinds.index("execution.paused") < kinds.index("state.edited") \
        < kinds.index("execution.resumed")
    edited = next(e for e in app.history(eid) if e.event_type == "state.edited")
    assert edited.payload["before_sha256"] != edited.payload["after_sha256"]
    assert app.verify(eid).ok


def test_wrong_state_errors_name_the_state_and_what_is_allowed(app: App, agents: Agents
                                                               ) -> None:
    app.apply(CHAIN)
    agents.gate.opened.set()
    eid = app.start("chain")
    with pytest.raises(errors.InvalidTransition, match="it is pending; allowed when pending"):
        app.resume(eid)
    with pytest.raises(errors.InvalidTransition, match="pause it first"):
        app.set_state(eid, "x", 1)
    app.run_until_idle()
    with pytest.raises(errors.InvalidTransition, match="it is completed"):
        app.pause(eid)
    with pytest.raises(errors.InvalidTransition, match=r"cannot cancel .* it is completed"):
        app.cancel(eid)
    with pytest.raises(errors.InvalidTransition, match="cannot signal"):
        app.signal(eid, "approve")
    with pytest.raises(errors.ExecutionNotFound):
        app.pause("nope")


def test_resume_from_a_step_resets_it_and_its_dependents(app: App, agents: Agents) -> None:
    app.apply(CHAIN)
    agents.gate.opened.set()
    eid = app.start("chain")
    app.pause(eid)
    app.resume(eid)
    app.run_until_idle()
    # completed: rerun from c runs c and d again, never a or b
    reset = app.rerun(eid, "c", reason="recompute")
    assert reset == ["c", "d"]
    app.run_until_idle()
    assert app.status(eid).status == "completed"
    assert agents.calls == Counter({"a": 1, "b": 1, "c": 2, "d": 2})
    with pytest.raises(errors.NotFound, match="no step 'zz'"):
        app.rerun(eid, "zz")
    assert app.verify(eid).ok


def test_cancel_running_execution_is_cooperative_and_idempotent(app: App, agents: Agents
                                                                 ) -> None:
    app.apply(CHAIN)
    eid = app.start("chain")
    with Background(app):
        assert agents.gate.entered.wait(SAFETY)
        assert app.cancel(eid, reason="client withdrew") is True
        wait_for(lambda: agents.gate.saw_cancel == [True])
    assert app.status(eid).status == "cancelled"
    assert set(statuses(app, eid).values()) == {"completed", "cancelled"}
    assert app.cancel(eid) is False  # twice is harmless
    assert agents.calls["c"] == 0
    assert app.verify(eid).ok


def test_retry_reruns_only_failed_steps(app: App, agents: Agents) -> None:
    app.apply({"name": "r", "steps": [
        {"id": "a", "agent": "t.echo"},
        {"id": "b", "agent": "t.fail_once", "needs": ["a"]},
        {"id": "c", "agent": "t.echo", "needs": ["b"]},
    ]})
    eid = app.start("r")
    app.run_until_idle()
    assert app.status(eid).status == "failed"
    with pytest.raises(errors.InvalidTransition, match="allowed when failed: retry"):
        app.resume(eid)
    assert app.retry(eid) == ["b"]
    app.run_until_idle()
    assert app.status(eid).status == "completed"
    assert agents.calls == Counter({"a": 1, "b": 2, "c": 1})
    assert "execution.retried" in events(app, eid)
    assert app.verify(eid).ok


def test_fork_at_an_earlier_entry_gets_the_old_state(app: App, agents: Agents) -> None:
    app.apply(CHAIN)
    agents.gate.opened.set()
    eid = app.start("chain", {"who": "x"})
    app.run_until_idle()
    history = app.history(eid)
    after_b = next(e.seq for e in history if e.event_type == "step.completed"
                   and e.step_id == "b")
    fork = app.fork(eid, at_seq=after_b, input_patch={"who": "y"})
    row = app.execution(fork)
    assert (row.forked_from, row.forked_at_seq) == (eid, after_b)
    assert app.forks(eid) == [fork]
    assert set(app.state(fork).state) == {"a", "b"}
    assert statuses(app, fork) == {"a": "completed", "b": "completed", "c": "pending",
                                   "d": "pending"}
    app.run_until_idle()
    assert app.status(fork).status == "completed"
    assert agents.calls == Counter({"a": 1, "b": 1, "c": 2, "d": 2})
    assert row.input == {"who": "y"}
    assert events(app, eid)[-1] == "execution.forked"
    assert app.verify(eid).ok and app.verify(fork).ok
    with pytest.raises(errors.NotFound, match="no ledger entry 999"):
        app.fork(eid, at_seq=999)


def test_signal_before_and_after_the_wait(app: App) -> None:
    app.apply(APPROVAL)
    early = app.start("approval")
    app.signal(early, "approve", {"by": "ann"})  # before the wait began: kept for it
    late = app.start("approval")
    app.run_until_idle()
    assert app.status(early).status == "completed"
    assert app.status(late).status == "waiting"
    app.signal(late, "approve", {"by": "bob"})
    app.run_until_idle()
    report = app.status(late)
    assert report.status == "completed"
    assert report.result == {"step": "book", "data": {"by": "bob"}}
    assert app.state(late).state["approval"] == {"by": "bob"}
    assert {"execution.waiting", "signal.received", "execution.woken"} <= set(events(app, late))
    assert app.verify(early).ok and app.verify(late).ok


def test_signal_handlers_route_by_keywords_and_patch_state(app: App) -> None:
    app.apply({
        "name": "session",
        "steps": [{"id": "close", "type": "wait", "signal": "close"}],
        "on": {"note": [
            {"agent": "t.echo", "when": 'signal.data.text.matches("(?i)kyc")',
             "output": {"path": "doc", "mode": "append"}},
            {"agent": "t.echo", "when": 'signal.data.text.matches("(?i)custody")',
             "output": {"path": "doc", "mode": "append"}},
        ]},
    })
    eid = app.start("session")
    app.signal(eid, "note", {"text": "Start KYC"})
    app.run_until_idle()
    assert app.status(eid).status == "waiting"
    doc = app.state(eid).state["doc"]
    assert [d["data"]["text"] for d in doc] == ["Start KYC"]
    app.signal(eid, "note", {"text": "kyc and custody"})
    app.run_until_idle()
    assert len(app.state(eid).state["doc"]) == 3
    app.signal(eid, "close")
    app.run_until_idle()
    assert app.status(eid).status == "completed"
    assert app.verify(eid).ok


def test_sleep_survives_a_restart(app: App, clock: FakeClock) -> None:
    app.apply({"name": "nap", "steps": [
        {"id": "z", "type": "sleep", "for": "300ms"},
        {"id": "after", "agent": "t.echo", "needs": ["z"]},
    ]})
    eid = app.start("nap")
    with Background(app):
        wait_for(lambda: statuses(app, eid)["z"] == "running")
    # the worker went away mid-sleep; its deadline passes while none runs
    assert app.status(eid).status == "waiting"
    clock.advance(0.4)
    until_idle(app)  # a new worker fires the overdue timer at once: time stands still
    assert app.status(eid).status == "completed"
    assert app.verify(eid).ok


def test_wait_timeout_fails_the_step(app: App, clock: FakeClock) -> None:
    app.apply({"name": "w", "steps": [
        {"id": "w", "type": "wait", "signal": "go", "timeout": "200ms"}]})
    eid = app.start("w")
    with Background(app):
        wait_for(lambda: app.status(eid).status == "waiting")
        clock.advance(0.2)  # the running worker sees the deadline pass
        wait_for(lambda: app.status(eid).status == "failed")
    assert "no signal" in (app.status(eid).error or "") or "timed out" in (
        app.status(eid).error or "")


def test_session_ttl_expires(app: App, clock: FakeClock) -> None:
    app.apply(APPROVAL)
    eid = app.start("approval", ttl=0.5)
    row = app.execution(eid)
    assert row.expires_at is not None
    app.run_until_idle()
    assert app.status(eid).status == "waiting"
    clock.advance(0.6)
    app.run_until_idle()
    assert app.status(eid).status == "expired"
    assert "execution.expired" in events(app, eid)
    with pytest.raises(errors.InvalidTransition, match="it is expired"):
        app.signal(eid, "approve")
    assert app.verify(eid).ok


def test_concurrent_pause_one_wins_the_other_gets_a_conflict(app: App) -> None:
    app.apply(APPROVAL)
    eid = app.start("approval")
    other = App(app.db_url)
    try:
        app.pause(eid)
        with pytest.raises(errors.Conflict, match="it is paused"):
            other.pause(eid)
    finally:
        other.close()


def test_two_operators_at_once_one_wins_the_other_is_told(app: App) -> None:
    """The second pause is computed from the same rows as the first, which commits in
    between: the guard refuses it and the error says what happened instead."""
    app.apply(APPROVAL)
    eid = app.start("approval")
    other = App(app.db_url)
    raced: list[bool] = []

    def pause_while_the_other_pauses(tr: Any) -> None:
        if not raced:
            raced.append(True)
            other.pause(eid, reason="the other operator")
        actions.pause(tr, "me")

    try:
        with pytest.raises(errors.ConcurrentChange, match=r"execution.paused, ledger seq \d+\) "
                                                           r"and is now paused") as info:
            app._commands.apply(eid, "pause", pause_while_the_other_pauses)
    finally:
        other.close()
    paused = [e for e in app.history(eid) if e.event_type == "execution.paused"]
    assert [e.payload["reason"] for e in paused] == ["the other operator"]
    assert app.verify(eid).ok
    # what a program needs is in attributes; the message fits any caller (no CLI command)
    exc = info.value
    assert (exc.execution_id, exc.action, exc.current_status) == (eid, "pause", "paused")
    assert (exc.seq, exc.event_type) == (paused[0].seq, "execution.paused")
    assert exc.retryable is False and "ledgerflow " not in str(exc)
    assert str(exc).endswith("check its status before acting again")


def test_a_signal_racing_a_worker_is_retried_not_lost(app: App) -> None:
    app.apply(APPROVAL)
    eid = app.start("approval")
    sent: list[bool] = []

    def signal_while_a_worker_moves(tr: Any) -> None:
        if not sent:
            sent.append(True)
            app.run_until_idle()  # the execution moves on under the first attempt
        actions.signal(tr, "approve", {"by": "eve"})

    app._commands.apply(eid, "signal", signal_while_a_worker_moves, strict=False)
    app.run_until_idle()
    assert app.status(eid).status == "completed"
    assert app.state(eid).state["approval"] == {"by": "eve"}


def test_a_worker_on_a_moved_clock_looks_again_at_once(backend_url: str,
                                                        clock: FakeClock) -> None:
    """Moving a FakeClock wakes a running worker: it finds the session past its TTL now,
    not at its next poll (ten minutes away, on either clock)."""
    app = App(backend_url, clock=clock,
              settings=Settings(db_url=backend_url, poll_interval=600.0))
    try:
        app.apply({"name": "s", "steps": [{"id": "w", "type": "wait", "signal": "go"}]})
        eid = app.start("s", ttl=0.5)
        with Background(app):
            wait_for(lambda: app.status(eid).status == "waiting")
            clock.advance(0.5)
            wait_for(lambda: app.status(eid).status == "expired", what="the expiry",
                     timeout=SAFETY / 2)  # far less than the poll interval
    finally:
        app.close()


def test_an_expected_version_holds_until_the_commit(app: App) -> None:
    """``expected_seq`` (an HTTP If-Match) is checked against the rows the command commits
    on: a signal that lands between reading and committing makes it a VersionMismatch,
    and nothing of the pause is recorded."""
    app.apply(APPROVAL)
    eid = app.start("approval")
    read = app.execution(eid).head_seq
    other = App(app.db_url)
    raced: list[bool] = []

    def pause_while_a_signal_lands(tr: Any) -> None:
        if not raced:
            raced.append(True)
            other.signal(eid, "unrelated", {"n": 1})
        actions.pause(tr, "me")

    try:
        with pytest.raises(errors.VersionMismatch) as info:
            app._commands.apply(eid, "pause", pause_while_a_signal_lands, expected_seq=read)
    finally:
        other.close()
    now = app.execution(eid).head_seq
    assert (info.value.expected, info.value.current_version) == (read, now) and now > read
    assert "execution.paused" not in events(app, eid)
    app.pause(eid, expected_seq=now)  # the version read now holds: it applies
    assert app.status(eid).status == "paused"
    with pytest.raises(errors.VersionMismatch, match="read it again"):
        app.resume(eid, expected_seq=now)
