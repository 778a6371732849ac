"""Running the cel-spec cases of ``cel_cases.json`` through ledgerflow's evaluator."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ledgerflow import cel
from ledgerflow.cel import chrono, values

CASES_FILE = Path(__file__).with_name("cel_cases.json")


def load_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(CASES_FILE.read_text("utf-8"))["cases"]
    return cases


def case_id(case: dict[str, Any]) -> str:
    return f"{case['file']}/{case['section']}/{case['name']}"


def to_value(typed: list[Any]) -> Any:
    """A typed case value (``["uint", 1]``) as a CEL value."""
    kind = typed[0]
    if kind == "null":
        return None
    if kind in ("bool", "int", "string"):
        return typed[1]
    if kind == "uint":
        return values.Uint(typed[1])
    if kind == "double":
        return float(typed[1])
    if kind == "bytes":
        return bytes.fromhex(typed[1])
    if kind == "list":
        return [to_value(item) for item in typed[1]]
    if kind == "map":
        return {to_value(key): to_value(item) for key, item in typed[1]}
    if kind == "timestamp":
        return chrono.Timestamp(typed[1] * chrono.NANOS + typed[2])
    if kind == "duration":
        return chrono.Duration(typed[1] * chrono.NANOS + typed[2])
    raise ValueError(f"unknown typed value {typed!r}")


def same(expected: Any, got: Any) -> bool:
    """Equal values of the same CEL type (NaN equals NaN, -0.0 differs from 0.0; map
    entries in any order: the cases do not fix one)."""
    if type(expected) is not type(got):
        return False
    if type(expected) is float:
        if math.isnan(expected):
            return math.isnan(got)
        return bool(expected == got and math.copysign(1, expected) == math.copysign(1, got))
    if type(expected) is list:
        return len(expected) == len(got) and all(
            same(a, b) for a, b in zip(expected, got, strict=True))
    if type(expected) is dict:
        return len(expected) == len(got) and all(
            key in got and same(item, got[key]) for key, item in expected.items())
    return bool(expected == got)


def outcome(case: dict[str, Any]) -> str | None:
    """None when the evaluator does what the case expects, else what it did instead."""
    bindings = {name: to_value(typed) for name, typed in case["bindings"].items()}
    try:
        got = cel.compile(case["expr"]).evaluate(bindings)
    except (cel.CelError, cel.CelSyntaxError) as exc:
        return None if "error" in case else f"error: {exc}"
    if "error" in case:
        return f"no error, got {got!r}"
    expected = to_value(case["value"])
    return None if same(expected, got) else f"got {got!r}, expected {expected!r}"
