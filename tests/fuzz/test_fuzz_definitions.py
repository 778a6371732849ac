"""Fuzzing definitions, inputs and expressions: whatever a user writes, ledgerflow answers
with a result or one of its own errors, never another exception or a hang, and a good
execution beside a generated one completes.

Sizes: CI runs a few dozen examples (well under 30 s); LEDGERFLOW_FAULT_SIZE=large runs more.
Hangs are caught by running each call in a thread bounded by ``SAFETY`` (a safety net, never a
measure of speed).
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerflow import App, errors
from ledgerflow.cel import budget
from ledgerflow.definition import compile_expression, from_mapping, load_text
from tests.support import SAFETY, Agents, until_idle

compile_expression("true")  # CEL raises the recursion limit once: before hypothesis runs
LARGE = os.environ.get("LEDGERFLOW_FAULT_SIZE", "small") == "large"
EXAMPLES = 400 if LARGE else 60
RUNS = 100 if LARGE else 20
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def bounded(call: Callable[[], Any]) -> Any:
    """``call()`` in a thread; a hang fails the test after ``SAFETY`` seconds. Returns its
    value or re-raises what it raised."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed back to the test below
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(SAFETY)
    assert not thread.is_alive(), f"no answer within {SAFETY:g} s: a hang"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def only_ledgerflow_errors(call: Callable[[], Any]) -> Any:
    """``call()``'s value, or None when it raised a ledgerflow error; anything else fails."""
    try:
        return bounded(call)
    except errors.LedgerflowError as exc:
        assert "Traceback" not in str(exc)
        return None


# documents ----------------------------------------------------------------------------------
# numbers stay inside the ledger's exact domain (|x| < 2^53), whose edges are tested where
# the ledger is; NaN and the infinities are not JSON and stay in
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1),
                    st.floats(-1e15, 1e15), st.sampled_from([math.nan, math.inf]),
                    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


depths = st.sampled_from([0, 3, 95, 101, 3000])


def deep(value: Any, depth: int) -> tuple[Any, str]:
    """``value`` wrapped ``depth`` times in lists and mappings, and its JSON text (built
    without recursion: neither may be printed or encoded recursively)."""
    text = json.dumps(value, allow_nan=True)
    for level in range(depth):
        value, text = ([value], f"[{text}]") if level % 2 else ({"k": value}, f'{{"k": {text}}}')
    return value, text


def yaml_text(text: str, draw: st.DrawFn) -> str:
    """JSON is YAML; sometimes with anchors and aliases that expand a lot."""
    if draw(st.booleans()):
        width = draw(st.sampled_from([2, 3, 10]))
        lines = ["lol:", "  l0: &l0 [" + ",".join(["x"] * width) + "]"]
        lines += [f"  l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * width) + "]"
                  for i in range(1, draw(st.integers(1, 9)))]
        text = "\n".join(lines) + "\nv: " + text
    return text


@FUZZ
@given(values, depths, st.data())
def test_any_document_loads_or_is_refused(base: Any, depth: int, data: st.DataObject) -> None:
    value, inner = deep(base, depth)
    spec = {"name": "fuzz", "steps": [{"id": "a", "agent": "t.echo", "input": {"v": value}}]}
    text = ('{"name": "fuzz", "steps": [{"id": "a", "agent": "t.echo", "input": {"v": '
            + inner + "}}]}")
    only_ledgerflow_errors(lambda: load_text(text, "fuzz.json", "json"))
    text_yaml = yaml_text(text, data.draw)
    only_ledgerflow_errors(lambda: load_text(text_yaml, "fuzz.yaml"))
    only_ledgerflow_errors(lambda: from_mapping(spec))


# expressions --------------------------------------------------------------------------------
ATOMS = ["1", "true", "'x'", "input.items", "input.n", "[1, 2, 3]", "input.s", "x", "null"]


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        atom = draw(st.sampled_from(ATOMS))
        wrap = draw(st.sampled_from([0, 0, 5, 40]))
        return "(" * wrap + atom + ")" * wrap
    left = draw(expressions(depth + 1))
    right = draw(expressions(depth + 1))
    form = draw(st.sampled_from(["{l} + {r}", "{l} == {r}", "{l} && {r}", "[{l}, {r}]",
                                 "size({l})", "{l}.map(x, {r})", "{l}.filter(x, {r})",
                                 "{l}.exists(x, {r})", "{l}.all(x, {r})", "{l} ? {r} : {l}",
                                 "{l}[{r}]", "{l}.{r}"]))
    return form.format(l=left, r=right)


@FUZZ
@given(expressions(), st.integers(0, 200), st.integers(0, 2000))
def test_any_expression_compiles_and_runs_or_fails_with_its_reason(
        source: str, count: int, length: int) -> None:
    context = {"input": {"items": list(range(count)), "n": count, "s": "y" * length}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(budget, "MAX_STEPS", 500)  # the counting, quicker to spend
        expression = only_ledgerflow_errors(lambda: compile_expression(source))
        if expression is not None:
            only_ledgerflow_errors(lambda: expression.evaluate(context))


# graphs -------------------------------------------------------------------------------------
@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 12))
    ids = [draw(st.sampled_from([f"s{i}"] * 30 + [f"on.s{i}", f"s{i}.x"])) for i in range(count)]
    steps = []
    for index, step_id in enumerate(ids):
        step: dict[str, Any] = {"id": step_id,
                                "agent": draw(st.sampled_from(["t.echo", "t.echo", "t.fail"]))}
        needs = draw(st.lists(st.sampled_from([*ids, "nope"]), max_size=3))
        if needs:
            later = list(dict.fromkeys(n for n in needs if n in ids[index + 1:]))
            step["needs"] = needs if draw(st.integers(0, 9)) == 0 else later
        if draw(st.integers(0, 2)) == 0:
            step["when"] = draw(expressions())
        if draw(st.integers(0, 2)) == 0:
            step["input"] = {"v": "${" + draw(expressions()) + "}"}
        if draw(st.integers(0, 9)) == 0:
            step["timeout"] = draw(st.sampled_from(["5s", "36500d", "36501d", 1e300]))
        steps.append(step)
    return {"name": "fuzz", "steps": steps}


@FUZZ
@given(definitions())
def test_any_step_graph_validates_or_is_refused(spec: dict[str, Any]) -> None:
    only_ledgerflow_errors(lambda: from_mapping(spec))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    with App(f"sqlite:///{folder / 'fuzz.db'}") as fuzz_app:
        Agents().register(fuzz_app)
        fuzz_app.apply({"name": "good", "steps": [{"id": "a", "agent": "t.echo"}]})
        yield fuzz_app


@settings(FUZZ, max_examples=RUNS)
@given(definitions(), values, depths)
def test_a_generated_execution_never_hurts_a_good_one(app: App, spec: dict[str, Any],
                                                      base: Any, depth: int) -> None:
    """apply + start + run until idle (``until_idle`` fails on a hang): the generated
    execution ends completed or failed, the good one completes, the ledgers verify."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(budget, "MAX_STEPS", 500)
        if only_ledgerflow_errors(lambda: app.apply(spec)) is None:
            return
        data = {"items": [1, 2], "d": deep(base, depth)[0]}
        fuzzed = only_ledgerflow_errors(lambda: app.start("fuzz", data))
        good = app.start("good", {})
        until_idle(app)
    assert app.status(good).status == "completed"
    if fuzzed is not None:
        assert app.status(fuzzed).status in ("completed", "failed")
        assert app.verify(fuzzed).ok
