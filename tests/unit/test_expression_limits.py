"""Expressions that would nest or loop without end: refused when they compile where their
shape shows it, stopped by the evaluation budget where only the data does, and every failure
an ``ExpressionError`` (never a ``RecursionError`` or a hang)."""

from __future__ import annotations

from typing import Any

import pytest

from ledgerflow import errors
from ledgerflow.cel import budget
from ledgerflow.definition import (
    compile_expression,
    compile_template,
    from_mapping,
    limits,
)

TEN = "[0,1,2,3,4,5,6,7,8,9]"


def nested_maps(depth: int, body: str = "x") -> str:
    source = body
    for _ in range(depth):
        source = f"{TEN}.map(x, {source})"
    return source


@pytest.mark.parametrize("source", [
    "(" * 32 + "true" + ")" * 32,  # CEL's minimum of parse recursion
    nested_maps(limits.MAX_MACRO_NESTING - 9) + " != []",  # 12 are accepted; 3 run quickly
    " && ".join(["input.flag"] * 100),
    'steps.kyc.output.risk == "high" && input.type in ["TRUST", "LLC"]',
])
def test_reasonable_expressions_compile_and_run(source: str) -> None:
    value = compile_expression(source).evaluate({"input": {"flag": True, "type": "LLC"},
                                                 "steps": {"kyc": {"output": {"risk": "high"}}}})
    assert value is True


def test_twelve_nested_macros_compile() -> None:
    assert compile_expression(nested_maps(limits.MAX_MACRO_NESTING))


@pytest.mark.parametrize(("source", "reason"), [
    ("1" + " + 1" * 300, "nests deeper than 120 levels"),
    ("[" * 4000 + "]" * 4000, "nests deeper than 120 levels"),
    (nested_maps(limits.MAX_MACRO_NESTING + 1), "it nests more than 12 macros"),
    ("true" + " && true" * 2000, "characters long, more than the 10,000 ledgerflow accepts"),
])
def test_bombs_are_refused_when_they_compile(source: str, reason: str) -> None:
    with pytest.raises(errors.ExpressionSyntaxError) as info:
        compile_expression(source)
    assert reason in str(info.value)
    assert len(str(info.value)) < 400  # the message shows the start of the source only


def test_apply_reports_a_bomb_in_when_at_its_path() -> None:
    spec = {"name": "bomb", "steps": [{"id": "a", "agent": "x.y",
                                       "when": "1" + " + 1" * 300 + " > 0"}]}
    with pytest.raises(errors.DefinitionError) as info:
        from_mapping(spec)
    assert info.value.problems[0].startswith("steps[0].when: invalid CEL expression '1 + 1")


def test_nested_macros_over_big_lists_exceed_the_budget() -> None:
    expression = compile_expression(nested_maps(6) + " != []")  # 10^6 iterations
    with pytest.raises(errors.ExpressionError) as info:
        expression.evaluate({})
    assert str(info.value) == (
        f"expression {expression.source[:119] + '…'!r} exceeded its evaluation budget of "
        "100,000 macro iterations and elements; evaluate over less data, nest fewer macros, or "
        "move the work into an agent")


@pytest.fixture
def small_budget(monkeypatch: pytest.MonkeyPatch) -> int:
    """A budget of 100 iterations: the same counting, quicker to spend."""
    monkeypatch.setattr(budget, "MAX_STEPS", 100)
    return 100


def test_a_big_input_list_exceeds_the_budget_however_it_is_walked(small_budget: int) -> None:
    context = {"input": {"items": list(range(small_budget + 1))}}
    for source in ("input.items.all(x, x >= 0)", "input.items.exists(x, x < 0)",
                   "input.items.filter(x, x > 0).size() > 0",
                   "input.items.exists_one(x, x == 0)"):
        with pytest.raises(errors.ExpressionError,
                           match="budget of 100 macro iterations and elements"):
            compile_expression(source).evaluate(context)


def test_strings_grown_in_a_loop_exceed_the_budget() -> None:
    expression = compile_expression("input.items.map(x, input.s + input.s).size() > 0")
    context = {"input": {"items": list(range(100)), "s": "x" * 10_000}}
    with pytest.raises(errors.ExpressionError) as info:
        expression.evaluate(context)
    assert "exceeded its evaluation budget of 1,000,000 produced characters, bytes or list " \
        "elements" in str(info.value)


def test_the_budget_is_per_evaluation(small_budget: int) -> None:
    expression = compile_expression("input.items.map(x, x * 2).size()")
    context = {"input": {"items": list(range(small_budget))}}
    for _ in range(3):
        assert expression.evaluate(context) == small_budget


def test_templates_are_bounded_the_same_way(small_budget: int) -> None:
    template = compile_template({"all": "${" + nested_maps(3) + "}"})
    with pytest.raises(errors.ExpressionError, match="exceeded its evaluation budget"):
        template.evaluate({})


def test_a_context_too_deep_for_the_stack_is_an_expression_error() -> None:
    deep: Any = "bottom"
    for _ in range(20_000):  # a value that came from somewhere other than a checked input
        deep = [deep]
    with pytest.raises(errors.ExpressionError) as info:
        compile_expression("size(state.v) > 0").evaluate({"state": {"v": deep}})
    assert str(info.value) == ("expression 'size(state.v) > 0' failed: its values or its "
                               "macros nest too deep to evaluate")
