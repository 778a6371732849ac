"""The engine through the Python API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from ledgerflow import App, errors
from ledgerflow.testing import FakeClock
from tests.support import Agents, Background, diamond, wait_for

DIAMOND = diamond("t.echo", flaky="t.flaky")


def test_diamond_with_skipped_branch_and_flaky_step(app: App, agents: Agents) -> None:
    app.apply(DIAMOND)
    eid = app.start("diamond", {"mode": "short", "n": 7})
    app.run_until_idle()
    report = app.status(eid)
    assert report.status == "completed"
    steps = {s.id: s for s in report.steps}
    assert steps["c"].status == "skipped"
    assert steps["b"].attempts == 2 and steps["b"].status == "completed"
    assert steps["d"].status == "completed"
    assert report.progress.completed == 3 and report.progress.skipped == 1
    assert report.progress.percentage == 100.0
    assert agents.calls == Counter({"a": 1, "b": 2, "d": 1})
    assert report.result["data"]["b"] == {"attempt": 2, "key": f"{eid}:b"}
    state = app.state(eid).state
    assert state["a"]["data"] == {"n": 7}
    assert len(state["log"]) == 1
    assert app.verify(eid).ok


def test_full_branch_runs_when_condition_true(app: App) -> None:
    app.apply(DIAMOND)
    eid = app.start("diamond", {"mode": "full", "n": 1})
    app.run_until_idle()
    assert {s.id: s.status for s in app.status(eid).steps}["c"] == "completed"


def test_history_records_every_transition_in_order(app: App) -> None:
    app.apply(DIAMOND)
    eid = app.start("diamond", {"mode": "short", "n": 1})
    app.run_until_idle()
    events = [(e.event_type, e.step_id) for e in app.history(eid)]
    assert events[0] == ("execution.created", None)
    assert events[1] == ("execution.started", None)
    assert ("step.skipped", "c") in events
    assert ("step.retry_scheduled", "b") in events
    assert events[-1] == ("execution.completed", None)
    seqs = [e.seq for e in app.history(eid)]
    assert seqs == list(range(1, len(seqs) + 1))
    made = [e.state_version for e in app.history(eid) if e.state_version]
    assert made == [1, 2, 3]


def test_history_read_in_pages_is_the_whole_history_cut(app: App) -> None:
    app.apply(DIAMOND)
    eid = app.start("diamond", {"mode": "short", "n": 1})
    app.run_until_idle()
    whole = app.history(eid)
    for after in range(len(whole) + 1):
        for limit in (1, 2, 5, None):
            page = app.history(eid, after, limit)
            assert page == whole[after:][:limit], (after, limit)
    assert app.history(eid, len(whole) + 5) == []


def test_entries_of_some_types_are_the_whole_historys_newest_of_them(app: App) -> None:
    app.apply({"name": "w", "steps": [{"id": "w", "type": "wait", "signal": "go"}]})
    eid = app.start("w", {})
    app.run_until_idle()
    assert app.last_control(eid) is None and app.history_of_types(eid, ["nothing"]) == []
    app.pause(eid, "one")
    app.patch_state(eid, {"k": 1}, reason="two")
    app.resume(eid, "three")
    app.signal(eid, "other", {"n": 1})
    app.signal(eid, "again", {"n": 2})
    whole = app.history(eid)
    kinds = ["signal.received", "state.edited"]
    wanted = [e for e in whole if e.event_type in kinds]
    for newest in (1, 2, 3, 50):
        assert app.history_of_types(eid, kinds, newest) == wanted[-newest:], newest
    edited = app.history_of_types(eid, ["state.edited"])[0]
    assert edited.state_version == 2  # the state version it made, as history says
    last = app.last_control(eid)
    assert last is not None and (last.event_type, last.payload["reason"]) == (
        "execution.resumed", "three")


def test_state_versions_rebuild_exactly(app: App) -> None:
    app.apply(DIAMOND)
    eid = app.start("diamond", {"mode": "short", "n": 1})
    app.run_until_idle()
    assert app.state(eid, 1).state == {}
    assert set(app.state(eid, 2).state) == {"a"}
    assert set(app.state(eid, 3).state) == {"a", "log"}
    with pytest.raises(errors.NotFound, match="no state version 9"):
        app.state(eid, 9)


def test_exhausted_retries_fail_the_execution_with_the_error(app: App, agents: Agents
                                                            ) -> None:
    app.apply({"name": "broken", "steps": [
        {"id": "x", "agent": "t.echo"},
        {"id": "y", "agent": "t.fail", "needs": ["x"], "retry": {"max_attempts": 2,
                                                                  "initial": "1ms"}},
        {"id": "z", "agent": "t.echo", "needs": ["y"]},
    ]})
    eid = app.start("broken")
    app.run_until_idle()
    report = app.status(eid)
    assert report.status == "failed"
    assert report.error is not None
    assert "'y'" in report.error and "always broken" in report.error
    assert {s.id: s.status for s in report.steps} == {"x": "completed", "y": "failed",
                                                      "z": "pending"}
    assert agents.calls["y"] == 2 and agents.calls["z"] == 0
    assert app.verify(eid).ok


def test_timeout_fails_the_attempt_and_retries(app: App, clock: FakeClock) -> None:
    """The first attempt is still running at its deadline: it fails, and its retry runs."""
    entered, release = threading.Event(), threading.Event()

    @app.agent("t.slow")
    def slow(ctx: Any, data: Any) -> Any:
        if ctx.attempt == 1:
            entered.set()
            release.wait(60)  # stuck until the test ends it, long after its deadline
        return "done"

    app.apply({"name": "slow", "steps": [
        {"id": "s", "agent": "t.slow", "timeout": "100ms",
         "retry": {"max_attempts": 2, "initial": "1ms"}}]})
    eid = app.start("slow")
    with Background(app):
        try:
            assert entered.wait(60)
            clock.advance(0.1)  # the deadline: the attempt times out, its retry is due in 1 ms
            wait_for(lambda: "step.retry_scheduled" in kinds(app, eid), what="the timeout")
            clock.advance(0.001)
            wait_for(lambda: app.status(eid).status == "completed", what="the retry")
        finally:
            release.set()
    report = app.status(eid)
    assert report.status == "completed"
    assert report.steps[0].attempts == 2
    events = [e for e in app.history(eid) if e.event_type == "step.retry_scheduled"]
    assert "timed out" in events[0].payload["error"]


def test_parallel_steps_run_concurrently(app: App) -> None:
    barrier = threading.Barrier(3, timeout=5)

    @app.agent("t.meet")
    def meet(ctx: Any, data: Any) -> Any:
        barrier.wait()  # only returns if all three branches run at the same time
        return ctx.step_id

    app.apply({"name": "fan", "steps": [
        {"id": "p1", "agent": "t.meet"}, {"id": "p2", "agent": "t.meet"},
        {"id": "p3", "agent": "t.meet"}]})
    eid = app.start("fan")
    app.run_until_idle(concurrency=4)
    assert app.status(eid).status == "completed"
    assert app.status(eid).result == {"p1": "p1", "p2": "p2", "p3": "p3"}


def test_idempotent_start(app: App) -> None:
    app.apply(DIAMOND)
    first = app.start("diamond", {"mode": "x"}, execution_id="order-1")
    assert app.start("diamond", {"mode": "x"}, execution_id="order-1") == first == "order-1"
    with pytest.raises(errors.IdempotencyConflict, match="different input"):
        app.start("diamond", {"mode": "y"}, execution_id="order-1")
    assert len(app.list()) == 1


def test_input_schema_is_enforced(app: App) -> None:
    app.apply(DIAMOND)
    with pytest.raises(errors.InputValidationError, match="'mode' is a required property"):
        app.start("diamond", {"n": 1})
    assert app.list() == []


def test_unknown_workflow_and_execution(app: App) -> None:
    with pytest.raises(errors.WorkflowNotFound, match="nope"):
        app.start("nope")
    with pytest.raises(errors.ExecutionNotFound, match="missing-id"):
        app.status("missing-id")


def test_a_missing_agent_leaves_the_step_waiting_for_one(app: App) -> None:
    app.apply({"name": "orphan", "steps": [{"id": "s", "agent": "nobody.home"}]})
    eid = app.start("orphan")
    app.run_until_idle()
    app.run_until_idle()  # a second worker without it records nothing more
    report = app.status(eid)
    assert (report.status, report.steps[0].status) == ("running", "pending")
    waits = [e for e in app.history(eid) if e.event_type == "step.waiting_for_agent"]
    assert [w.payload for w in waits] == [{"capability": "nobody.home"}]


def test_output_must_be_json(app: App) -> None:
    @app.agent("t.bad")
    def bad(ctx: Any, data: Any) -> Any:
        return {"when": object()}

    app.apply({"name": "bad", "steps": [{"id": "s", "agent": "t.bad"}]})
    eid = app.start("bad")
    app.run_until_idle()
    assert "the output cannot be stored: output.when: object is not a JSON type" in \
        (app.status(eid).error or "")


def test_when_error_fails_the_step(app: App) -> None:
    app.apply({"name": "w", "steps": [{"id": "s", "agent": "t.echo",
                                        "when": "input.missing.deeper == 1"}]})
    eid = app.start("w", {})
    app.run_until_idle()
    report = app.status(eid)
    assert report.status == "failed" and "when" in (report.error or "")


def test_group_commit_shares_commits_across_executions(app: App) -> None:
    @app.agent("t.nap")
    def nap(ctx: Any, data: Any) -> Any:
        time.sleep(0.01)
        return 1

    app.apply({"name": "chain", "steps": [
        {"id": f"s{i}", "agent": "t.nap", **({"needs": [f"s{i-1}"]} if i else {})}
        for i in range(5)]})
    ids = [app.start("chain") for _ in range(40)]
    report = app.run_until_idle(concurrency=40)
    assert all(app.status(i).status == "completed" for i in ids)
    assert report.steps_run == 200
    assert report.commits < report.changes  # several executions per transaction
    assert all(r.ok for r in app.verify_all())


def test_reapplying_same_definition_keeps_version(app: App) -> None:
    first = app.apply(DIAMOND)
    again = app.apply(DIAMOND)
    assert (first.version, first.created) == (1, True)
    assert (again.version, again.created) == (1, False)
    changed = app.apply({**DIAMOND, "description": "changed"})
    assert changed.version == 2 and changed.sha256 != first.sha256


def test_starts_racing_a_starting_in_process_worker(app: App) -> None:
    """Executions started while the worker's start-up scan runs are neither lost nor run
    twice (regression: the scan recovered an execution the starter had just activated)."""
    app.apply({"name": "two", "steps": [{"id": "a", "agent": "t.echo"},
                                         {"id": "b", "agent": "t.echo", "needs": ["a"]}]})
    for _round in range(5):
        worker = app.worker(concurrency=4)
        app._worker = worker
        thread = threading.Thread(target=worker.run)
        thread.start()
        ids = [app.start("two") for _ in range(20)]
        wait_for(lambda: all(app.status(i).status == "completed" for i in ids),  # noqa: B023
                 what="every execution completed")
        worker.stop()
        thread.join()
        app._worker = None
        assert [app.status(i).status for i in ids] == ["completed"] * 20
        for i in ids:
            assert [e.event_type for e in app.history(i)].count("step.completed") == 2
            assert app.status(i).recoveries == 0


def test_eta_from_earlier_runs_of_the_workflow(app: App) -> None:
    app.apply(DIAMOND)
    first = app.start("diamond", {"mode": "short", "n": 1})
    assert app.status(first).timing.eta_seconds is None  # no history yet
    app.run_until_idle()
    done = app.status(first)
    assert done.timing.eta_seconds is None  # finished
    assert done.timing.expected_duration_seconds == done.timing.duration_seconds
    waiting = app.status(app.start("diamond", {"mode": "short", "n": 2}))
    assert waiting.timing.eta_seconds == done.timing.duration_seconds


def test_state_diff_is_a_json_patch(app: App) -> None:
    app.apply(DIAMOND)
    eid = app.start("diamond", {"mode": "short", "n": 5})
    app.run_until_idle()
    assert app.state_diff(eid, 1, 2) == [
        {"op": "add", "path": "/a", "value": {"step": "a", "data": {"n": 5}}}]
    assert [op["path"] for op in app.state_diff(eid, 2, 3)] == ["/log"]
    assert app.state_diff(eid, 3, 3) == []
    with pytest.raises(errors.NotFound, match="no state version 7"):
        app.state_diff(eid, 1, 7)


def kinds(app: App, eid: str) -> list[str]:
    return [e.event_type for e in app.history(eid)]
