"""The bridge to ``cel-python``: parsing, running, and converting values both ways.

Everything that knows celpy's types lives here. Programs run on celpy's *interpreted*
runner, which walks the parse tree; its compiled runner generates Python source and runs
it with ``exec``, which ledgerflow never does. ``parse`` refuses expressions too long or
nested too deep, and ``run`` evaluates within a budget (``cel_budget``): whatever goes
wrong while evaluating, the caller gets an ``errors.ExpressionError``.
"""

from __future__ import annotations

import datetime
import math
import re
import threading
from collections.abc import Mapping
from typing import Any

import celpy
import lark
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, CELUnsupportedError

from ledgerflow import errors
from ledgerflow.definition import cel_budget
from ledgerflow.errors import ExpressionSyntaxError

__all__ = ["ExpressionSyntaxError", "Program", "parse", "step_names", "to_cel", "to_json"]

Program = celpy.Runner

# celpy's parser object remembers the text it is parsing on itself, so two threads
# parsing at once could swap texts; one lock makes parsing safe to share.
_PARSE_LOCK = threading.Lock()
_ENVIRONMENT: celpy.Environment | None = None


def parse(source: str) -> tuple[lark.Tree[Any], Program]:
    """Parse ``source`` and return its tree and a reusable, thread-safe program.

    Raises ``ExpressionSyntaxError`` with the parser's reason and position, or saying
    which limit an expression too long or too deeply nested passes.
    """
    too_long = cel_budget.length_problem(source)
    if too_long is not None:  # not even parsed
        raise ExpressionSyntaxError(source=shown(source), reason=too_long)
    with _PARSE_LOCK:
        environment = _environment()
        try:
            tree = environment.compile(source)
        except CELParseError as exc:
            raise ExpressionSyntaxError(source=source, reason=_reason(exc), line=exc.line,
                                        column=exc.column) from None
        shape = cel_budget.shape_problem(tree)
        if shape is not None:
            raise ExpressionSyntaxError(source=shown(source), reason=shape)
        return tree, environment.program(tree)


def run(program: Program, source: str, context: Mapping[str, Any]) -> Any:
    """Evaluate ``program`` over a JSON ``context`` and return a plain JSON value.

    Missing ``input``, ``state`` and ``steps`` are empty maps. Raises
    ``errors.ExpressionError`` naming ``source`` when evaluation fails, spends its budget
    (``cel_budget``) or nests too deep for Python's stack.
    """
    try:
        activation = {name: to_cel(context.get(name, {}))
                      for name in ("input", "state", "steps")}
        for name, value in context.items():
            if name not in activation:
                activation[name] = to_cel(value)
        try:
            result = cel_budget.evaluate(program.ast, program.new_activation(), activation)
        except errors.ExpressionError as exc:  # a budget spent
            raise errors.ExpressionError(f"expression {shown(source)!r} {exc}",
                                         expression=source) from None
    except RecursionError:
        raise errors.ExpressionError(
            f"expression {shown(source)!r} failed: its values or its macros nest too deep "
            "to evaluate", expression=source) from None
    except CELEvalError as exc:
        raise errors.ExpressionError(f"expression {source!r} failed: {_clean(exc)}",
                                     expression=source) from None
    except (CELUnsupportedError, TypeError, ValueError, ArithmeticError) as exc:
        raise errors.ExpressionError(f"expression {source!r} failed: {exc}",
                                     expression=source) from exc
    try:
        return to_json(result)
    except ValueError as exc:
        raise errors.ExpressionError(f"expression {source!r} failed: {exc}",
                                     expression=source) from None


