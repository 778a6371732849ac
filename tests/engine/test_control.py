"""Operator control through the Python API on a real SQLite file: pause, edit, resume,
cancel, retry, rerun, fork, signals and waits, sleeps and session expiry."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ledgerflow import App, errors
from ledgerflow.engine.rules import actions

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


class Gate:
    """Holds t.gate handlers until opened, so a test can act while a step runs."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.saw_cancel: list[bool] = []


@pytest.fixture
def app(db_url: str) -> Iterator[Any]:
    a = App(db_url)
    a.calls = Counter()  # type: ignore[attr-defined]
    a.gate = Gate()  # type: ignore[attr-defined]

    @a.agent("t.echo")
    def echo(ctx: Any, data: Any) -> Any:
        a.calls[ctx.step_id] += 1  # type: ignore[attr-defined]
        return {"step": ctx.step_id, "data": data}

    @a.agent("t.gate")
    def gate(ctx: Any, data: Any) -> Any:
        a.calls[ctx.step_id] += 1  # type: ignore[attr-defined]
        a.gate.entered.set()  # type: ignore[attr-defined]
        deadline = time.monotonic() + 20
        while not a.gate.opened.is_set() and not ctx.cancelled:  # type: ignore[attr-defined]
            if time.monotonic() > deadline:
                raise TimeoutError("gate never opened")
            time.sleep(0.01)
        a.gate.saw_cancel.append(ctx.cancelled)  # type: ignore[attr-defined]
        return {"gated": True}

    @a.agent("t.fail_once")
    def fail_once(ctx: Any, data: Any) -> Any:
        a.calls[ctx.step_id] += 1  # type: ignore[attr-defined]
        if a.calls[ctx.step_id] == 1:  # type: ignore[attr-defined]
            raise RuntimeError("first run fails")
        return {"ok": True}

    yield a
    a.close()


def in_background(app: Any) -> Callable[[], None]:
    """Run a worker in a thread; the returned function stops it and waits."""
    worker = app.worker(concurrency=4)
    thread = threading.Thread(target=worker.run)
    thread.start()

    def stop() -> None:
        worker.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()
    return stop


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def statuses(app: Any, eid: str) -> dict[str, str]:
    return {s.id: s.status for s in app.status(eid).steps}


def events(app: Any, eid: str) -> list[str]:
    return [e.event_type for e in app.history(eid)]


def test_pause_stops_dispatch_running_step_finishes_edit_and_resume(app: Any) -> None:
    app.apply(CHAIN)
    eid = app.start("chain")
    stop = in_background(app)
    try:
        assert app.gate.entered.wait(10)
        app.pause(eid, reason="check the data")
        app.gate.opened.set()  # b finishes while paused and records its result
        wait_for(lambda: statuses(app, eid)["b"] == "completed")
        time.sleep(0.6)  # several polls: nothing new may start
        assert app.status(eid).status == "paused"
        assert statuses(app, eid)["c"] == "pending"
        version = app.set_state(eid, "x", 42, reason="fix x")
        assert app.state(eid, version).state["x"] == 42
        app.resume(eid)
        wait_for(lambda: app.status(eid).status == "completed")
    finally:
        stop()
    assert app.calls == Counter({"a": 1, "b": 1, "c": 1, "d": 1})
    assert app.state(eid).state["c"]["data"] == {"x": 42}
    kinds = events(app, eid)
    assert kinds.index("execution.paused") < kinds.index("state.edited") \
        < kinds.index("execution.resumed")
    edited = next(e for e in app.history(eid) if e.event_type == "state.edited")
    assert edited.payload["before_sha256"] != edited.payload["after_sha256"]
    assert app.verify(eid).ok


def test_wrong_state_errors_name_the_state_and_what_is_allowed(app: Any) -> None:
    app.apply(CHAIN)
    app.gate.opened.set()
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


def test_resume_from_a_step_resets_it_and_its_dependents(app: Any) -> None:
    app.apply(CHAIN)
    app.gate.opened.set()
    eid = app.start("chain")
    app.pause(eid)
    app.resume(eid)
    app.run_until_idle()
    # completed: rerun from c runs c and d again, never a or b
    reset = app.rerun(eid, "c", reason="recompute")
    assert reset == ["c", "d"]
    app.run_until_idle()
    assert app.status(eid).status == "completed"
    assert app.calls == Counter({"a": 1, "b": 1, "c": 2, "d": 2})
    with pytest.raises(errors.NotFound, match="no step 'zz'"):
        app.rerun(eid, "zz")
    assert app.verify(eid).ok


