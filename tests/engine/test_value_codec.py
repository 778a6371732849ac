"""One value codec, one truth: a step sees the same values whether or not its execution was
reloaded from the database (a new worker, pause and resume), on both backends; a value
beyond I-JSON fails only the step it reaches, never the worker, and text written before
the codec (RFC 8785) still verifies and runs."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from ledgerflow import App
from ledgerflow.ledger import values
from ledgerflow.ledger.canonical import canonical_text
from tests.support import Agents, run_cli

FLOW = {"name": "vals", "steps": [
    {"id": "a", "agent": "v.make", "output": "m"},
    {"id": "w", "type": "wait", "signal": "go", "needs": ["a"]},
    {"id": "b", "agent": "v.take", "needs": ["w"], "input": {
        "keys": "${state.m.map(k, k)}", "sum": "${state.m.alpha + 0.5}", "m": "${state.m}"}},
]}
MADE = {"zeta": 1, "alpha": 2.0, "neg": -0.0, "pair": (1, 2.5)}


def offer(app: App, seen: list[Any]) -> App:
    @app.agent("v.make")
    def make(ctx: Any, data: Any) -> Any:
        return {"zeta": 1, "alpha": 2.0, "neg": -0.0, "pair": (1, 2.5)}

    @app.agent("v.take")
    def take(ctx: Any, data: Any) -> Any:
        seen.append(data)
        return data

    app.apply(FLOW)
    return app


def exact(value: Any) -> Any:
    """``value`` with every float tagged with its sign and type, keys as ordered lists: equal
    results mean equal types, order and zeros."""
    if isinstance(value, dict):
        return [("dict", k, exact(v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [type(value).__name__, *(exact(v) for v in value)]
    if isinstance(value, float):
        return ("float", value, math.copysign(1.0, value))
    return (type(value).__name__, value)


def step_hashes(app: App, eid: str) -> list[tuple[str, str | None, str]]:
    """The steps' ledger entries with the SHA-256 of their payloads' RFC 8785 form."""
    return [(e.event_type, e.step_id, hashlib.sha256(rfc8785.dumps(e.payload)).hexdigest())
            for e in app.history(eid) if e.step_id is not None]


def straight(url: str) -> tuple[Any, list[Any]]:
    seen: list[Any] = []
    with offer(App(url), seen) as app:
        eid = app.start("vals")
        app.signal(eid, "go")
        app.run_until_idle()
        return finished(app, eid), seen


def new_worker_after_the_wait(url: str) -> tuple[Any, list[Any]]:
    seen: list[Any] = []
    with offer(App(url), seen) as first:
        eid = first.start("vals")
        first.run_until_idle()
        assert first.status(eid).status == "waiting"
    with offer(App(url), seen) as second:
        second.signal(eid, "go")
        second.run_until_idle()
        return finished(second, eid), seen


def paused_at_the_wait(url: str) -> tuple[Any, list[Any]]:
    seen: list[Any] = []
    with offer(App(url), seen) as app:
        eid = app.start("vals")
        app.run_until_idle()
        app.pause(eid)
        app.resume(eid)
        app.signal(eid, "go")
        app.run_until_idle()
        return finished(app, eid), seen


def finished(app: App, eid: str) -> tuple[Any, Any, Any]:
    assert app.status(eid).status == "completed"
    assert all(r.ok for r in app.verify_all())
    return app.state(eid).state, step_hashes(app, eid), app.result(eid)


@pytest.mark.parametrize("run", [new_worker_after_the_wait, paused_at_the_wait])
def test_a_reloaded_run_sees_what_a_straight_run_sees(backend_url: str, run: Any) -> None:
    (state, hashes, result), seen = straight(backend_url)
    assert len(seen) == 1
    got = seen[0]
    assert got["keys"] == ["zeta", "alpha", "neg", "pair"]  # the producer's order
    assert type(got["sum"]) is float and got["sum"] == 2.5
    assert type(got["m"]["alpha"]) is float and math.copysign(1.0, got["m"]["neg"]) == -1.0
    assert got["m"]["pair"] == [1, 2.5]
    assert exact(state["m"]) == exact(got["m"])
    (state2, hashes2, result2), seen2 = run(backend_url)
    assert [exact(s) for s in seen2] == [exact(got)]
    assert exact(state2) == exact(state)
    assert exact(result2) == exact(result)
    assert [h for h in hashes2 if h[0] != "step.completed" or h[1] != "w"] == \
        [h for h in hashes if h[0] != "step.completed" or h[1] != "w"]


def test_a_float_that_reads_as_an_integer_beyond_2_53_stops_nothing(app: App) -> None:
    app.apply({"name": "one", "steps": [
        {"id": "a", "agent": "t.echo", "output": "a", "input": {"v": "${input.v}"}}]})
    big = app.start("one", {"v": 1e16})
    other = app.start("one", {"v": 1})
    app.run_until_idle()
    assert app.status(big).status == "completed"
    assert app.status(other).status == "completed"
    echoed = app.result(big)["data"]["v"]
    assert type(echoed) is float and echoed == 1e16
    assert all(r.ok for r in app.verify_all())


def test_an_expression_result_beyond_2_53_fails_its_step_only(app: App,
                                                               agents: Agents) -> None:
    app.apply({"name": "big", "steps": [
        {"id": "a", "agent": "t.echo", "input": {"n": {"deep": "${9007199254740991 + 2}"}}}]})
    app.apply({"name": "one", "steps": [{"id": "a", "agent": "t.echo"}]})
    bad = app.start("big")
    good = app.start("one")
    app.run_until_idle()
    assert app.status(good).status == "completed"
    report = app.status(bad)
    assert report.status == "failed"
    assert "input.n.deep: integer 9007199254740993 is outside ±2^53" in (report.error or "")
    assert agents.calls["a"] == 1  # only the good one ran
    assert all(r.ok for r in app.verify_all())


OLD_FLOW = {"name": "old", "steps": [
    {"id": "a", "agent": "v.make", "output": "m", "input": {"v": "${input.v}"}},
    {"id": "w", "type": "wait", "signal": "go", "needs": ["a"]},
    {"id": "b", "agent": "v.take", "needs": ["w"], "input": {"m": "${state.m}",
                                                            "v": "${input.v}"}},
]}


def test_a_database_written_as_rfc8785_text_verifies_and_runs_on(
        backend_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the codec, every value column held RFC 8785 text: ``2.0`` as ``2``, ``1e16`` as
    ``10000000000000000``. Such a database verifies, and a worker carries its executions on
    (the integer beyond 2^53 is the double it denotes, not a value the ledger refuses)."""
    seen: list[Any] = []
    with monkeypatch.context() as old_way:
        old_way.setattr(values, "encode", lambda value, root="value": canonical_text(value))
        with offer(App(backend_url), seen) as first:
            first.apply(OLD_FLOW)
            eid = first.start("old", {"v": 1e16})
            first.run_until_idle()
            assert first.status(eid).status == "waiting"
            row = first.store.load_execution("default", eid)
            assert row is not None and row.input == '{"v":10000000000000000}'
            assert '"alpha":2,' in row.state
    with offer(App(backend_url), seen) as second:
        assert all(r.ok for r in second.verify_all())
        second.signal(eid, "go")
        second.run_until_idle()
        assert second.status(eid).status == "completed"
        assert all(r.ok for r in second.verify_all())
    got = seen[-1]
    assert type(got["v"]) is float and got["v"] == 1e16
    assert exact(got["m"]) == exact({"alpha": 2, "neg": 0, "pair": [1, 2.5], "zeta": 1})


def test_literals_of_a_definition_are_the_same_in_every_process(backend_url: str,
                                                                tmp_path: Path) -> None:
    """A worker process that did not apply the definition compiles it from what is stored:
    its literals keep their types and order there too."""
    flow = {"name": "lit", "steps": [
        {"id": "b", "agent": "v.take", "input": {"z": 2.0, "a": -0.0, "n": "${2.0}"}}]}
    agents = tmp_path / "take.py"
    agents.write_text("import ledgerflow\n\n\n@ledgerflow.agent('v.take')\n"
                      "def take(ctx, data):\n    return data\n")
    with offer(App(backend_url), []) as applied:
        applied.apply(flow)
        here = applied.start("lit")
        applied.run_until_idle()
    with App(backend_url) as reader:
        there = reader.start("lit")  # no worker here: a worker process runs it
        run_cli(tmp_path, backend_url, "worker", "--agents", str(agents), "--until-idle")
        assert reader.status(there).status == "completed"
        expected = exact({"z": 2.0, "a": -0.0, "n": 2.0})
        assert exact(reader.result(here)) == exact(reader.result(there)) == expected
