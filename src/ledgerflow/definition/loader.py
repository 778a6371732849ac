"""Read workflow definitions from YAML or JSON files and text.

YAML is read with a ``yaml.SafeLoader`` that resolves plain scalars the way JSON (and YAML
1.2) does, so a YAML file and the JSON file with the same content give the same spec:

- only ``true``/``false`` are booleans; ``on``, ``off``, ``yes``, ``no`` stay strings (so the
  top-level ``on:`` key is the string ``"on"``, not ``True``);
- only decimal numbers are numbers; ``010``, ``0x1f``, ``1_000`` and ``1:30`` stay strings;
- ``.inf``/``.nan`` and unquoted dates are still read as such, and then refused by
  validation with their path, instead of being turned into strings behind the user's back;
- a key given twice in one mapping is an error (YAML and JSON parsers keep the last);
- bombs are refused before anything walks them (``limits``): text longer than
  ``MAX_DEFINITION_BYTES``, nesting deeper than ``MAX_DEPTH``, and aliases that expand to
  more than ``MAX_NODES`` values ("billion laughs").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml

from ledgerflow import errors
from ledgerflow.definition import limits
from ledgerflow.definition.model import Definition
from ledgerflow.definition.validate import from_mapping

__all__ = ["Format", "load_file", "load_text", "parse_text"]

Format = Literal["yaml", "json"]

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"


class _Refused(Exception):
    """A document too deep or too large, found while composing it at ``mark``."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem, self.mark = problem, mark


class _JsonLikeLoader(yaml.SafeLoader):
    """SafeLoader with JSON-like scalar resolution and duplicate-key detection, which
    counts nesting and values (each alias as the values it expands to) as it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._values = 0  # composed so far, aliases expanded
        self._sizes: dict[int, int] = {}  # id(anchored node) -> values it expands to

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # else PyYAML reports the undefined alias
                if id(target) not in self._sizes:
                    raise _Refused("holds an alias inside the node it names, which never ends",
                                   event.start_mark)
                self._count(self._sizes[id(target)], event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > limits.MAX_DEPTH:
            raise _Refused(limits.too_deep(), event.start_mark)
        before = self._values
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._count(1, event.start_mark)
        if event.anchor is not None:
            self._sizes[id(node)] = self._values - before
        return node

    def _count(self, values: int, mark: Any) -> None:
        self._values += values
        if self._values > limits.MAX_NODES:
            raise _Refused(limits.too_many(), mark)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: SafeLoader reports it
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {first})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_JsonLikeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_JsonLikeLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_JsonLikeLoader.add_implicit_resolver(
    _INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_JsonLikeLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]*(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def load_file(path: str | Path) -> Definition:
    """Load and validate a definition file.

    ``.json`` files are read as JSON, ``.yaml``/``.yml`` and anything else as YAML (which
    also reads JSON). Raises ``errors.DefinitionError`` naming the file when it cannot be
    read, does not parse (with line and column), is not a mapping, or is invalid.
    """
    source = str(path)
    try:
        with Path(path).open("rb") as file:
            data = file.read(limits.MAX_DEFINITION_BYTES + 1)  # no more: too long is refused
    except OSError as exc:
        raise errors.DefinitionError(source, [f"cannot read file: {exc.strerror or exc}"]) from exc
    if len(data) > limits.MAX_DEFINITION_BYTES:
        size = Path(path).stat().st_size
        problem = limits.too_large(size, limits.MAX_DEFINITION_BYTES)
        raise errors.DefinitionError(source, [f"the definition {problem}"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        raise errors.DefinitionError(source, [problem]) from None
    fmt: Format = "json" if Path(path).suffix.lower() == ".json" else "yaml"
    return load_text(text, source, fmt)


def load_text(text: str, source: str = "<text>", fmt: Format = "yaml") -> Definition:
    """Parse ``text`` as ``fmt`` and validate it; ``source`` names it in messages.

    Raises ``errors.DefinitionError`` for syntax errors (with line and column), a top level
    that is not a mapping, and every problem ``from_mapping`` finds.
    """
    return from_mapping(parse_text(text, source, fmt), source)


def parse_text(text: str, source: str = "<text>", fmt: Format = "yaml") -> dict[str, Any]:
    """Parse ``text`` into the raw spec mapping without validating it (see ``load_text``)."""
    problem = limits.size_problem(text, limits.MAX_DEFINITION_BYTES)
    if problem is None and fmt == "json":
        problem = limits.json_depth_problem(text)  # YAML's depth is counted as it composes
    if problem is not None:
        raise errors.DefinitionError(source, [f"the definition {problem}"])
    spec = _parse_json(text, source) if fmt == "json" else _parse_yaml(text, source)
    if not isinstance(spec, dict):
        got = "an empty document" if spec is None else f"a {type(spec).__name__}"
        problem = f"the top level must be a mapping with 'name' and 'steps', got {got}"
        raise errors.DefinitionError(source, [problem])
    return spec


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_JsonLikeLoader)  # a SafeLoader subclass
    except _Refused as exc:
        where = f"line {exc.mark.line + 1}, column {exc.mark.column + 1}: " if exc.mark else ""
        raise errors.DefinitionError(source, [f"{where}the definition {exc.problem}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        reason = exc.problem or exc.context or "invalid YAML"
        raise errors.DefinitionError(source, [f"{where}YAML syntax error: {reason}"]) from None
    except yaml.YAMLError as exc:
        raise errors.DefinitionError(source, [f"YAML syntax error: {exc}"]) from None


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        problem = f"line {exc.lineno}, column {exc.colno}: JSON syntax error: {exc.msg}"
        raise errors.DefinitionError(source, [problem]) from None
    except _DuplicateKey as exc:
        raise errors.DefinitionError(source, [f"JSON: {exc}"]) from None


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"duplicate key {key!r} in an object; keep one")
        result[key] = value
    return result
