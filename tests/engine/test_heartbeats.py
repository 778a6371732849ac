"""Heartbeats of long steps: shown in status, and a silent attempt is failed and retried."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ledgerflow import App


@pytest.fixture
def app(db_url: str) -> Iterator[App]:
    a = App(db_url)
    yield a
    a.close()


def test_status_shows_the_last_heartbeat(app: App) -> None:
    seen = threading.Event()
    release = threading.Event()

    @app.agent("t.long")
    def long(ctx: Any, data: Any) -> Any:
        for done in range(1, 4):
            ctx.heartbeat({"done": done, "of": 3})
        seen.set()
        assert release.wait(20)
        return "ok"

    app.apply({"name": "hb", "steps": [{"id": "long", "agent": "t.long"}]})
    eid = app.start("hb")
    worker = app.worker(concurrency=2)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        assert seen.wait(10)
        deadline = time.monotonic() + 10
        while app.status(eid).steps[0].heartbeat is None:
            assert time.monotonic() < deadline, "heartbeat never shown"
            time.sleep(0.02)
        step = app.status(eid).steps[0]
        assert step.heartbeat == {"done": 3, "of": 3} and step.heartbeat_at is not None
    finally:
        release.set()
        worker.stop()
        thread.join(30)
    done = app.status(eid)
    assert done.status == "completed" and done.steps[0].heartbeat is None  # not running


def test_an_attempt_whose_heartbeats_stop_is_failed_and_retried(app: App) -> None:
    @app.agent("t.stalls_once")
    def stalls_once(ctx: Any, data: Any) -> Any:
        ctx.heartbeat("starting")
        if ctx.attempt == 1:
            time.sleep(1.0)  # stuck: no heartbeat for longer than heartbeat_timeout
            return "late"
        for _ in range(5):
            time.sleep(0.05)
            ctx.heartbeat("working")
        return "done"

    app.apply({"name": "stall", "steps": [{
        "id": "s", "agent": "t.stalls_once", "heartbeat_timeout": "300ms",
        "retry": {"max_attempts": 2, "initial": "10ms"}}]})
    eid = app.start("stall")
    app.run_until_idle()
    report = app.status(eid)
    assert report.status == "completed", report.error
    assert report.result == "done" and report.steps[0].attempts == 2
    retried = [e for e in app.history(eid) if e.event_type == "step.retry_scheduled"]
    assert len(retried) == 1
    assert retried[0].payload["error"].startswith("heartbeat timeout: no heartbeat since")
