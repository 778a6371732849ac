"""ledgerflow's CEL evaluator: what an expression in a definition sees and returns."""

from __future__ import annotations

import enum
import threading
import types
from typing import Any

import pytest

from ledgerflow import cel, errors
from ledgerflow.cel import budget, parser
from ledgerflow.definition.expressions import (
    ExpressionSyntaxError,
    TemplateSyntaxError,
    compile_expression,
    compile_template,
)


def evaluate(source: str, **context: Any) -> Any:
    return compile_expression(source).evaluate(context)


def failure(source: str, **context: Any) -> str:
    with pytest.raises(errors.ExpressionError) as info:
        evaluate(source, **context)
    return str(info.value)


def test_maps_keep_their_producers_order() -> None:
    state = {"m": {"zeta": 1, "alpha": 2.0, "neg": -0.0, "pair": (1, 2.5)}}
    assert evaluate("state.m.map(k, k)", state=state) == ["zeta", "alpha", "neg", "pair"]
    passed = evaluate("state.m", state=state)
    assert list(passed) == ["zeta", "alpha", "neg", "pair"]
    assert passed["pair"] == [1, 2.5] and type(passed["alpha"]) is float
    assert str(passed["neg"]) == "-0.0"
    assert list(evaluate("{'b': 1, 'a': 2, 'c': 3}")) == ["b", "a", "c"]
    assert evaluate("state.m.alpha + 0.5", state=state) == 2.5


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("dyn(1) == 1.0", True),
        ("1 == 1u", True),
        ("[1] == [1.0]", True),
        ("{'a': 1} == {'a': 1.0}", True),
        ("dyn(3.0) in [5, 4, 3]", True),
        ("dyn(1) == null", False),
        ("1u < 2.5", True),
        ("'\\?\\X4c\\101\\u00e9\\U0001F600'", "?LAé😀"),
        ("r'\\n'", "\\n"),
        ("'''a ' \" b\n'''", "a ' \" b\n"),
        ("{'content-type': 'json'}.`content-type`", "json"),
        ("0.0 / 0.0 != 0.0 / 0.0", True),
        ("-9223372036854775808", -(2**63)),
        ("18446744073709551615u", 2**64 - 1),
        ("1/0 == 1 || true", True),
        ("true && 1/0 == 1 || true", True),
        ("[1, 'a'].exists(x, x == 1)", True),
        ("[1, 2, 3].exists_one(x, x > 2)", True),
        ("[1, 2, 3].map(x, x > 1, x * 10)", [20, 30]),
        ("[1, 2, 3].filter(x, x % 2 == 1)", [1, 3]),
        ("[1, 2].all(x, x > 0)", True),
        ("has({'a': 1}.a) && !has({'a': 1}.b)", True),
        ("timestamp('2009-02-13T23:31:30.123456789Z')", "2009-02-13T23:31:30.123456789Z"),
        ("timestamp('2009-02-13T23:31:30Z') + duration('1.000000001s')",
         "2009-02-13T23:31:31.000000001Z"),
        ("duration('1.5s')", "1.5s"),
        ("duration('400000s')", "400000s"),
        ("timestamp('2009-02-13T23:31:30Z').getHours('Asia/Kathmandu')", 5),
        ("string(2.5) + string(1e21) + string(1u)", "2.51e+211"),
        ("b'ab' + b'c' == bytes('abc')", True),
        ("size('πέντε')", 5),
        ("'mañana'.matches('a+ñ+a+')", True),
        ("type(1) == int && type('a') == string", True),
    ],
)
def test_the_spec_semantics(source: str, value: Any) -> None:
    result = evaluate(source)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("9223372036854775807 + 1", "int overflow"),
        ("0u - 1u", "uint overflow"),
        ("-9223372036854775808 / -1", "int overflow"),
        ("int(9223372036854775807.0)", "range error"),
        ("1 % 0", "modulus by zero"),
        ("1 + 1.0", "no such overload: _+_ applied to (int, double)"),
        ("{'a': 1, 'a': 2}", "repeated key"),
        ("[1][1]", "index 1 out of range"),
        ("timestamp('9999-12-31T23:59:59Z') + duration('1s')", "timestamp out of range"),
        ("duration('3000000h')", "duration out of range"),
        ("1.0 / 0.0", "result Infinity is not a finite number"),
        ("0.0 / 0.0", "result NaN is not a finite number"),
        ("b'x'", "bytes is not a JSON value"),
        ("f(1)", "unknown function 'f'"),
        ("'x'.matches('(')", "invalid regular expression"),
    ],
)
def test_errors_fail_the_expression_with_a_reason(source: str, fragment: str) -> None:
    message = failure(source)
    assert message.startswith(f"expression {source!r} failed: ")
    assert fragment in message


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("if", "'if' is a reserved word and cannot name a variable or function"),
        ("'\\q'", "invalid escape sequence '\\q' in a string literal"),
        ("9223372036854775808", "int literal 9223372036854775808 is outside the int64 range"),
        ("a.`b`()", "`b` names a field, not a function"),
        ("[" * 130 + "]" * 130, "expression nests deeper than 120 levels; split it up"),
        ("[1].map(x)", "map() takes a variable and one or two expressions"),
    ],
)
def test_syntax_errors_say_why(source: str, reason: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression(source)
    assert info.value.reason == reason


def test_reserved_words_select_fields() -> None:
    assert evaluate("{'if': 1}.if + input.while", input={"while": 2}) == 3


def test_the_budget_stops_runaway_comprehensions_and_growth() -> None:
    thousand = list(range(1000))
    message = failure("input.l.map(x, input.l.map(y, x + y)).size()", input={"l": thousand})
    assert f"exceeded its evaluation budget of {budget.MAX_STEPS:,} macro iterations" in message
    text = "input.s" + " + input.s" * 30
    assert f"budget of {budget.MAX_SIZE:,} produced" in failure(text, input={"s": "x" * 40000})
    assert evaluate("input.l.map(x, x).size()", input={"l": thousand}) == 1000


def test_each_evaluation_has_its_own_budget() -> None:
    expression = compile_expression("input.l.all(x, x >= 0)")
    context = {"input": {"l": list(range(budget.MAX_STEPS // 2))}}
    for _ in range(3):
        assert expression.evaluate(context) is True


def test_qualified_names_and_comprehension_variables() -> None:
    program = cel.compile("a.b.c + [{'z': 1}].map(a, a.z)[0]")
    assert program.evaluate({"a.b": {"c": 1}, "a": {"b": {"c": 100}}}) == 2
    assert program.evaluate({"a": {"b": {"c": 100}}}) == 101


def test_templates_skip_cel_string_literals() -> None:
    template = compile_template({
        "a": "${'''it's } here'''}",
        "b": "x=${\"}\" + r'\\'} y=${input.n}",
        "c": "${{'k': '}'}.k}",
        "d": "${'a\\'}' + \"\"\"\"}\"\"\"}",
    })
    assert template.evaluate({"input": {"n": 1}}) == {
        "a": "it's } here", "b": "x=}\\ y=1", "c": "}", "d": "a'}\"}"}


def test_an_unclosed_string_leaves_the_template_unclosed() -> None:
    with pytest.raises(TemplateSyntaxError, match="unclosed '\\$\\{'"):
        compile_template("${'''abc}")


def test_compiling_in_many_threads_at_once() -> None:
    results: list[Any] = []

    def work(n: int) -> None:
        results.extend(cel.compile(f"[{n}, {n}u, '{n}'].size() + {n}").evaluate({})
                       for _ in range(30))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(3 + n for n in range(6) for _ in range(30))


def test_the_grammar_is_lalr() -> None:
    assert parser._parser().options.parser == "lalr"


def test_context_values_of_subclasses_and_mappings() -> None:
    class Tier(enum.IntEnum):
        GOLD = 3

    context = {"input": types.MappingProxyType({"tier": Tier.GOLD, "ok": True})}
    assert evaluate("input.tier + 1", **context) == 4
    assert evaluate("input.ok", **context) is True


def test_map_literals_refuse_a_bool_and_a_number_key_together() -> None:
    assert "a map cannot hold both 1 and a key equal to it" in failure("{true: 'a', 1: 'b'}")
    assert evaluate("{true: 'a', 2: 'b'}[2]") == "b"


@pytest.mark.parametrize(("source", "said"), [
    ("1.size(1)", "'size' does not take 1 argument"),
    ("size()", "'size' does not take 0 arguments"),
    ("'a'.startsWith()", "'startsWith' does not take 0 arguments"),
    ("timestamp(1, 2)", "'timestamp' does not take 2 arguments"),
])
def test_a_call_with_the_wrong_number_of_arguments_is_an_expression_error(
        source: str, said: str) -> None:
    with pytest.raises(errors.ExpressionError, match=f"no such overload: {said}"):
        compile_expression(source).evaluate({})
