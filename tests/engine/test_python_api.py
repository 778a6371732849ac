"""The Python API that runs and waits: ``app.launch()`` runs a worker in a background
thread, ``app.result()`` waits for an execution's end, ``app.run()`` does both for one call,
and ``run_until_idle()`` returns as soon as nothing can progress. On both backends.

Timeouts here are the caller's (``result(timeout=)``) or safety nets that turn a hang into
a failure; none measures the engine's speed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ledgerflow import App, errors
from ledgerflow.settings import Settings
from tests.support import SAFETY, Agents

CHAIN = {"name": "chain", "steps": [
    {"id": "one", "agent": "t.echo", "input": {"n": "${input.n}"}},
    {"id": "two", "agent": "t.echo", "needs": ["one"], "input": {"n": "${input.n}"}},
]}
BROKEN = {"name": "broken", "steps": [
    {"id": "fine", "agent": "t.echo"},
    {"id": "boom", "agent": "t.fail", "needs": ["fine"]},
]}
WAIT = {"name": "wait", "steps": [
    {"id": "w", "type": "wait", "signal": "go"},
    {"id": "after", "agent": "t.echo", "needs": ["w"]},
]}
NEVER = 3600.0  # seconds: a poll interval no test waits out


@pytest.fixture
def make(backend_url: str, agents: Agents) -> Iterator[Callable[..., App]]:
    """Apps on the test's database with the test agents and workflows; closed afterwards."""
    made: list[App] = []

    def new(**settings: Any) -> App:
        app = App(backend_url, settings=Settings(**settings))
        made.append(app)
        agents.register(app)
        for flow in (CHAIN, BROKEN, WAIT):
            app.apply(flow)
        return app

    yield new
    for app in made:
        app.close()


