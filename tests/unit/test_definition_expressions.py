from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from ledgerflow import errors
from ledgerflow.definition import expressions
from ledgerflow.definition.expressions import (
    ExpressionSyntaxError,
    TemplateSyntaxError,
    compile_expression,
    compile_template,
    referenced_steps,
)
from ledgerflow.definition.model import Evaluable

CONTEXT: dict[str, Any] = {
    "input": {"name": "ACME", "entity_type": "TRUST", "n": 3, "tags": ["a", "b"], "x": 1.5},
    "state": {"case": {"open": True}},
    "steps": {"kyc": {"output": {"ok": True, "score": 7}, "status": "completed"}},
}


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('input.entity_type in ["CORPORATE", "TRUST"]', True),
        ('input.entity_type in ["CORPORATE"]', False),
        ('"b" in input.tags', True),
        ("steps.kyc.output.ok", True),
        ('steps.kyc.status == "completed"', True),
        ("steps.kyc.output.score * 2", 14),
        ("input.x * 2.0", 3.0),
        ("state.case.open && input.n > 2", True),
        ("input.tags", ["a", "b"]),
        ('{"k": [1, null, true]}', {"k": [1, None, True]}),
        ("null", None),
        ('"n=" + string(input.n)', "n=3"),
        ("size(input.tags)", 2),
        ("has(steps.ubo)", False),
        ('timestamp("2026-01-31T09:00:00Z")', "2026-01-31T09:00:00Z"),
        ('duration("90s")', "90s"),
    ],
)
def test_evaluate_returns_plain_json(source: str, value: Any) -> None:
    result = compile_expression(source).evaluate(CONTEXT)
    assert result == value
    assert type(result) is type(value)
    json.dumps(result)  # plain values only


def test_results_are_plain_python_types_deep() -> None:
    result = compile_expression('{"a": [true, 1, 2.5, "s"]}').evaluate({})
    inner = result["a"]
    assert [type(v) for v in inner] == [bool, int, float, str]
    assert type(result) is dict and type(inner) is list
    assert all(type(k) is str for k in result)


def test_missing_step_output_raises_expression_error_naming_it() -> None:
    expression = compile_expression("steps.kyc.output.ok")
    with pytest.raises(errors.ExpressionError) as info:
        expression.evaluate({"input": {}})
    assert str(info.value) == (
        "expression 'steps.kyc.output.ok' failed: no such key: 'kyc'"
    )


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("input.missing", "no such key: 'missing'"),
        ("nosuch.thing", "undeclared reference to 'nosuch'"),
        ('input.n + "x"', "no such overload: _+_ applied to (int, string)"),
        ("1 / 0", "division by zero"),
        ("{1: 2}", "map key 1 is not a string"),
        ('b"raw"', "is not a JSON value"),
        ("1.0 / 0.0", "is not a finite number"),
    ],
)
def test_evaluation_failures_are_expression_errors(source: str, fragment: str) -> None:
    with pytest.raises(errors.ExpressionError) as info:
        compile_expression(source).evaluate(CONTEXT)
    message = str(info.value)
    assert message.startswith(f"expression {source!r} failed: ")
    assert fragment in message
    assert "Activation(" not in message  # the evaluator's internals stay out of messages


def test_missing_top_level_names_are_empty_maps() -> None:
    expression = compile_expression("size(input) + size(state) + size(steps)")
    assert expression.evaluate({}) == 0


def test_context_must_hold_json() -> None:
    with pytest.raises(errors.ExpressionError, match="not a JSON value"):
        compile_expression("input").evaluate({"input": {"when": {1, 2}}})


@pytest.mark.parametrize(
    ("source", "reason", "column"),
    [
        ("a +", "unexpected end of expression", 3),
        ("input.x ==== 3", "unexpected '=='", 11),
        ("a $ b", "unexpected character '$'", 3),
        ("", "unexpected end of expression", 1),
    ],
)
def test_syntax_errors_carry_reason_and_column(source: str, reason: str, column: int) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_expression(source)
    assert info.value.reason == reason
    assert info.value.column == column
    assert str(info.value) == (
        f"invalid CEL expression {source!r}: {reason} at line 1, column {column}"
    )
    assert isinstance(info.value, ValueError)


