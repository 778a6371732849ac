"""A hostile execution fails alone: an expression that spends its budget, a timestamp no timer
holds, or an input too deep ends that one step failed with its reason in the ledger (or is
refused before it starts), while a good execution started beside it completes and every
ledger verifies. On both backends."""

from __future__ import annotations

from typing import Any

import pytest

from ledgerflow import App, errors
from ledgerflow.cel import budget
from ledgerflow.definition import limits
from tests.support import Agents, until_idle

GOOD = {"name": "good", "steps": [{"id": "a", "agent": "t.echo"},
                                  {"id": "b", "agent": "t.echo", "needs": ["a"]}]}
SQUARE = "input.items.map(x, input.items.map(y, x + y)).size() > 0"


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> int:
    """100 macro iterations an evaluation: the worker's counting, quicker to spend."""
    monkeypatch.setattr(budget, "MAX_STEPS", 100)
    return 100


def failure_of(app: App, execution_id: str, step_id: str) -> str:
    """The reason the ledger recorded for ``step_id`` failing."""
    failed = [e for e in app.history(execution_id)
              if e.event_type == "step.failed" and e.step_id == step_id]
    assert len(failed) == 1
    reason: str = failed[0].payload["error"]
    return reason


def run_beside_a_good_one(app: App, hostile: dict[str, Any], data: Any) -> str:
    """Start the hostile workflow on ``data`` and a good one, work until idle; the good one
    completes and every ledger verifies. Returns the hostile execution's id."""
    app.apply(hostile)
    app.apply(GOOD)
    bad = app.start(hostile["name"], data)
    good = app.start("good", {})
    until_idle(app)
    assert app.status(good).status == "completed"
    assert app.status(bad).status == "failed"
    assert all(result.ok for result in app.verify_all())
    return bad


def test_a_when_that_spends_its_budget_fails_its_step(app: App, small_budget: int) -> None:
    hostile = {"name": "square", "steps": [{"id": "a", "agent": "t.echo", "when": SQUARE}]}
    bad = run_beside_a_good_one(app, hostile, {"items": list(range(20))})
    assert failure_of(app, bad, "a") == (
        f"when: expression {SQUARE!r} exceeded its evaluation budget of 100 macro "
        "iterations and elements; evaluate over less data, nest fewer macros, or move the "
        "work into an agent")


def test_an_input_template_growing_strings_fails_its_step(app: App) -> None:
    source = "input.items.map(x, input.s + input.s)"
    hostile = {"name": "grow", "steps": [{"id": "a", "agent": "t.echo",
                                          "input": {"v": "${" + source + "}"}}]}
    bad = run_beside_a_good_one(app, hostile, {"items": list(range(60)), "s": "x" * 10_000})
    assert failure_of(app, bad, "a") == (
        f"input: expression {source!r} exceeded its evaluation budget of 1,000,000 "
        "produced characters, bytes or list elements; move the work into an agent")


@pytest.mark.parametrize(("until", "reason"), [
    ("9999-12-31T23:59:59-14:00", "until: '9999-12-31T23:59:59-14:00' is out of range in UTC"),
    ("3000-01-01T00:00:00Z", "until: '3000-01-01T00:00:00Z' is more than 36500d (100 years) "
                             "away, longer than ledgerflow schedules"),
])
def test_a_sleep_until_no_timer_holds_fails_its_step(app: App, until: str, reason: str) -> None:
    hostile = {"name": "late", "steps": [{"id": "nap", "type": "sleep",
                                          "until": "${input.until}"}]}
    bad = run_beside_a_good_one(app, hostile, {"until": until})
    assert failure_of(app, bad, "nap") == reason


def test_the_worker_carries_on_after_an_evaluation_fails(app: App, small_budget: int) -> None:
    """A `when` over a state value that only a later step sets: the first execution's
    evaluation spends its budget, the next ones run the same definition within it."""
    flow = {"name": "bounded", "steps": [{"id": "a", "agent": "t.echo", "when": SQUARE}]}
    app.apply(flow)
    big = app.start("bounded", {"items": list(range(20))})
    small = [app.start("bounded", {"items": [1, 2]}) for _ in range(3)]
    until_idle(app)
    assert app.status(big).status == "failed"
    assert [app.status(e).status for e in small] == ["completed"] * 3


def test_inputs_signal_data_and_state_edits_too_deep_are_refused(app: App) -> None:
    app.apply(GOOD)
    deep: Any = []
    for _ in range(limits.MAX_DEPTH * 50):
        deep = [deep]
    with pytest.raises(errors.InputValidationError) as info:
        app.start("good", {"v": deep})
    assert str(info.value) == ("input nests lists and mappings more than 100 levels deep; "
                               "flatten it (ledgerflow refuses deeper documents)")
    eid = app.start("good", {})
    for refused, call in (("signal data nests", lambda: app.signal(eid, "go", {"v": deep})),
                          ("the patch nests", lambda: app.patch_state(eid, {"v": deep})),
                          ("the state value nests", lambda: app.set_state(eid, "v", deep))):
        with pytest.raises(errors.InputValidationError) as info:
            call()
        assert str(info.value).startswith(refused)
    with pytest.raises(errors.DurationError) as late:
        app.start("good", {}, ttl=1e20)
    assert str(late.value) == ("ttl: duration 1e+20 is longer than 36500d (100 years), the "
                               "longest ledgerflow schedules")
    until_idle(app)
    assert app.status(eid).status == "completed"


def test_a_chain_of_needs_thousands_long_runs(db_url: str, agents: Agents) -> None:
    """On SQLite only: the walks are the backend's no business, and it keeps the suite quick."""
    count = 1500  # deeper than Python's default recursion limit
    with App(db_url) as app:
        agents.register(app)
        app.apply({"name": "chain", "steps": [
            {"id": f"s{i}", "agent": "t.echo", **({"needs": [f"s{i + 1}"]} if i < count - 1
                                                  else {})}
            for i in range(count)]})
        eid = app.start("chain", {})
        until_idle(app)
        report = app.status(eid)
        assert report.status == "completed"
        assert len(report.steps) == count
        assert app.verify(eid).ok
