"""A progress bar and the status table say the same: done (completed or skipped) of the
graph's steps, whatever signal handler runs were added and however the run ended."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from rich.console import Console

from ledgerflow import App, ExecutionUpdate
from ledgerflow.cli.progress import LiveProgress
from ledgerflow.demo import CASES
from tests.support import run_cli


def test_the_demo_bars_and_table_agree(tmp_path: Path) -> None:
    out = run_cli(tmp_path, f"sqlite:///{tmp_path / 'demo.db'}", "demo", COLUMNS="200").stdout
    for case in CASES:
        name = str(case["entity_name"])
        bar = re.search(rf"^{re.escape(name[:28])}\s.*?━\s+(\d+/\d+) ", out, re.MULTILINE)
        row = re.search(rf"^│ {re.escape(name)}\s+│[^│]+│[^│]+│ (\d+/\d+)\s+│", out,
                        re.MULTILINE)
        assert bar is not None and row is not None, out
        assert bar[1] == row[1], f"{name}: bar {bar[1]}, table {row[1]}\n{out}"


CHAIN = {"name": "four", "steps": [
    {"id": "a", "agent": "t.cancels"},
    {"id": "b", "agent": "t.cancels", "needs": ["a"]},
    {"id": "c", "agent": "t.cancels", "needs": ["b"]},
    {"id": "d", "agent": "t.cancels", "needs": ["c"]},
]}


def test_a_cancelled_run_is_not_done(db_url: str) -> None:
    """Cancelled while its first step ran: 0 of 4 done, 0 %, on the bar and in the report."""
    shown = Console(file=io.StringIO(), width=120)
    with App(db_url) as app, App(db_url) as operator:
        @app.agent("t.cancels")
        def cancels(ctx: Any, data: Any) -> Any:
            operator.cancel(ctx.execution_id)
            return {"ok": True}

        app.apply(CHAIN)
        execution_id = app.start("four", {})
        updates: list[ExecutionUpdate] = []
        with LiveProgress(console=shown, labels={execution_id: "the run"}) as bars:
            def hear(update: ExecutionUpdate) -> None:
                updates.append(update)
                bars(update)
            app.run_until_idle(listener=hear)
        assert app.execution(execution_id).status == "cancelled"
        progress = app.status(execution_id).progress
        metrics = app.metrics(execution_id)
    assert (progress.done, progress.total, progress.percentage) == (0, 4, 0.0)
    assert progress.cancelled == 4
    assert (metrics.steps_done, metrics.steps_total) == (0, 4)
    assert (updates[-1].steps_done, updates[-1].steps_total) == (0, 4)
    assert "the run" in shown.file.getvalue()  # type: ignore[attr-defined]
    assert re.search(r"the run .* 0/4 ", shown.file.getvalue())  # type: ignore[attr-defined]


def test_handler_runs_count_in_neither(db_url: str) -> None:
    flow = {"name": "session", "steps": [{"id": "a", "agent": "t.ok"},
                                         {"id": "w", "type": "wait", "signal": "close",
                                          "needs": ["a"]}],
            "on": {"note": {"agent": "t.ok"}}}
    with App(db_url) as app:
        app.agent("t.ok")(lambda ctx, data: {"ok": True})
        app.apply(flow)
        execution_id = app.start("session", {})
        updates: list[ExecutionUpdate] = []
        app.run_until_idle(listener=updates.append)
        app.signal(execution_id, "note", {"text": "hello"})
        app.run_until_idle(listener=updates.append)
        assert any(s.id.startswith("on.note") for s in app.status(execution_id).steps)
        progress = app.status(execution_id).progress
    assert (progress.done, progress.total) == (1, 2)
    assert (updates[-1].steps_done, updates[-1].steps_total) == (1, 2)
