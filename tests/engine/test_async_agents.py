"""``async def`` agents are awaited on the worker's own event loop: many at once within the
concurrency limit, with ``ctx`` helpers usable from them, beside sync agents in one worker;
an async handler past its timeout is cancelled. Deterministic: the handlers wait for each
other (they complete only if they ran at the same time), the clock is a ``FakeClock``."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ledgerflow import App
from ledgerflow.testing import FakeClock
from tests.support import SAFETY, Background, wait_for

TOGETHER = 4


def test_async_handlers_run_together_on_the_worker_loop(backend_url: str,
                                                         clock: FakeClock) -> None:
    app = App(backend_url, clock=clock)
    arrived = asyncio.Event()  # bound to the worker's loop on first use
    seen: list[str] = []
    threads: set[str] = set()

    @app.agent("t.together")
    async def together(ctx: Any, data: Any) -> Any:
        threads.add(threading.current_thread().name)
        ctx.log("arrived", n=len(seen))
        ctx.heartbeat({"waiting": True})
        seen.append(ctx.execution_id)
        if len(seen) == TOGETHER:
            arrived.set()
        await arrived.wait()  # only returns when all of them run at once
        return {"n": data["n"], "state": ctx.state is not None, "cancelled": ctx.cancelled}

    app.apply({"name": "together", "steps": [
        {"id": "s", "agent": "t.together", "input": {"n": "${input.n}"}}]})
    try:
        ids = [app.start("together", {"n": i}) for i in range(TOGETHER)]
        app.run_until_idle(concurrency=TOGETHER)
        assert [app.status(e).result for e in ids] == [
            {"n": i, "state": True, "cancelled": False} for i in range(TOGETHER)]
        assert threads == {"ledgerflow-async"}  # one loop thread, not one thread each
        assert any(r.message == "arrived" for r in app.logs(ids[0]))
    finally:
        app.close()


def test_sync_and_async_agents_in_one_worker(backend_url: str, clock: FakeClock) -> None:
    app = App(backend_url, clock=clock)

    @app.agent("t.sync")
    def sync(ctx: Any, data: Any) -> Any:
        return {"sync": data["x"] + 1}

    @app.agent("t.async")
    async def async_(ctx: Any, data: Any) -> Any:
        await asyncio.sleep(0)
        return {"async": data["y"] * 2}

    app.apply({"name": "mixed", "steps": [
        {"id": "a", "agent": "t.sync", "input": {"x": "${input.x}"}},
        {"id": "b", "agent": "t.async", "needs": ["a"],
         "input": {"y": "${steps.a.output.sync}"}}]})
    try:
        eid = app.start("mixed", {"x": 1})
        app.run_until_idle(concurrency=2)
        assert app.status(eid).result == {"async": 4}
    finally:
        app.close()


def test_an_async_handler_past_its_timeout_is_cancelled(backend_url: str,
                                                         clock: FakeClock) -> None:
    app = App(backend_url, clock=clock)
    started = threading.Event()
    cancelled = threading.Event()

    @app.agent("t.forever")
    async def forever(ctx: Any, data: Any) -> Any:
        if data["n"] == 2:
            return "second"
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    app.apply({"name": "forever", "steps": [
        {"id": "s", "agent": "t.forever", "timeout": "1s", "input": {"n": "${input.n}"}}]})
    try:
        with Background(app, concurrency=1):
            first = app.start("forever", {"n": 1})
            assert started.wait(SAFETY)
            second = app.start("forever", {"n": 2})
            clock.advance(1.5)
            assert cancelled.wait(SAFETY)
            wait_for(lambda: app.status(second).status == "completed",
                     what="the second execution in the freed slot")
            report = app.status(first)
            assert report.status == "failed" and "timed out" in (report.error or "")
    finally:
        app.close()
