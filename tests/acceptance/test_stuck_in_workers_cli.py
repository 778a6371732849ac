"""``ledgerflow workers`` names a handler stuck past its timeout: its step failed and its slot
was given back, but its thread cannot be stopped. The worker publishes it with its next
heartbeat; once the handler returns, the next heartbeat drops it. The worker runs in this
process on a ``FakeClock`` (started at the real time, so the command sees it alive): the
test moves the clock past the timeout and to each heartbeat; the handler blocks on an event
the test sets."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledgerflow import App
from ledgerflow.testing import FakeClock
from tests.support import SAFETY, Background, run_cli, wait_for

FLOW = {"name": "stuck", "steps": [{"id": "s", "agent": "t.stuck", "timeout": "1s"}]}
HEARTBEAT = 3.0  # seconds: more than a quarter of the default 10 s lease, so a renewal


def test_workers_names_a_stuck_handler_until_it_returns(backend_url: str,
                                                        tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC))
    app = App(backend_url, clock=clock)
    entered, release = threading.Event(), threading.Event()

    @app.agent("t.stuck", name="sleeper")
    def stuck(ctx: Any, data: Any) -> Any:
        entered.set()
        release.wait(SAFETY)  # ignores ctx.cancelled
        return "too late"

    app.apply(FLOW)
    try:
        with Background(app, concurrency=2):
            eid = app.start("stuck")
            assert entered.wait(SAFETY)
            clock.advance(1.5)  # past the timeout
            wait_for(lambda: app.status(eid).status == "failed", what="the timeout")
            timed_out = app.status(eid).steps[0].finished_at
            clock.advance(HEARTBEAT)
            wait_for(lambda: app.workers()[0].stuck, what="a heartbeat naming it")

            [worker] = _workers_json(tmp_path, backend_url)
            assert worker["stuck"] == [{"execution": eid, "step": "s", "agent": "sleeper",
                                        "since": timed_out}]
            assert worker["running"] == 0  # its slot was given back
            table = run_cli(tmp_path, backend_url, "workers").stdout
            assert f"{worker['id']} is stuck in {eid} s (sleeper): timed out" in table
            assert "its handler thread still runs" in table

            release.set()  # the handler returns at last: the next heartbeat drops it

            def dropped() -> bool:
                clock.advance(HEARTBEAT)
                return not app.workers()[0].stuck

            wait_for(dropped, what="a heartbeat without it", every=0.1)
            assert _workers_json(tmp_path, backend_url)[0]["stuck"] == []
            assert "is stuck" not in run_cli(tmp_path, backend_url, "workers").stdout
    finally:
        release.set()
        app.close()


def _workers_json(tmp: Path, db_url: str) -> Any:
    return json.loads(run_cli(tmp, db_url, "workers", "--json").stdout)
