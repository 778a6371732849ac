"""Heartbeats of long steps: shown in status, and a silent attempt is failed and retried."""

from __future__ import annotations

import threading
from typing import Any

from ledgerflow import App
from ledgerflow.testing import FakeClock
from tests.support import SAFETY, Background, wait_for


def test_status_shows_the_last_heartbeat(app: App) -> None:
    seen = threading.Event()
    release = threading.Event()

    @app.agent("t.long")
    def long(ctx: Any, data: Any) -> Any:
        for done in range(1, 4):
            ctx.heartbeat({"done": done, "of": 3})
        seen.set()
        assert release.wait(SAFETY)
        return "ok"

    app.apply({"name": "hb", "steps": [{"id": "long", "agent": "t.long"}]})
    eid = app.start("hb")
    with Background(app, concurrency=2):
        try:
            assert seen.wait(SAFETY)
            wait_for(lambda: app.status(eid).steps[0].heartbeat is not None,
                     what="the heartbeat shown")
            step = app.status(eid).steps[0]
            assert step.heartbeat == {"done": 3, "of": 3} and step.heartbeat_at is not None
        finally:
            release.set()
    done = app.status(eid)
    assert done.status == "completed" and done.steps[0].heartbeat is None  # not running


def test_an_attempt_whose_heartbeats_stop_is_failed_and_retried(app: App,
                                                                 clock: FakeClock) -> None:
    stuck, release = threading.Event(), threading.Event()

    @app.agent("t.stalls_once")
    def stalls_once(ctx: Any, data: Any) -> Any:
        ctx.heartbeat("starting")
        if ctx.attempt == 1:
            stuck.set()
            release.wait(SAFETY)  # stuck: no heartbeat for longer than heartbeat_timeout
            return "late"
        for _ in range(5):
            ctx.heartbeat("working")
        return "done"

    app.apply({"name": "stall", "steps": [{
        "id": "s", "agent": "t.stalls_once", "heartbeat_timeout": "300ms",
        "retry": {"max_attempts": 2, "initial": "10ms"}}]})
    eid = app.start("stall")
    retried = lambda: [e for e in app.history(eid)  # noqa: E731
                       if e.event_type == "step.retry_scheduled"]
    with Background(app):
        try:
            assert stuck.wait(SAFETY)
            wait_for(lambda: app.status(eid).steps[0].heartbeat == "starting",
                     what="the first heartbeat recorded")
            clock.advance(0.3)  # silent for heartbeat_timeout: the attempt fails
            wait_for(retried, what="the silent attempt failed")
            clock.advance(0.01)  # its retry is due
            wait_for(lambda: app.status(eid).status == "completed", what="the retry")
        finally:
            release.set()  # the stuck first attempt returns; its result is not wanted
    report = app.status(eid)
    assert report.status == "completed", report.error
    assert report.result == "done" and report.steps[0].attempts == 2
    assert len(retried()) == 1
    assert retried()[0].payload["error"].startswith("heartbeat timeout: no heartbeat since")
