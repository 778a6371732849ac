"""Plain paths and name-only conversion give exactly what the full evaluator gives."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerflow import errors
from ledgerflow.definition import cel
from ledgerflow.definition.expressions import compile_expression, compile_template

KEYS = st.sampled_from(["a", "b", "c", "output", "y"])
SCALARS = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=3) \
    | st.floats()
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)
CONTEXTS = st.fixed_dictionaries({}, optional={
    "input": JSON, "state": JSON, "steps": JSON, "x": JSON, "input.a": JSON})

PATHS = ["input.a", "input.a.b", "input.a.b.c", "state.y", "state.a.b", "steps.a.output.y",
         "steps.b.output", "input", "x.a", "undeclared.a", "int.a"]
OTHERS = ["size(input.a) > 0", "has(input.a.b)", "input.a == state.b",
          "[1, 2].exists(a, a == input.b)", 'input.a.b + "!"', "x.a.b",
          "steps.a.output.y in [1, 2]", "input.a.b.map(k, k)", 'input["a"].b',
          "size(input.a) + size(input.a.b)", "input.a.b == 1 || input.a == {}",
          "has(input.a) && has(input.a.b.c)", "[input].map(input, input.a)", "input.a.c.b",
          "state.a.b == state.a", "steps.a.output.size() > steps.a.output.y"]


def outcome(source: str, context: dict[str, Any], *, full: bool) -> tuple[str, Any]:
    _, program = cel.parse(source)
    try:
        return "value", cel.run(program, source, context, full=full)
    except errors.ExpressionError as exc:
        return "error", str(exc)


def same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    # NaN never equals itself; compare the printed form, which also tells 1 from 1.0 and True
    return repr(a) == repr(b)


@settings(max_examples=600, deadline=None)
@given(context=CONTEXTS, source=st.sampled_from(PATHS + OTHERS))
def test_same_value_or_error_as_full_evaluator(context: dict[str, Any], source: str) -> None:
    fast, full = outcome(source, context, full=False), outcome(source, context, full=True)
    assert same(fast, full), (fast, full)


@settings(max_examples=200, deadline=None)
@given(context=CONTEXTS, path=st.sampled_from(PATHS))
def test_whole_template_path_same_as_full_evaluator(context: dict[str, Any],
                                                    path: str) -> None:
    try:
        fast: tuple[str, Any] = ("value", compile_template(f"${{{path}}}").evaluate(context))
    except errors.ExpressionError as exc:
        fast = ("error", str(exc))
    assert same(fast, outcome(path, context, full=True))


@pytest.mark.parametrize(("source", "context", "said"), [
    ("input.a.b", {"input": {"a": {}}}, "expression 'input.a.b' failed: no such key: 'b'"),
    ("input.a.b", {"input": {"a": [1]}},
     "expression 'input.a.b' failed: type 'list' does not support field selection"),
    ("input.a.b", {"input": {"a": None}},
     "expression 'input.a.b' failed: type 'null_type' does not support field selection"),
    ("state.x", {}, "expression 'state.x' failed: no such key: 'x'"),
])
def test_path_errors_name_the_key_or_the_type(source: str, context: dict[str, Any],
                                               said: str) -> None:
    with pytest.raises(errors.ExpressionError) as caught:
        compile_expression(source).evaluate(context)
    assert str(caught.value) == said
    assert outcome(source, context, full=True) == ("error", said)


@pytest.mark.parametrize("source", ["input.a.b", "input.a.b > 1 && size(input.a) == 1"])
def test_values_the_expression_does_not_name_are_not_converted(source: str) -> None:
    # a value that is not JSON where the expression does not look: only the full
    # conversion of the whole context trips over it
    context = {"input": {"a": {"b": 2}}, "state": {"odd": object()}}
    assert compile_expression(source).evaluate(context) in (2, True)
    with pytest.raises(errors.ExpressionError, match="not a JSON value"):
        cel.run(cel.parse(source)[1], source, context, full=True)


def test_path_returns_a_copy_of_containers() -> None:
    context = {"input": {"a": {"b": [1, {"c": 2.5}]}}}
    found = compile_expression("input.a.b").evaluate(context)
    assert found == [1, {"c": 2.5}]
    found[1]["c"] = 0
    assert context["input"]["a"]["b"] == [1, {"c": 2.5}]
