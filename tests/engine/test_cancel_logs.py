"""A cancel is an operator's change, not a lost lease: the worker holding the execution
says nothing alarming about it, whether it notices the cancel when renewing its leases or
when its next commit on the execution fails the guard."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledgerflow import App
from ledgerflow.settings import Settings

FLOW = {"name": "two", "steps": [{"id": "a", "agent": "t.hold"},
                                 {"id": "b", "agent": "t.hold", "needs": ["a"]}]}
PATIENCE = 30.0  # seconds before a test gives up waiting (a hang, not a measurement)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'cancel.db'}"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO, logger="ledgerflow")
    yield caplog


def _said(logs: pytest.LogCaptureFixture, execution_id: str) -> list[logging.LogRecord]:
    return [r for r in logs.records if r.name.startswith("ledgerflow")
            and execution_id in r.getMessage()]


def _wait(condition: Any) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.01)


def test_a_cancel_seen_when_renewing_leases_is_no_lost_lease(
        url: str, logs: pytest.LogCaptureFixture) -> None:
    settings = Settings(db_url=url, lease_seconds=0.6, poll_interval=0.05)
    entered, release = threading.Event(), threading.Event()
    with App(url, settings=settings) as app, App(url) as operator:
        @app.agent("t.hold")
        def hold(ctx: Any, data: Any) -> Any:
            entered.set()
            release.wait(PATIENCE)
            return {"ok": True}

        app.apply(FLOW)
        execution_id = app.start("two", {})
        worker = app.worker(lease_seconds=0.6)
        thread = threading.Thread(target=worker.run)
        thread.start()
        try:
            assert entered.wait(PATIENCE)
            assert operator.cancel(execution_id, "not needed")
            _wait(lambda: any("held here" in r.getMessage() or "lease lost" in r.getMessage()
                              for r in _said(logs, execution_id)))  # its leases renewed
            release.set()
            _wait(lambda: worker.report.steps_run == 1)
        finally:
            release.set()
            worker.stop()
            thread.join(PATIENCE)
        assert app.execution(execution_id).status == "cancelled"
    said = _said(logs, execution_id)
    assert [r.getMessage() for r in said if r.levelno >= logging.WARNING] == []
    assert f"execution {execution_id} ended while held here (cancelled)" in \
        [r.getMessage() for r in said]


def test_a_cancel_met_by_a_commit_is_no_takeover(url: str,
                                                 logs: pytest.LogCaptureFixture) -> None:
    """The handler's result arrives right after the cancel, before the worker looks for
    changes: its commit fails the guard, and the worker finds the execution ended."""
    settings = Settings(db_url=url, poll_interval=2.0)
    with App(url, settings=settings) as app, App(url) as operator:
        @app.agent("t.hold")
        def hold(ctx: Any, data: Any) -> Any:
            operator.cancel(ctx.execution_id, "while it ran")
            return {"ok": True}

        app.apply(FLOW)
        execution_id = app.start("two", {})
        app.run_until_idle()
        assert app.execution(execution_id).status == "cancelled"
        assert [s.status for s in app.status(execution_id).steps] == ["cancelled"] * 2
    said = _said(logs, execution_id)
    assert [r.getMessage() for r in said if r.levelno >= logging.WARNING] == []
