"""Breakers with their default policy protect without stalling: a dead agent is isolated
after a few calls and its traffic moves to a healthy agent of the capability; a flaky agent
whose retries succeed never stalls a capability it alone offers. The clock is a
``FakeClock`` that stands still, so no cool-down ever passes: nothing here waits for one."""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Any

from ledgerflow import App
from ledgerflow.routing.breaker import DEFAULT_POLICY
from ledgerflow.testing import FakeClock

LARGE = os.environ.get("LEDGERFLOW_FAULT_SIZE") == "large"
EXECUTIONS = 400 if LARGE else 40
CONCURRENCY = 8
RETRY = {"max_attempts": 3, "initial": "0s"}


def test_a_dead_agent_is_isolated_and_its_traffic_moves(backend_url: str,
                                                         clock: FakeClock) -> None:
    app = App(backend_url, clock=clock)
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    @app.agent("r.pay", name="dead", priority=10, weight=3)
    def dead(ctx: Any, data: Any) -> Any:
        with lock:
            calls["dead"] += 1
        raise ConnectionError("down")

    @app.agent("r.pay", name="healthy")
    def healthy(ctx: Any, data: Any) -> Any:
        with lock:
            calls["healthy"] += 1
        return "paid"

    app.apply({"name": "pay", "steps": [{"id": "s", "agent": "r.pay", "retry": RETRY}]})
    try:
        ids = [app.start("pay") for _ in range(EXECUTIONS)]
        app.run_until_idle(concurrency=CONCURRENCY)
        assert all(app.status(e).status == "completed" for e in ids)
        limit = DEFAULT_POLICY.min_calls + CONCURRENCY + DEFAULT_POLICY.half_open_probes
        assert calls["dead"] <= limit, calls
        assert calls["healthy"] == EXECUTIONS
        assert next(a.breaker for a in app.agents() if a.agent == "dead") == "open"
    finally:
        app.close()


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
