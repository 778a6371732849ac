"""Timeouts that hold: an attempt past its timeout gives its slot back at once, is failed or
retried by its policy, and its handler is told through ``ctx.cancelled``, even when the
handler never returns. Time is a ``FakeClock``: the timeout passes when the test says so."""

from __future__ import annotations

import threading
from typing import Any

from ledgerflow import App
from ledgerflow.testing import FakeClock
from tests.support import SAFETY, Background, wait_for

FLOW = {"name": "stuck", "steps": [{"id": "s", "agent": "t.stuck", "timeout": "1s"}]}


def test_a_handler_that_never_returns_gives_its_slot_back_at_its_timeout(
        backend_url: str, clock: FakeClock) -> None:
    app = App(backend_url, clock=clock)
    entered = threading.Event()
    saw_cancel = threading.Event()
    release = threading.Event()  # only the test's end lets the stuck thread go
    calls: list[str] = []

    @app.agent("t.stuck")
    def stuck(ctx: Any, data: Any) -> Any:
        calls.append(ctx.execution_id)
        if len(calls) > 1:
            return "second"
        entered.set()
        while not release.wait(0.01):  # ignores ctx.cancelled until the test ends
            if ctx.cancelled:
                saw_cancel.set()
        return "too late"

    app.apply(FLOW)
    try:
        with Background(app, concurrency=1):
            first = app.start("stuck")
            assert entered.wait(SAFETY)
            second = app.start("stuck")  # queued behind the one slot
            assert app.status(second).steps[0].status == "pending"
            clock.advance(1.5)
            wait_for(lambda: app.status(second).status == "completed",
                     what="the second execution to complete in the freed slot")
            report = app.status(first)
            assert report.status == "failed"
            assert "timed out after 1.0s" in (report.error or "")
            assert saw_cancel.wait(SAFETY)
    finally:
        release.set()
        app.close()


def test_a_timed_out_attempt_is_retried_by_its_policy(backend_url: str,
                                                      clock: FakeClock) -> None:
    app = App(backend_url, clock=clock)
    release = threading.Event()
    attempts: list[int] = []

    @app.agent("t.stuck_once")
    def stuck_once(ctx: Any, data: Any) -> Any:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            release.wait(SAFETY)
        return {"attempt": ctx.attempt}

    app.apply({"name": "again", "steps": [{"id": "s", "agent": "t.stuck_once",
                                             "timeout": "1s",
                                             "retry": {"max_attempts": 2, "initial": "0s"}}]})
    try:
        with Background(app, concurrency=1):
            eid = app.start("again")
            wait_for(lambda: attempts == [1], what="the first attempt")
            clock.advance(1.5)
            wait_for(lambda: app.status(eid).status == "completed", what="the retry")
            assert app.status(eid).result == {"attempt": 2}
            assert app.status(eid).steps[0].attempts == 2
    finally:
        release.set()
        app.close()
