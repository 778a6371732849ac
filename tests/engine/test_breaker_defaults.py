"""Breakers with their default policy never stall: a flaky agent whose retries succeed trips
its breaker, yet the capability it alone offers keeps running (a dead agent beside a healthy
one is isolated: ``test_admission``). The clock is a ``FakeClock`` that stands still, so no
cool-down ever passes: nothing here waits for one."""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Any

from ledgerflow import App
from ledgerflow.testing import FakeClock

LARGE = os.environ.get("LEDGERFLOW_FAULT_SIZE") == "large"
EXECUTIONS = 400 if LARGE else 40
CONCURRENCY = 8
RETRY = {"max_attempts": 3, "initial": "0s"}


def test_a_flaky_agent_alone_never_stalls_its_capability(backend_url: str,
                                                         clock: FakeClock) -> None:
    app = App(backend_url, clock=clock)
    attempts: Counter[int] = Counter()
    lock = threading.Lock()

    @app.agent("r.flaky")
    def flaky(ctx: Any, data: Any) -> Any:
        with lock:
            attempts[ctx.attempt] += 1
        if ctx.attempt == 1:
            raise ConnectionError("first attempts fail")
        return "ok"

    app.apply({"name": "flaky", "steps": [{"id": "s", "agent": "r.flaky", "retry": RETRY}]})
    try:
        ids = [app.start("flaky") for _ in range(EXECUTIONS)]
        app.run_until_idle(concurrency=CONCURRENCY)
        assert all(app.status(e).status == "completed" for e in ids)
        assert attempts == {1: EXECUTIONS, 2: EXECUTIONS}  # no step deferred, none lost
    finally:
        app.close()
