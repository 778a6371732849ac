"""The official CEL conformance cases (google/cel-spec, see README.md here) hold: through the
evaluator, and through ``${...}`` templates and ``when:`` conditions of a definition.

The cases that fail must be exactly the exceptions the README lists with their reasons, so
a regression and a newly passing case both show here.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from ledgerflow import errors
from ledgerflow.definition import from_mapping
from tests.conformance.cel_spec import case_id, load_cases, outcome, same, to_value

README = Path(__file__).resolve().parents[2] / "README.md"
CASES = load_cases()


def documented_exceptions() -> dict[str, str]:
    """``case id -> reason`` from the README's list of conformance exceptions."""
    text = README.read_text("utf-8")
    section = text.split("### Conformance", 1)[1].split("\n#", 1)[0]
    assert "exceptions" in section.lower()
    return dict(re.findall(r"^- `([^`]+)`: (.+)$", section, re.MULTILINE))


def test_the_failing_cases_are_exactly_the_documented_exceptions() -> None:
    failing = {case_id(case): why for case in CASES if (why := outcome(case)) is not None}
    assert set(failing) == set(documented_exceptions()), failing
    assert len(CASES) > 1000
    assert 1 - len(failing) / len(CASES) >= 0.98


def test_the_documented_exceptions_are_cases_of_the_file() -> None:
    ids = {case_id(case) for case in CASES}
    assert set(documented_exceptions()) <= ids


def _json(typed: list[Any]) -> Any:
    """A typed case value as the JSON a definition sees or returns; KeyError when it has
    none (uint, bytes, timestamps, non-finite doubles, non-string keys)."""
    kind = typed[0]
    if kind in ("null", "bool", "int", "string", "list", "map"):
        value = to_value(typed)
        if kind == "list":
            return [_json(item) for item in typed[1]]
        if kind == "map":
            if any(key[0] != "string" for key, _ in typed[1]):
                raise KeyError("map keys")
            return {key[1]: _json(item) for key, item in typed[1]}
        return value
    if kind == "double" and math.isfinite(float(typed[1])):
        return float(typed[1])
    raise KeyError(kind)


def _json_case(case: dict[str, Any]) -> bool:
    try:
        for typed in [*case["bindings"].values(), *([case["value"]] if "value" in case else [])]:
            _json(typed)
    except KeyError:
        return False
    return "$" not in case["expr"]


JSON_CASES = [case for case in CASES if _json_case(case)]


def _definition(case: dict[str, Any]) -> Any:
    step = {"id": "s", "agent": "conformance.check", "input": {"v": "${" + case["expr"] + "}"}}
    if "value" in case and case["value"][0] == "bool":
        step["when"] = case["expr"]
    return from_mapping({"name": "conformance", "steps": [step]})


def test_most_cases_are_json_and_run_through_a_definition() -> None:
    assert len(JSON_CASES) > 0.75 * len(CASES)


@pytest.mark.parametrize("case", JSON_CASES[::4], ids=case_id)
def test_cases_through_templates_and_when(case: dict[str, Any]) -> None:
    """Every fourth JSON-expressible case: a step's ``input: {v: "${expr}"}`` renders the
    expected value with its exact type, and a boolean case as ``when:`` gives the same."""
    context = {name: _json(typed) for name, typed in case["bindings"].items()}
    try:
        step = _definition(case).steps[0]
    except errors.DefinitionError:
        assert "error" in case, "a valid expression was refused"
        return
    if "error" in case:
        with pytest.raises(errors.ExpressionError):
            step.input.evaluate(context)
        return
    expected = _json(case["value"])
    rendered = step.input.evaluate(context)["v"]
    assert same(expected, rendered)
    if step.when is not None:
        assert step.when.evaluate(context) is expected
