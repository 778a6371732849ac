"""``status`` without colour prints the same bytes whether rich renders it or ``cli.plain``
does (which spares a read rich's start-up): at every width, for every kind of line. And
what a status computes without the libraries it no longer loads."""

from __future__ import annotations

import dataclasses
import io
import statistics
from typing import Any

import pytest
from rich.console import Console

from ledgerflow import ExecutionReport
from ledgerflow.cli import plain, render
from ledgerflow.engine.reports.status import Progress, StepReport, Timing, expected_duration

WIDTHS = [20, 23, 31, 40, 47, 55, 61, 68, 69, 74, 80, 81, 97, 120, 200]


def step(id: str, status: str = "completed", **changes: Any) -> StepReport:
    fields: dict[str, Any] = dict(
        id=id, status=status, attempts=1, agent="billing.charge:charge", error=None,
        started_at="2026-12-05T06:47:15.653807Z", finished_at="2026-12-05T06:47:15.655807Z",
        duration_seconds=0.002)
    return StepReport(**{**fields, **changes})


def report(**changes: Any) -> ExecutionReport:
    fields: dict[str, Any] = dict(
        id="8ad1f4e5-807c-442a-a1df-10ad413ba661", workflow="order-fulfilment",
        workflow_version=3, status="running", active=True,
        progress=Progress(total=3, done=2, completed=2, failed=0, skipped=0, cancelled=0,
                          running=1, pending=0, percentage=66.6667),
        timing=Timing(created_at="2026-12-05T06:47:15.653807Z",
                      started_at="2026-12-05T06:47:15.659214Z", finished_at=None,
                      duration_seconds=2.373, expected_duration_seconds=None,
                      eta_seconds=None),
        steps=(step("charge"), step("reserve", agent=None),
               step("ship", "running", finished_at=None, duration_seconds=12.5)),
        error=None, result=None, state_version=2, recoveries=0, head_seq=8,
        head_hash="c260dd6dd355715a" * 4)
    return ExecutionReport(**{**fields, **changes})


FAILED = dict(status="failed", error="step 'charge' failed after 3 attempts: card declined "
                                     "by the issuer (code 51), insufficient funds",
              steps=(step("charge", "failed", attempts=3,
                          error="RuntimeError: card declined (code 51)"),))
CASES = {
    "running": report(),
    "failed": report(**FAILED),
    "everything": report(
        timing=Timing(created_at="2026-12-05T06:47:15Z", started_at=None, finished_at=None,
                      duration_seconds=None, expected_duration_seconds=41.25,
                      eta_seconds=38.9),
        expires_at="2026-12-06T06:47:15Z", forked_from="0f3c4d2e-aaaa-bbbb-cccc-1234567890ab",
        forked_at_seq=4, forks=("f1", "f2-longer-fork-id"), signals_pending=2, recoveries=1,
        waiting_for=({"step": "approve", "signal": "approved", "until": None},
                     {"step": "nap", "signal": None, "until": "2026-12-05T07:00:00Z"}),
        waiting_for_agents=({"step": "ship", "message": "waiting for an agent offering "
                             "shipping.book (none running)"},),
        quarantined={"since": "2026-12-05T06:48:00Z", "reason": "the worker could not write "
                     "the change of it: StorageError: disk I/O error"},
        steps=(step("charge", heartbeat_at="2026-12-05T06:47:16Z",
                    heartbeat={"done": 3, "of": 10}),
               step("ship", "pending", waiting="waiting for a slot of shipping.book (2 run)"))),
    "long words": report(error="x" * 150, workflow="w" * 70),
    "markup-like text": report(error="KeyError: ['sku'] \\ [bold]not markup[/]"),
    "not ASCII": report(error="échec: délai dépassé ✗", steps=(step("étape"),)),
    "paused": report(status="paused", state={"case": {"risk": "high"}}, pending_steps=("a",)),
    "trailing spaces": report(error="spaces     at     " + "the end " * 20 + "      "),
}
# plain text from this width on (where the steps table fits; a failed step's error is long)
PLAIN_FROM = {"running": 40, "everything": 40, "trailing spaces": 40, "failed": 120}


def rich_text(r: ExecutionReport, width: int) -> str:
    """What ``render.status`` prints to a console of ``width`` that is not a terminal."""
    buffer = io.StringIO()
    render.status(Console(file=buffer, width=width, emoji=False, highlight=False), r)
    return buffer.getvalue()


@pytest.mark.parametrize("name", CASES)
def test_plain_text_is_what_rich_prints_or_nothing(name: str) -> None:
    for width in WIDTHS:
        text = plain.status(CASES[name], width)
        assert text is None or text == rich_text(CASES[name], width), (name, width)


@pytest.mark.parametrize("name", sorted(PLAIN_FROM))
def test_plain_text_serves_the_usual_reports(name: str) -> None:
    """The test above can fail: these are printed plain wherever their table fits."""
    served = [w for w in WIDTHS if plain.status(CASES[name], w) is not None]
    assert served == [w for w in WIDTHS if w >= PLAIN_FROM[name]], name


@pytest.mark.parametrize("name", ["not ASCII", "markup-like text", "paused"])
def test_what_rich_treats_specially_is_left_to_it(name: str) -> None:
    assert all(plain.status(CASES[name], w) is None for w in WIDTHS)


def test_steps_beyond_a_wide_table_are_left_to_rich() -> None:
    wide = dataclasses.replace(CASES["running"],
                               steps=(step("s" * 30, error="e" * 60),))
    assert plain.status(wide, 80) is None
    assert plain.status(wide, 200) == rich_text(wide, 200)


@pytest.mark.parametrize("environ", [{}, {"COLUMNS": "57"}, {"COLUMNS": "300"},
                                     {"COLUMNS": "x"}, {"TTY_COMPATIBLE": "0"},
                                     {"FORCE_COLOR": ""}])
def test_the_width_is_the_consoles(monkeypatch: pytest.MonkeyPatch,
                                   environ: dict[str, str]) -> None:
    for name in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    console = render.console()
    assert console.color_system is None
    assert plain.width() == console.width


@pytest.mark.parametrize("environ", [{"FORCE_COLOR": "1"}, {"TTY_COMPATIBLE": "1"},
                                     {"COLUMNS": "5"}])
def test_colour_or_a_narrow_console_is_left_to_rich(monkeypatch: pytest.MonkeyPatch,
                                                    environ: dict[str, str]) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert plain.width() is None


@pytest.mark.parametrize("seconds", [[3.0], [4.0, 1.0], [5.0, 1.0, 3.0], [2.0, 8.0, 4.0, 6.0]])
def test_the_expected_duration_is_the_median_of_earlier_runs(seconds: list[float]) -> None:
    """Computed without the statistics module (a status loads none of it)."""
    runs = [("2026-12-05T06:00:00Z", f"2026-12-05T06:00:{s:02.0f}Z") for s in seconds]
    assert expected_duration(runs) == statistics.median(seconds)
