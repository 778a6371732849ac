"""How much a definition, a value or an expression may hold: bombs are refused up front.

A document nested thousands of levels deep, a YAML file whose aliases expand to a billion
values, or an expression that nests or loops without end would otherwise break a recursive
walk (a ``RecursionError``), hang, or eat the memory of every execution a worker holds.
These limits accept any reasonable workflow and refuse such input with a one-line reason:

- documents (definitions, inputs, signal data, state edits): at most ``MAX_DEPTH`` levels
  of nested lists and mappings; a definition at most ``MAX_DEFINITION_BYTES`` of text and
  ``MAX_NODES`` values with YAML aliases expanded; any other document at most
  ``MAX_DOCUMENT_BYTES`` as JSON text;
- expressions: at most ``MAX_EXPRESSION_CHARS`` characters and ``MAX_MACRO_NESTING`` macros
  (``map``, ``filter``, ``all``, ``exists``, ``exists_one``) inside each other; the
  evaluator bounds the rest (``ledgerflow.cel``: parse depth, and each evaluation's budget
  of iterations and produced size);
- durations: at most ``MAX_DURATION_SECONDS`` (100 years).

Pure: the checks walk values iteratively and raise nothing but ``errors`` classes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ledgerflow import errors
from ledgerflow.definition import durations

MAX_DEPTH = 100
MAX_DEFINITION_BYTES = 4 * 1024 * 1024
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
MAX_NODES = 200_000  # values: about 20,000 steps; a load that never takes long
MAX_EXPRESSION_CHARS = 10_000
MAX_MACRO_NESTING = 12
MAX_DURATION_SECONDS = durations.MAX_SECONDS

# a JSON string (skipped whole, so brackets inside it do not count) or a bracket
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def too_deep(depth: int = MAX_DEPTH) -> str:
    return (f"nests lists and mappings more than {depth} levels deep; "
            "flatten it (ledgerflow refuses deeper documents)")


def too_large(size: int, limit: int) -> str:
    return (f"is {_mib(size)} long, more than the {_mib(limit)} ledgerflow accepts; "
            "keep large data elsewhere and pass a reference to it")


def too_many(limit: int = MAX_NODES) -> str:
    return (f"holds more than {limit:,} values (with YAML aliases expanded); "
            "use fewer aliases or split it")


def value_problem(value: Any, *, max_nodes: int | None = None) -> str | None:
    """Why ``value`` is too deep (or has more than ``max_nodes`` values), else None.

    Walks iteratively, so any value, even one that contains itself, gets an answer."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    count = 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if max_nodes is not None and count > max_nodes:
            return too_many(max_nodes)
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            return too_deep()
        stack.extend((child, depth + 1) for child in children)
    return None


def size_problem(text: str, limit: int = MAX_DOCUMENT_BYTES) -> str | None:
    """Why ``text`` is too long (more than ``limit`` bytes as UTF-8), else None."""
    size = len(text) if len(text) * 4 <= limit else len(text.encode("utf-8", "replace"))
    return too_large(size, limit) if size > limit else None


def json_depth_problem(text: str, limit: int = MAX_DEPTH) -> str | None:
    """Why JSON ``text`` nests deeper than ``limit`` levels (too deep to parse safely),
    else None (brackets are counted outside strings, in one pass)."""
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                return too_deep(limit)
        elif char in "]}":
            depth -= 1
    return None


def check_value(value: Any, what: str) -> None:
    """Raise ``InputValidationError`` when ``value`` (an input, signal data, a state edit)
    nests too deep or is too long as JSON text; ``what`` names it in the message."""
    problem = value_problem(value)
    if problem is None:
        try:
            size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
        except UnicodeEncodeError:
            problem = "holds a lone surrogate (\\ud800-\\udfff), which is not Unicode text"
            size = 0
        except (TypeError, ValueError):
            return  # not JSON: the caller reports that in its own words
        if size > MAX_DOCUMENT_BYTES:
            problem = too_large(size, MAX_DOCUMENT_BYTES)
    if problem is not None:
        raise errors.InputValidationError(f"{what} {problem}", problems=[problem])


def check_json_text(text: str, what: str) -> None:
    """Raise ``InputValidationError`` when JSON ``text`` is too long or nests too deep."""
    problem = size_problem(text) or json_depth_problem(text)
    if problem is not None:
        raise errors.InputValidationError(f"{what} {problem}", problems=[problem])


def check_duration(value: Any, what: str) -> None:
    """Raise ``DurationError`` naming ``what`` when ``value`` is not a duration or is
    longer than ``MAX_DURATION_SECONDS``."""
    try:
        durations.parse_duration(value)
    except errors.DurationError as exc:
        raise exc.prefixed(f"{what}: ") from None


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size:,} bytes"
