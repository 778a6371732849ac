"""CEL expressions (``when``) and input templates (``input``), compiled once, evaluated often.

Both evaluate over the step context ``{"input": ..., "state": ..., "steps": {id: {"output":
..., "status": ...}}}`` (missing top-level names are empty maps) and return plain JSON
values. A template is any JSON value whose strings may hold ``${expr}`` parts:

- a string that is exactly ``"${expr}"`` becomes the expression's typed value;
- a string with embedded parts becomes text: strings are inserted as they are, other
  values as compact JSON (``"n=${input.n}"`` -> ``"n=3"``);
- ``$${`` writes a literal ``${``;
- dicts and lists are rendered item by item (keys are literal); other values are literal.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ledgerflow.definition import cel
from ledgerflow.errors import ExpressionSyntaxError, PathPart, TemplateSyntaxError

__all__ = [
    "Expression",
    "ExpressionSyntaxError",
    "Template",
    "TemplateSyntaxError",
    "compile_expression",
    "compile_template",
    "referenced_steps",
]


class Expression:
    """A compiled CEL expression; implements ``model.Evaluable``. Thread-safe."""

    __slots__ = ("_program", "referenced_steps", "source")

    def __init__(self, source: str, program: cel.Program, steps: frozenset[str]) -> None:
        self.source = source
        self._program = program
        self.referenced_steps = steps

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """Return the expression's value over ``context`` as plain JSON values.

        Raises ``errors.ExpressionError`` naming the expression when evaluation fails.
        """
        return cel.run(self._program, self.source, context)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


@functools.lru_cache(maxsize=4096)
def compile_expression(source: str) -> Expression:
    """Compile a CEL expression (cached per source text).

    Raises ``ExpressionSyntaxError`` (a ``ValueError``) with the parser's reason and column.
    """
    tree, program = cel.parse(source)
    return Expression(source, program, frozenset(cel.step_names(tree)))


def referenced_steps(source: str) -> set[str]:
    """Step ids ``source`` selects from ``steps`` (best effort: ``steps.x``, ``steps["x"]``)."""
    return set(compile_expression(source).referenced_steps)


class _Node(Protocol):
    def render(self, context: Mapping[str, Any]) -> Any: ...


@dataclass(frozen=True, slots=True)
class _Const:
    value: Any

    def render(self, context: Mapping[str, Any]) -> Any:
        return _copy_json(self.value)


@dataclass(frozen=True, slots=True)
class _Whole:
    expression: Expression

    def render(self, context: Mapping[str, Any]) -> Any:
        return self.expression.evaluate(context)


@dataclass(frozen=True, slots=True)
class _Text:
    parts: tuple[str | Expression, ...]

    def render(self, context: Mapping[str, Any]) -> Any:
        rendered = (
            _as_text(part.evaluate(context)) if isinstance(part, Expression) else part
            for part in self.parts
        )
        return "".join(rendered)


@dataclass(frozen=True, slots=True)
class _Dict:
    items: tuple[tuple[str, _Node], ...]

    def render(self, context: Mapping[str, Any]) -> Any:
        return {key: node.render(context) for key, node in self.items}


@dataclass(frozen=True, slots=True)
class _List:
    items: tuple[_Node, ...]

    def render(self, context: Mapping[str, Any]) -> Any:
        return [node.render(context) for node in self.items]


class Template:
    """A compiled input template; implements ``model.Evaluable``. Thread-safe.

    ``source`` is the raw template as JSON text; ``referenced_steps`` the step ids its
    expressions select from ``steps``.
    """

    __slots__ = ("_root", "referenced_steps", "source")

    def __init__(self, raw: Any, root: _Node, steps: frozenset[str]) -> None:
        self.source = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
        self._root = root
        self.referenced_steps = steps

    @property
    def is_constant(self) -> bool:
        """True when the template holds no expressions (rendering is a copy)."""
        return isinstance(self._root, _Const)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """Render over ``context``; returns fresh JSON values the caller may mutate.

        Raises ``errors.ExpressionError`` naming the first expression that fails.
        """
        return self._root.render(context)

    def __repr__(self) -> str:
        return f"Template({self.source})"


def compile_template(value: Any) -> Template:
    """Compile a JSON value whose strings may hold ``${expr}`` parts (see module docstring).

    Raises ``TemplateSyntaxError`` listing every malformed part with its path.
    """
    problems: list[tuple[tuple[PathPart, ...], str]] = []
    steps: set[str] = set()
    root = _compile(value, (), problems, steps)
    if problems:
        raise TemplateSyntaxError(problems=problems, referenced_steps=frozenset(steps))
    return Template(value, root, frozenset(steps))


def _compile(
    value: Any,
    path: tuple[PathPart, ...],
    problems: list[tuple[tuple[PathPart, ...], str]],
    steps: set[str],
) -> _Node:
    if isinstance(value, str):
        try:
            return _compile_string(value, steps)
        except ValueError as exc:
            problems.append((path, str(exc)))
            return _Const(value)
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                problems.append((path, f"key {key!r} is not a string"))
        items = tuple((k, _compile(v, (*path, k), problems, steps)) for k, v in value.items())
        return _collapse(_Dict(items), [node for _, node in items])
    if isinstance(value, list | tuple):
        nodes = tuple(_compile(v, (*path, i), problems, steps) for i, v in enumerate(value))
        return _collapse(_List(nodes), list(nodes))
    if value is not None and not isinstance(value, bool | int | float):
        problems.append((path, f"a {type(value).__name__} is not a JSON value"))
    return _Const(value)


def _collapse(node: _Dict | _List, children: list[_Node]) -> _Node:
    """Fold a container whose children are all constants into one constant."""
    if all(isinstance(child, _Const) for child in children):
        return _Const(node.render({}))
    return node


def _compile_string(text: str, steps: set[str]) -> _Node:
    parts = _split(text)
    if not any(isinstance(p, Expression) for p in parts):
        return _Const("".join(str(p) for p in parts))
    for part in parts:
        if isinstance(part, Expression):
            steps.update(part.referenced_steps)
    if len(parts) == 1 and isinstance(parts[0], Expression):
        return _Whole(parts[0])
    return _Text(tuple(parts))


def _split(text: str) -> list[str | Expression]:
    """Split text into literal runs and compiled ``${...}`` expressions."""
    parts: list[str | Expression] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$${", i):
            literal.append("${")
            i += 3
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            source = text[i + 2 : end].strip()
            if not source:
                raise ValueError(f"empty '${{}}' at offset {i} in {text!r}")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(compile_expression(source))
            i = end + 1
        else:
            literal.append(text[i])
            i += 1
    if literal:
        parts.append("".join(literal))
    return parts


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing a ``${`` part; skips CEL string literals (any quoting,
    triple-quoted ones holding lone quotes or braces included)."""
    depth, i = 1, start
    while i < len(text):
        char = text[i]
        if char in "'\"":
            end = cel.literal_end(text, i)
            if end is None:
                break
            i = end
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unclosed '${{' at offset {start - 2} in {text!r}; close it with '}}'")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _copy_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value
