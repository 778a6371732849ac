"""An attempt's ``Outcome``: built once in the pool thread, with the output's canonical text,
and applied by the rules as it is."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785

from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.engine.model.outcome import Outcome, OutcomeKind
from ledgerflow.engine.model.transition import Dispatch
from ledgerflow.engine.worker.attempts import AttemptRunner
from ledgerflow.engine.worker.context import StepContext
from ledgerflow.engine.worker.events import Event
from ledgerflow.testing import FakeClock

ATTEMPT = Dispatch(execution_id="e-1", tenant_id="default", workflow="w", step_id="s",
                   capability="t.cap", agent="t.agent", attempt=2, epoch=3,
                   input={"n": 1}, state_text="{}", timeout=None)


def test_an_outcome_is_named_by_its_attempt() -> None:
    done = Outcome.of(ATTEMPT, output={"b": 1, "a": 2}, output_text='{"a":2,"b":1}',
                      duration_ms=1.5)
    assert (done.execution_id, done.step_id, done.epoch, done.capability, done.agent) == (
        "e-1", "s", 3, "t.cap", "t.agent")
    assert (done.kind, done.ok, done.error, done.duration_ms) == (
        OutcomeKind.COMPLETED, True, None, 1.5)
    failed = Outcome.of(ATTEMPT, error="boom")
    assert (failed.kind, failed.ok, failed.output, failed.output_text) == (
        OutcomeKind.FAILED, False, None, "null")
    assert str(failed.kind) == "failed"


def _run(handler: Any | None) -> Outcome:
    registry = AgentRegistry()
    if handler is not None:
        registry.agent("t.cap", name="t.agent")(handler)
    events: list[Event] = []
    AttemptRunner(registry, events.append, FakeClock()).run(ATTEMPT, StepContext(ATTEMPT))
    [outcome] = events
    assert isinstance(outcome, Outcome)
    assert (outcome.execution_id, outcome.step_id, outcome.epoch) == ("e-1", "s", 3)
    assert outcome.duration_ms >= 0.0
    return outcome


def test_the_pool_thread_encodes_the_output_once_as_stored_and_canonically() -> None:
    output = {"z": [1, 2.0, -0.0], "a": "é", "t": (1,)}
    outcome = _run(lambda ctx, data: output)
    assert outcome.kind is OutcomeKind.COMPLETED
    # what goes on is the value as stored, not the handler's object (it may change it):
    # types, the sign of zero and key order kept, the tuple a list
    assert outcome.output == {"z": [1, 2.0, -0.0], "a": "é", "t": [1]}
    assert outcome.output is not output and list(outcome.output) == ["z", "a", "t"]
    assert type(outcome.output["z"][1]) is float and str(outcome.output["z"][2]) == "-0.0"
    assert outcome.output_text == '{"z":[1,2.0,-0.0],"a":"é","t":[1]}'
    assert outcome.output_canonical == '{"a":"é","t":[1],"z":[1,2,0]}' == \
        rfc8785.dumps(output).decode()


@pytest.mark.parametrize(("handler", "error"), [
    (None, "agent 't.agent' is not loaded in this worker"),
    (lambda ctx, data: 1 / 0, "ZeroDivisionError: division by zero"),
    (lambda ctx, data: {"x": float("nan")}, "the output cannot be stored: output.x: number nan "
     "is not finite"),
    (lambda ctx, data: {1: "key"}, "the output cannot be stored: output: key 1 is not a string"),
])
def test_a_failed_attempt_carries_its_error_and_no_output(handler: Any, error: str) -> None:
    outcome = _run(handler)
    assert outcome.kind is OutcomeKind.FAILED
    assert outcome.error is not None and outcome.error.startswith(error)
    assert (outcome.output, outcome.output_text) == (None, "null")


def _raiser(exc: BaseException) -> Any:
    def handler(ctx: Any, data: Any) -> Any:
        raise exc
    return handler


@pytest.mark.parametrize(("exc", "error"), [
    (KeyboardInterrupt("stop"), "KeyboardInterrupt: stop"),
    (SystemExit(3), "SystemExit: 3"),
    (GeneratorExit(), "GeneratorExit"),
    (BaseException("odd [/] one\nline\x00two"), "BaseException: odd [/] one line two"),
])
def test_any_base_exception_fails_the_attempt_alone(exc: BaseException, error: str) -> None:
    outcome = _run(_raiser(exc))
    assert (outcome.kind, outcome.error, outcome.output_text) == (
        OutcomeKind.FAILED, error, "null")


def test_an_unstorable_output_is_refused_with_its_path() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = [cyclic]
    for output, reason in [
        ({"items": [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 2**60}]},
         "output.items[3].n: integer 2^60 is outside ±2^53"),
        ({"x": [float("inf")]}, "output.x[0]: number inf is not finite"),
        ({"a": {2: "b"}}, "output.a: key 2 is not a string"),
        (cyclic, "output.self[0]: refers back to a value that contains it (a cycle)"),
        ("x" * (64 * 1024 * 1024), "output: larger than the 16 MiB a value may take"),
    ]:
        outcome = _run(lambda ctx, data, out=output: out)
        assert outcome.error is not None and outcome.error.startswith(
            f"the output cannot be stored: {reason}"), outcome.error