def test_compiled_expressions_are_cached() -> None:
    assert compile_expression("input.n > 1") is compile_expression("input.n > 1")


def test_expression_is_evaluable() -> None:
    expression: Evaluable = compile_expression("input.n")
    assert expression.source == "input.n"


def test_referenced_steps() -> None:
    source = 'steps.kyc.output.ok && steps["ubo-2"].status == "done" && input.steps == 1'
    assert referenced_steps(source) == {"kyc", "ubo-2"}
    assert referenced_steps("input.n") == set()


def test_evaluation_is_thread_safe() -> None:
    expression = compile_expression("input.n * 2")
    results: list[Any] = []

    def work(n: int) -> None:
        results.extend(expression.evaluate({"input": {"n": n}}) - 2 * n for _ in range(20))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [0] * 160


# --- templates ---------------------------------------------------------------------------


def render(raw: Any, context: dict[str, Any] = CONTEXT) -> Any:
    return compile_template(raw).evaluate(context)


def test_whole_expression_keeps_its_type() -> None:
    assert render({"n": "${input.n}", "tags": "${input.tags}", "ok": "${steps.kyc.output.ok}"}) \
        == {"n": 3, "tags": ["a", "b"], "ok": True}


def test_embedded_parts_interpolate_as_text() -> None:
    assert render("Hello ${input.name}!") == "Hello ACME!"
    assert render("n=${input.n} ok=${steps.kyc.output.ok} t=${input.tags}") \
        == 'n=3 ok=true t=["a","b"]'
    assert render(" ${input.n}") == " 3"


def test_nested_templates_render_recursively() -> None:
    raw = {"who": {"name": "${input.name}", "list": ["x", "${input.n}", {"y": "${input.x}"}]}}
    assert render(raw) == {"who": {"name": "ACME", "list": ["x", 3, {"y": 1.5}]}}


def test_literal_values_pass_through() -> None:
    raw = {"a": 1, "b": [True, None, 2.5], "c": "plain", "d": {"e": "$ not {an} expr"}}
    template = compile_template(raw)
    assert template.is_constant
    first = template.evaluate({})
    assert first == raw
    first["b"].append("mutated")
    assert template.evaluate({}) == raw  # each render is a fresh copy


def test_expression_braces_inside_strings_and_maps() -> None:
    assert render('${{"k": "}"}.k}') == "}"
    assert render("${ {'a': 1}.a }") == 1


def test_dollar_escape_writes_a_literal() -> None:
    assert render("cost: $${input.n}") == "cost: ${input.n}"


def test_template_source_is_the_raw_json() -> None:
    template = compile_template({"entity": "${input.name}"})
    assert json.loads(template.source) == {"entity": "${input.name}"}
    evaluable: Evaluable = template
    assert evaluable.source == template.source


def test_template_referenced_steps() -> None:
    template = compile_template({"a": "${steps.kyc.output}", "b": ["x ${steps.ubo.status}"]})
    assert template.referenced_steps == {"kyc", "ubo"}


def test_template_syntax_errors_list_every_bad_part_with_its_path() -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        compile_template({"a": "${input.x", "b": ["ok", "${a +}"], "c": "${}", "d": "${steps.s}"})
    paths = [path for path, _ in info.value.problems]
    assert paths == [("a",), ("b", 1), ("c",)]
    messages = [message for _, message in info.value.problems]
    assert "unclosed '${'" in messages[0]
    assert "unexpected end of expression" in messages[1]
    assert "empty '${}'" in messages[2]
    assert info.value.referenced_steps == {"s"}


def test_template_evaluation_errors_name_the_expression() -> None:
    with pytest.raises(errors.ExpressionError, match=r"expression 'steps\.nope\.output' failed"):
        render({"x": "Hi ${steps.nope.output}"})


def test_public_names() -> None:
    assert set(expressions.__all__) == {
        "Expression",
        "ExpressionSyntaxError",
        "Template",
        "TemplateSyntaxError",
        "compile_expression",
        "compile_template",
        "referenced_steps",
    }


def test_templates_refuse_values_json_cannot_hold() -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        compile_template({"a": [{1, 2}], 3: "x"})
    assert info.value.problems == (((), "key 3 is not a string"),
                                   (("a", 0), "a set is not a JSON value"))