def to_cel(value: Any) -> Any:
    """Convert a JSON value (dicts, lists/tuples, str, int, float, bool, None) to celpy types."""
    if value is None:
        return None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, Mapping):
        return celtypes.MapType({celtypes.StringType(k): to_cel(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return celtypes.ListType([to_cel(item) for item in value])
    raise errors.ExpressionError(
        f"expression context holds a {type(value).__name__}, which is not a JSON value"
    )


def to_json(value: Any) -> Any:
    """Convert a celpy result to plain JSON values.

    Timestamps become RFC 3339 strings and durations ``"<seconds>s"`` strings (CEL's own
    JSON forms). Raises ``ValueError`` for values JSON cannot hold: bytes, types,
    non-finite doubles and maps with non-string keys.
    """
    if value is None or isinstance(value, celtypes.NullType):
        return None
    if isinstance(value, celtypes.BoolType | bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _finite(float(value))
    if isinstance(value, celtypes.MapType | dict):
        return {_key(k): to_json(v) for k, v in value.items()}
    if isinstance(value, celtypes.ListType | list):
        return [to_json(item) for item in value]
    if isinstance(value, datetime.datetime):
        return _timestamp(value)
    if isinstance(value, datetime.timedelta):
        return f"{value.total_seconds():g}s"
    raise ValueError(f"result of type {type(value).__name__} is not a JSON value")


def step_names(tree: lark.Tree[Any]) -> set[str]:
    """Step ids the tree selects from ``steps`` (``steps.a`` and ``steps["a-b"]``)."""
    names: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data not in ("member_dot", "member_index") or not _is_steps(node.children[0]):
            continue
        selector = node.children[1]
        if isinstance(selector, lark.Token):
            names.add(str(selector))
        elif isinstance(selector, lark.Tree):
            literal = _string_literal(selector)
            if literal is not None:
                names.add(literal)
    return names


def shown(source: str, width: int = 120) -> str:
    """``source`` as messages show it: at most ``width`` characters."""
    return source if len(source) <= width else source[: width - 1] + "…"


def _environment() -> celpy.Environment:
    # Created on first use: celpy.Environment() raises the interpreter's recursion limit
    # to 2500 (CEL's nesting minimums), which importing ledgerflow should not do.
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        _ENVIRONMENT = celpy.Environment(runner_class=celpy.InterpretedRunner)
    return _ENVIRONMENT


def _reason(exc: CELParseError) -> str:
    cause = exc.__context__
    if isinstance(cause, lark.exceptions.UnexpectedToken):
        token = cause.token
        if token.type == "$END":
            return "unexpected end of expression"
        return f"unexpected {str(token)!r}"
    if isinstance(cause, lark.exceptions.UnexpectedCharacters):
        return f"unexpected character {cause.char!r}"
    return "syntax error"


def _clean(exc: CELEvalError) -> str:
    message = str(exc.args[0]) if exc.args else "evaluation error"
    message = message.split(" (in activation", 1)[0]
    message = re.sub(r"<class 'celpy\.celtypes\.(\w+)Type'>", lambda m: m[1].lower(), message)
    return re.sub(r"Token\('RULE', '(\w+)'\)", r"\1", message)


def _finite(number: float) -> float:
    if not math.isfinite(number):
        raise ValueError(f"result {number} is not a finite number")
    return number


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise ValueError(f"map key {to_json(key)!r} is not a string")
    return str(key)


def _timestamp(value: datetime.datetime) -> str:
    utc = value.astimezone(datetime.UTC)
    return utc.isoformat().replace("+00:00", "Z")


def _is_steps(node: Any) -> bool:
    """True for the tree of the bare identifier ``steps`` (member -> primary -> ident)."""
    while isinstance(node, lark.Tree) and len(node.children) == 1 and node.data != "ident":
        node = node.children[0]
    return (
        isinstance(node, lark.Tree)
        and node.data == "ident"
        and str(node.children[0]) == "steps"
    )


def _string_literal(node: lark.Tree[Any]) -> str | None:
    while len(node.children) == 1 and isinstance(node.children[0], lark.Tree):
        node = node.children[0]
    if node.data != "literal" or not isinstance(node.children[0], lark.Token):
        return None
    text = str(node.children[0])
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" and "\\" not in text:
        return text[1:-1]
    return None