def _in_thread(call: Callable[[], Any]) -> Any:
    """``call()`` in another thread; fails if it has not returned within the safety net."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(call()), daemon=True)
    thread.start()
    thread.join(SAFETY)
    assert not thread.is_alive(), f"did not return within {SAFETY:g} s"
    assert box, "raised (see the thread's error above)"
    return box[0]


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ledgerflow-worker"]


def test_launch_then_start_then_result(make: Callable[..., App]) -> None:
    with make() as app:
        assert app.launch() is app
        assert app.launch() is app  # idempotent: still one worker
        assert len(_workers()) == 1
        eid = app.start("chain", {"n": 7})
        assert app.result(eid) == {"step": "two", "data": {"n": 7}}
        assert app.result(eid) == {"step": "two", "data": {"n": 7}}  # ended: at once
    assert _workers() == []  # leaving ``with app:`` stopped it


def test_result_wakes_on_the_in_process_commit_not_on_a_poll(
        make: Callable[..., App]) -> None:
    app = make(poll_interval=NEVER).launch()
    eid = app.start("chain", {"n": 1})
    assert _in_thread(lambda: app.result(eid)) == {"step": "two", "data": {"n": 1}}


def test_result_sees_an_end_committed_by_another_apps_worker(
        make: Callable[..., App]) -> None:
    waiter, runner = make(), make()  # as if in two processes: nothing shared but the db
    eid = waiter.start("chain", {"n": 2})
    runner.launch()
    assert waiter.result(eid) == {"step": "two", "data": {"n": 2}}


def test_a_failed_execution_raises_execution_failed(make: Callable[..., App]) -> None:
    app = make().launch()
    eid = app.start("broken")
    with pytest.raises(errors.ExecutionFailed) as caught:
        app.result(eid)
    failed = caught.value
    assert (failed.execution_id, failed.status, failed.step_id) == (eid, "failed", "boom")
    assert failed.error is not None and "always broken" in failed.error
    assert str(failed) == f"execution {eid} failed: {failed.error}"


def test_a_cancelled_execution_raises_execution_failed_with_the_reason(
        make: Callable[..., App]) -> None:
    app = make().launch()
    eid = app.start("wait")
    app.cancel(eid, reason="not needed")
    with pytest.raises(errors.ExecutionFailed) as caught:
        app.result(eid)
    assert (caught.value.status, caught.value.step_id, caught.value.error) == \
        ("cancelled", None, "not needed")


def test_a_waiting_execution_times_out_and_can_be_waited_for_again(
        make: Callable[..., App]) -> None:
    app = make().launch()
    eid = app.start("wait")
    with pytest.raises(TimeoutError) as caught:
        app.result(eid, timeout=0.2)
    timeout = caught.value
    assert isinstance(timeout, errors.ResultTimeout)
    assert (timeout.execution_id, timeout.timeout) == (eid, 0.2)
    app.signal(eid, "go")
    assert app.result(eid) == {"step": "after", "data": {}}


def test_result_of_an_unknown_id_is_not_found_at_once(make: Callable[..., App]) -> None:
    with pytest.raises(errors.ExecutionNotFound):
        make().result("no-such-execution")


def test_run_returns_the_result_and_leaves_no_worker_behind(
        make: Callable[..., App]) -> None:
    app = make()
    before = set(threading.enumerate())
    assert app.run("chain", input={"n": 3}) == {"step": "two", "data": {"n": 3}}
    assert set(threading.enumerate()) - before == set()
    assert app.run("chain", input={"n": 3}, execution_id="same") == \
        app.run("chain", input={"n": 3}, execution_id="same")  # idempotent by id
    with pytest.raises(errors.ResultTimeout):
        app.run("wait", timeout=0.1)
    assert set(threading.enumerate()) - before == set()


def test_run_uses_a_launched_worker_and_leaves_it_running(make: Callable[..., App]) -> None:
    app = make().launch()
    [worker] = _workers()
    with pytest.raises(errors.ExecutionFailed):
        app.run("broken")
    assert _workers() == [worker]
    app.close()
    assert _workers() == []


def test_run_until_idle_returns_without_waiting_for_a_poll(make: Callable[..., App]) -> None:
    app = make(poll_interval=NEVER)
    done = app.start("chain", {"n": 4})
    waiting = app.start("wait")
    report = _in_thread(app.run_until_idle)
    assert report.steps_run == 2
    assert app.execution(done).status == "completed"
    assert app.execution(waiting).status == "waiting"
    assert _in_thread(app.run_until_idle).steps_run == 0  # nothing at all: returns too


def test_launch_on_a_locked_sqlite_database_raises_and_leaves_nothing(db_url: str) -> None:
    first, second = App(db_url).launch(), App(db_url)
    try:
        with pytest.raises(errors.WorkerLockHeld):
            second.launch()
        assert len(_workers()) == 1
    finally:
        second.close()
        first.close()
    assert _workers() == []


def test_a_worker_claims_waiting_work_as_its_slots_free_not_on_a_poll(
        pg_url: str, agents: Agents) -> None:
    """PostgreSQL (a worker claims only what its free slots can take, 8 per slot): work
    that was announced while every slot was busy, and the rest of a full claim, are
    claimed the moment the executions held end, never after a poll interval (here an
    hour, so a worker that waited for one would never finish)."""
    with App(pg_url) as starter, \
            App(pg_url, settings=Settings(poll_interval=NEVER)) as runner:
        agents.register(runner)
        starter.apply(CHAIN)
        runner.launch(concurrency=1)
        # started one at a time from another app: each one's notification wakes the
        # runner, which has room for the first few only
        ids = [starter.start("chain", {"n": n}) for n in range(20)]
        results = _in_thread(lambda: [starter.result(eid) for eid in ids])
    assert results == [{"step": "two", "data": {"n": n}} for n in range(20)]


def test_work_announced_while_every_slot_is_busy_is_claimed_when_one_frees(
        pg_url: str, agents: Agents) -> None:
    """PostgreSQL: executions announced while the worker's only slot runs a step are not
    claimed then (no room); the moment that step's execution ends they are, with no poll
    interval (here an hour) in between."""
    gated = {"name": "gated", "steps": [{"id": "held", "agent": "t.gate"}]}
    with App(pg_url) as starter, \
            App(pg_url, settings=Settings(poll_interval=NEVER)) as runner:
        agents.register(runner)
        starter.apply(CHAIN)
        starter.apply(gated)
        runner.launch(concurrency=1)
        first = starter.start("gated")
        assert agents.gate.entered.wait(SAFETY), "the gated step never started"
        ids = [starter.start("chain", {"n": n}) for n in range(5)]
        agents.gate.opened.set()
        results = _in_thread(lambda: [starter.result(eid) for eid in [first, *ids]])
    assert results == [{"gated": True}, *({"step": "two", "data": {"n": n}}
                                          for n in range(5))]
