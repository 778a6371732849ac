"""Dispatch at admission: a step is routed and recorded ``running`` only when a handler slot
is free, so a breaker that opens acts on the very next step; while no slot is free, steps
stay pending (ready) in the worker's queue and ``status`` says so. Deterministic: handlers
wait on events, and the clock is a ``FakeClock`` that never moves (no cool-down passes)."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from ledgerflow import App
from ledgerflow.routing.breaker import DEFAULT_POLICY
from ledgerflow.testing import FakeClock
from tests.support import SAFETY, Background, wait_for

LARGE = os.environ.get("LEDGERFLOW_FAULT_SIZE") == "large"
EXECUTIONS = 400 if LARGE else 40
CONCURRENCY = 8
THRESHOLD = 5
FLOW = {"name": "pay", "steps": [
    {"id": "charge", "agent": "r.pay", "retry": {"max_attempts": 3, "initial": "0s"}}]}


# (the broken agent's breaker options, the calls after which it opens): count mode, and the
# default failure-rate policy
POLICIES = {"count": ({"failure_threshold": THRESHOLD}, THRESHOLD),
            "default": ({}, DEFAULT_POLICY.min_calls)}


@pytest.fixture(params=sorted(POLICIES))
def pay(request: pytest.FixtureRequest, backend_url: str,
        clock: FakeClock) -> Iterator[tuple[App, Counter[str], int]]:
    options, opens_after = POLICIES[request.param]
    app = App(backend_url, clock=clock)
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    @app.agent("r.pay", name="broken", priority=10, weight=3, **options)
    def broken(ctx: Any, data: Any) -> Any:
        with lock:
            calls["broken"] += 1
        raise ConnectionError("down")

    @app.agent("r.pay", name="healthy")
    def healthy(ctx: Any, data: Any) -> Any:
        with lock:
            calls["healthy"] += 1
        return "paid"

    app.apply(FLOW)
    yield app, calls, opens_after
    app.close()


def test_an_opened_breaker_acts_on_the_next_step_not_the_next_batch(
        pay: tuple[App, Counter[str], int]) -> None:
    app, calls, opens_after = pay
    ids = [app.start("pay") for _ in range(EXECUTIONS)]
    app.run_until_idle(concurrency=CONCURRENCY)
    assert all(app.status(e).status == "completed" for e in ids)
    probes = 0  # the clock stands still: no cool-down passes, so no probe is made at all
    assert calls["broken"] <= opens_after + CONCURRENCY + probes, calls
    assert calls["healthy"] == EXECUTIONS
    assert next(a.breaker for a in app.agents() if a.agent == "broken") == "open"


def test_steps_wait_pending_until_a_slot_frees(backend_url: str, clock: FakeClock) -> None:
    app = App(backend_url, clock=clock)
    entered = threading.Semaphore(0)
    release = threading.Event()

    @app.agent("r.slow")
    def slow(ctx: Any, data: Any) -> Any:
        entered.release()
        release.wait(SAFETY)
        return "done"

    app.apply({"name": "slow", "steps": [{"id": "s", "agent": "r.slow"}]})
    try:
        with Background(app, concurrency=2) as worker:
            ids = [app.start("slow") for _ in range(5)]
            for _ in range(2):
                assert entered.acquire(timeout=SAFETY)
            wait_for(lambda: sum(app.status(e).steps[0].status == "running" for e in ids) == 2,
                     what="two steps running")
            states = [app.status(e).steps[0] for e in ids]
            assert sorted(s.status for s in states) == ["pending"] * 3 + ["running"] * 2
            waiting = [s for s in states if s.status == "pending"]
            assert all(s.waiting == "ready, waiting for a free slot" for s in waiting), waiting
            release.set()
            wait_for(lambda: all(app.status(e).status == "completed" for e in ids),
                     what="every execution completed")
            assert worker.worker.ready
    finally:
        release.set()
        app.close()
