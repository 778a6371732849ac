"""A bad execution fails alone (Python API, both backends): whatever one handler raises or
returns, whatever one template evaluates to, whatever one execution's change cannot write,
that execution ends failed with a one-line reason in ``status`` and ``history``, a good
execution started beside it completes, the worker ends by itself (``until_idle``), nothing
prints a traceback and every ledger verifies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from ledgerflow import App, errors
from ledgerflow.storage import open_store
from ledgerflow.storage.base import AgentWrites, Change, Store
from ledgerflow.testing import FakeClock
from tests.support import until_idle


def _flow(name: str, capability: str, **step: Any) -> dict[str, Any]:
    return {"name": name, "steps": [{"id": "s", "agent": capability, "output": "s", **step},
                                    {"id": "t", "agent": "t.echo", "needs": ["s"]}]}


def _good(app: App) -> str:
    app.apply(_flow("good", "t.echo"))
    return app.start("good", {"n": 1})


def _fails_alone(app: App, capfd: pytest.CaptureFixture[str], bad: Sequence[str],
                 good: Sequence[str], reason: str) -> None:
    """Run until idle; each of ``bad`` failed with ``reason`` (a one-line error in its
    status, on its failed step and in its history), ``good`` completed."""
    report = until_idle(app)
    assert report.steps_run >= len(good)
    for eid in good:
        assert app.status(eid).status == "completed"
    for eid in bad:
        status = app.status(eid)
        assert status.status == "failed"
        assert status.error is not None and reason in status.error and "\n" not in status.error
        assert any(reason in (e.payload or {}).get("error", "")
                   for e in app.history(eid) if e.event_type == "step.failed")
    assert all(r.ok for r in app.verify_all())
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("raised", [KeyboardInterrupt("stop"), SystemExit(3), GeneratorExit()],
                         ids=["KeyboardInterrupt", "SystemExit", "GeneratorExit"])
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_handler_raising_any_base_exception_fails_its_attempt_only(
        app: App, capfd: pytest.CaptureFixture[str], raised: BaseException,
        kind: str) -> None:
    calls: list[int] = []

    def sync(ctx: Any, data: Any) -> Any:
        calls.append(ctx.attempt)
        raise raised

    async def asynchronous(ctx: Any, data: Any) -> Any:
        calls.append(ctx.attempt)
        await asyncio.sleep(0)
        raise raised

    app.agent("p.raise")(sync if kind == "sync" else asynchronous)
    app.apply(_flow("bad", "p.raise", retry={"max_attempts": 2, "initial": "1ms"}))
    bad = app.start("bad")
    good = _good(app)
    _fails_alone(app, capfd, [bad], [good], type(raised).__name__)
    assert calls == [1, 2]  # retried by its policy: the slot was given back each time


def test_an_output_the_ledger_cannot_hold_fails_its_step_with_the_path(
        app: App, capfd: pytest.CaptureFixture[str]) -> None:
    cyclic: dict[str, Any] = {}
    cyclic["me"] = cyclic
    outputs: dict[str, tuple[Any, str]] = {
        "int": ({"items": [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 2**60}]},
                "output.items[3].n: integer 2^60 is outside ±2^53"),
        "nan": ({"x": float("nan")}, "output.x: number nan is not finite"),
        "inf": ([float("-inf")], "output[0]: number -inf is not finite"),
        "keys": ({"a": {1: "b"}}, "output.a: key 1 is not a string"),
        "cycle": (cyclic, "output.me: refers back to a value that contains it"),
        "type": ({"when": object()}, "output.when: object is not a JSON type"),
        "huge": ("x" * (17 * 1024 * 1024), "output: larger than the 16 MiB a value may take"),
    }

    @app.agent("p.out")
    def out(ctx: Any, data: Any) -> Any:
        return outputs[data["case"]][0]

    app.apply(_flow("bad", "p.out", input={"case": "${input.case}"}))
    good = _good(app)
    for case, (_, reason) in outputs.items():
        bad = app.start("bad", {"case": case}, execution_id=f"bad-{case}")
        _fails_alone(app, capfd, [bad], [good], f"the output cannot be stored: {reason}")


def test_a_template_value_outside_the_domain_refuses_the_step_input(
        app: App, capfd: pytest.CaptureFixture[str]) -> None:
    app.apply(_flow("bad", "t.echo", input={"n": "${input.n * 1024}"}))
    bad = app.start("bad", {"n": 2**52})
    good = _good(app)
    _fails_alone(app, capfd, [bad], [good],
                 "the step input cannot be stored: input.n: integer 2^62 is outside ±2^53")
    assert app.status(bad).steps[0].attempts == 0  # refused before any handler ran


def test_start_input_signal_data_and_state_edits_outside_the_domain_are_refused(
        app: App) -> None:
    app.apply({"name": "w", "steps": [{"id": "s", "type": "wait", "signal": "go"}]})
    with pytest.raises(errors.InputValidationError) as refused:
        app.start("w", {"list": [0, 2**60]})
    assert str(refused.value) == \
        "the input cannot be stored: input.list[1]: integer 2^60 is outside ±2^53"
    assert refused.value.problems == ("input.list[1]: integer 2^60 is outside ±2^53",)
    eid = app.start("w", {})
    with pytest.raises(errors.InputValidationError, match=r"^the signal data cannot be "
                       r"stored: data\.x: number inf is not finite"):
        app.signal(eid, "go", {"x": float("inf")})
    app.pause(eid)
    with pytest.raises(errors.InputValidationError, match=r"^the edited state cannot be "
                       r"stored: state\.a\.b: key 1 is not a string"):
        app.set_state(eid, "a.b", {1: 2})
    assert [e.event_type for e in app.history(eid)] == [
        "execution.created", "execution.paused"]


def test_handlers_get_copies_mutating_them_changes_nothing_stored(
        app: App, capfd: pytest.CaptureFixture[str]) -> None:
    kept: dict[str, Any] = {"n": 1}
    seen: list[Any] = []

    @app.agent("p.keep")
    def keep(ctx: Any, data: Any) -> Any:
        return kept  # and changes it later, as a cache would

    @app.agent("p.mutate")
    def mutate(ctx: Any, data: Any) -> Any:
        kept["n"] = 100
        ctx.state["s"]["n"] = 200
        ctx.state["evil"] = True
        data["list"].append(300)
        return {"ok": True}

    @app.agent("p.see")
    def see(ctx: Any, data: Any) -> Any:
        seen.append((data, ctx.state))
        return data

    app.apply({"name": "m", "steps": [
        {"id": "s", "agent": "p.keep", "output": "s"},
        {"id": "m", "agent": "p.mutate", "needs": ["s"], "input": {"list": [1]}},
        {"id": "t", "agent": "p.see", "needs": ["m"], "output": "t",
         "input": {"n": "${state.s.n}", "list": [1]}}]})
    one, two = app.start("m", {}), app.start("m", {})
    until_idle(app)
    for eid in (one, two):
        assert app.status(eid).status == "completed"
        assert app.state(eid).state == {"s": {"n": 1}, "t": {"n": 1, "list": [1]}}
    assert seen == [({"n": 1, "list": [1]}, {"s": {"n": 1}})] * 2
    assert all(r.ok for r in app.verify_all())


class RefusingStore:
    """A real store that refuses (as a broken constraint would) every batch holding a
    change of ``execution_id`` that records one of ``events``."""

    def __init__(self, inner: Store, execution_id: str, events: set[str]) -> None:
        self._inner = inner
        self._bad = execution_id
        self._events = events
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def commit(self, changes: Sequence[Change], *, together: bool = False,
               agents: AgentWrites | None = None) -> list[bool]:
        if any(c.execution.id == self._bad and self._events & {e.event_type for e in c.ledger}
               for c in changes):
            self.refused += 1
            raise errors.StorageError("the database refused a row (a test)")
        return self._inner.commit(changes, together=together, agents=agents)


def _refusing(backend_url: str, bad: str, events: set[str],
              clock: FakeClock | None = None) -> tuple[App, RefusingStore, Callable[[], None]]:
    inner = open_store(backend_url)
    store = RefusingStore(inner, bad, events)
    app = App(store, clock=clock)  # type: ignore[arg-type]

    @app.agent("t.echo")
    def echo(ctx: Any, data: Any) -> Any:
        return {"step": ctx.step_id}

    def close() -> None:
        app.close()
        inner.close()
    return app, store, close


def test_a_change_that_cannot_be_written_fails_its_execution_and_spares_the_batch(
        backend_url: str, capfd: pytest.CaptureFixture[str]) -> None:
    app, store, close = _refusing(backend_url, "bad", {"step.completed"})
    try:
        app.apply(_flow("flow", "t.echo"))
        goods = [app.start("flow", {"i": i}, execution_id=f"good-{i}") for i in range(8)]
        app.start("flow", {}, execution_id="bad")
        report = until_idle(app, concurrency=16)  # their results share batches
        assert store.refused >= 1
        assert report.steps_run >= 16
        for eid in goods:
            assert app.status(eid).status == "completed"
        status = app.status("bad")
        assert status.status == "failed"
        assert status.error is not None and status.error.startswith(
            "the worker could not write the change of it: StorageError: the database "
            "refused a row (a test)")
        assert [e.event_type for e in app.history("bad")][-3:] == [
            "step.failed", "step.cancelled", "execution.failed"]
        assert all(r.ok for r in app.verify_all())
        assert "Traceback" not in capfd.readouterr().err
    finally:
        close()


def test_an_execution_that_cannot_even_fail_is_quarantined_and_named(
        backend_url: str, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    app, store, close = _refusing(backend_url, "bad", {"step.completed", "execution.failed"})
    try:
        app.apply(_flow("flow", "t.echo"))
        good = app.start("flow", {}, execution_id="good")
        app.start("flow", {}, execution_id="bad")
        until_idle(app)
        assert app.status(good).status == "completed"
        assert app.status("bad").status == "running"  # set aside, untouched
        assert store.refused >= 2  # its change, then its failure
        [line] = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
        assert line.startswith("execution bad skipped: the worker could not write the "
                               "change of it: StorageError")
        logged = [r for r in app.logs("bad") if r.message == "execution.quarantined"]
        assert len(logged) == 1 and "failing it did not work either" in str(logged[0].fields)
        aside = app.status("bad").quarantined  # status says why it does not move
        assert aside is not None and aside["since"] == logged[0].at
        assert aside["reason"].startswith("the worker could not write the change of it: ")
        assert "failing it did not work either" in aside["reason"]
        assert app.status(good).quarantined is None
        assert all(r.ok for r in app.verify_all())
        assert "Traceback" not in capfd.readouterr().err
    finally:
        close()


def test_a_backoff_past_what_a_timer_can_hold_fails_the_step(
        backend_url: str, capfd: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock(datetime(9999, 6, 1, tzinfo=UTC))  # a year's backoff ends past 9999
    app = App(backend_url, clock=clock)
    try:
        @app.agent("p.fail")
        def fail(ctx: Any, data: Any) -> Any:
            raise RuntimeError("down")

        @app.agent("t.echo")
        def echo(ctx: Any, data: Any) -> Any:
            return {}

        retry = {"max_attempts": 3, "initial": "365d", "max": "400d"}
        app.apply(_flow("bad", "p.fail", retry=retry))
        bad = app.start("bad")
        good = _good(app)
        _fails_alone(app, capfd, [bad], [good], "RuntimeError: down (not retried: its "
                     "backoff before attempt 2 is longer than a timer can wait)")
    finally:
        app.close()