def test_cancel_running_execution_is_cooperative_and_idempotent(app: Any) -> None:
    app.apply(CHAIN)
    eid = app.start("chain")
    stop = in_background(app)
    try:
        assert app.gate.entered.wait(10)
        assert app.cancel(eid, reason="client withdrew") is True
        wait_for(lambda: app.gate.saw_cancel == [True])
    finally:
        stop()
    assert app.status(eid).status == "cancelled"
    assert set(statuses(app, eid).values()) == {"completed", "cancelled"}
    assert app.cancel(eid) is False  # twice is harmless
    assert app.calls["c"] == 0
    assert app.verify(eid).ok


def test_retry_reruns_only_failed_steps(app: Any) -> None:
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
    assert app.calls == Counter({"a": 1, "b": 2, "c": 1})
    assert "execution.retried" in events(app, eid)
    assert app.verify(eid).ok


def test_fork_at_an_earlier_entry_gets_the_old_state(app: Any) -> None:
    app.apply(CHAIN)
    app.gate.opened.set()
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
    assert app.calls == Counter({"a": 1, "b": 1, "c": 2, "d": 2})
    assert row.input == {"who": "y"}
    assert events(app, eid)[-1] == "execution.forked"
    assert app.verify(eid).ok and app.verify(fork).ok
    with pytest.raises(errors.NotFound, match="no ledger entry 999"):
        app.fork(eid, at_seq=999)


def test_signal_before_and_after_the_wait(app: Any) -> None:
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


def test_signal_handlers_route_by_keywords_and_patch_state(app: Any) -> None:
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


def test_sleep_survives_a_restart(app: Any, db_url: str) -> None:
    app.apply({"name": "nap", "steps": [
        {"id": "z", "type": "sleep", "for": "300ms"},
        {"id": "after", "agent": "t.echo", "needs": ["z"]},
    ]})
    eid = app.start("nap")
    stop = in_background(app)
    wait_for(lambda: statuses(app, eid)["z"] == "running")
    stop()  # the worker goes away mid-sleep
    assert app.status(eid).status == "waiting"
    time.sleep(0.4)
    app.run_until_idle()  # a new worker fires the overdue timer at once
    assert app.status(eid).status == "completed"
    assert app.verify(eid).ok


def test_wait_timeout_fails_the_step(app: Any) -> None:
    app.apply({"name": "w", "steps": [
        {"id": "w", "type": "wait", "signal": "go", "timeout": "200ms"}]})
    eid = app.start("w")
    stop = in_background(app)
    try:
        wait_for(lambda: app.status(eid).status == "failed")
    finally:
        stop()
    assert "no signal" in (app.status(eid).error or "") or "timed out" in (
        app.status(eid).error or "")


def test_session_ttl_expires(app: Any) -> None:
    app.apply(APPROVAL)
    eid = app.start("approval", ttl=0.5)
    row = app.execution(eid)
    assert row.expires_at is not None
    app.run_until_idle()
    assert app.status(eid).status == "waiting"
    time.sleep(0.6)
    app.run_until_idle()
    assert app.status(eid).status == "expired"
    assert "execution.expired" in events(app, eid)
    with pytest.raises(errors.InvalidTransition, match="it is expired"):
        app.signal(eid, "approve")
    assert app.verify(eid).ok


def test_concurrent_pause_one_wins_the_other_gets_a_conflict(db_url: str, app: Any) -> None:
    app.apply(APPROVAL)
    eid = app.start("approval")
    other = App(db_url)
    try:
        app.pause(eid)
        with pytest.raises(errors.Conflict, match="it is paused"):
            other.pause(eid)
    finally:
        other.close()


def test_two_operators_at_once_one_wins_the_other_is_told(db_url: str, app: Any) -> None:
    """The second pause is computed from the same rows as the first, which commits in
    between: the guard refuses it and the error says what happened instead."""
    app.apply(APPROVAL)
    eid = app.start("approval")
    other = App(db_url)
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


def test_a_signal_racing_a_worker_is_retried_not_lost(app: Any) -> None:
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
