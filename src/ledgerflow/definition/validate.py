"""Turn a parsed workflow spec into a ``Definition``, or report every problem in it at once.

``from_mapping`` is the one door: files, text and the Python builder all come through it.
The definition's ``spec`` is what the user wrote (defaults are not filled in), as plain JSON
values, and ``sha256`` hashes its RFC 8785 canonical form, so the same content gives the
same hash whether it came from YAML, JSON or Python, and any change of content changes it.
"""

from __future__ import annotations

import datetime
import hashlib
import math
from collections.abc import Mapping
from typing import Any

import jsonschema.validators
import rfc8785

from ledgerflow import errors
from ledgerflow.definition import fields as f
from ledgerflow.definition import limits
from ledgerflow.definition import steps as step_rules
from ledgerflow.definition.model import Definition, SignalHandler, Step

__all__ = ["TOP_LEVEL_FIELDS", "from_mapping"]

TOP_LEVEL_FIELDS = ("name", "description", "ttl", "input_schema", "steps", "on")
HANDLER_FIELDS = ("agent", "output", "when")
_MAX_SAFE_INT = 2**53 - 1


def from_mapping(spec: Any, source: str = "<dict>", *, stored: bool = False) -> Definition:
    """Validate ``spec`` and build its ``Definition``.

    ``source`` names where the spec came from in messages (a file name, ``<dict>``).
    Raises ``errors.DefinitionError`` listing every problem, each with its path
    (``steps[2].needs[0]: unknown step 'kcy'``). Nothing is converted silently: values
    that are not JSON (dates, sets, NaN, non-string keys) are problems too.

    Step types the engine does not run yet (``steps.NOT_YET``) are refused, unless
    ``stored``: a version stored before they were refused still compiles, so its
    executions stay readable (the engine fails such a step when it begins).
    """
    problems = f.Problems()
    if not isinstance(spec, Mapping):
        kind = f.describe(spec)
        problems.add("", f"a definition must be a mapping with 'name' and 'steps', got {kind}")
        raise errors.DefinitionError(source, problems.messages)
    bomb = limits.value_problem(spec, max_nodes=limits.MAX_NODES)
    if bomb is not None:  # refused before any recursive check walks it
        raise errors.DefinitionError(source, [f"the definition {bomb}"])
    check_json(spec, "", problems)
    definition = _build(spec, problems, stored)
    if problems or definition is None:
        raise errors.DefinitionError(source, problems.messages)
    return definition


def check_json(value: Any, path: str, problems: f.Problems) -> None:
    """Report (and settle) every value under ``path`` that JSON and RFC 8785 cannot hold."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and not _unicode(key):
                problems.settle(path, f"key {key!r} {_SURROGATE}")
            elif isinstance(key, str):
                check_json(item, f.child(path, key), problems)
            else:
                problems.add(path, f"key {key!r} is not a string; quote it{_yaml_hint(key)}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_json(item, f.item(path, index), problems)
    elif isinstance(value, str):
        if not _unicode(value):
            problems.settle(path, f"{value!r} {_SURROGATE}")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > _MAX_SAFE_INT:
            problems.settle(path, f"integer {value} is too large for JSON (limit ±2^53-1)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            problems.settle(path, f"{value} is not a JSON number")
    else:
        problems.settle(path, _not_json(value))


def _build(spec: Mapping[str, Any], problems: f.Problems, stored: bool) -> Definition | None:
    f.check_unknown(spec, "", TOP_LEVEL_FIELDS, problems)
    name = _name(spec, problems)
    present = f.Present(spec, "", problems)
    description = present.get("description", "", f.string)
    ttl = present.get("ttl", None, lambda v, p, pr: f.duration(v, p, pr, positive=True))
    present.get("input_schema", None, _input_schema)
    steps = _steps(spec, problems, stored)
    known = frozenset(s.id for s in steps)
    handlers = present.get("on", {}, lambda v, p, pr: _handlers(v, p, pr, known))
    if problems:
        return None
    document = _plain(spec)
    return Definition(
        name=name,
        description=description,
        ttl=ttl,
        input_schema=document.get("input_schema"),
        steps=steps,
        on=handlers,
        spec=document,
        sha256=hashlib.sha256(rfc8785.dumps(document)).hexdigest(),
    )


def _name(spec: Mapping[str, Any], problems: f.Problems) -> str:
    if "name" not in spec:
        problems.add("name", "required: name the workflow, such as 'onboarding'")
        return ""
    return f.name(spec["name"], "name", problems, "workflow name")


def _steps(spec: Mapping[str, Any], problems: f.Problems, stored: bool) -> tuple[Step, ...]:
    raw = spec.get("steps")
    if "steps" not in spec:
        problems.add("steps", "required: a list of steps, each with at least an 'id'")
    elif not isinstance(raw, list | tuple) or not raw:
        problems.add("steps", f"must be a non-empty list of steps, got {f.describe(raw)}")
    else:
        return step_rules.check_steps(raw, problems, stored=stored)
    return ()


def _input_schema(schema: Any, path: str, problems: f.Problems) -> None:
    """Check ``schema`` against its JSON Schema meta-schema (draft 2020-12 by default)."""
    if not isinstance(schema, Mapping):
        problems.add(path, f"must be a JSON Schema object, got {f.describe(schema)}")
        return
    dialect = schema.get("$schema")
    if dialect is not None and not isinstance(dialect, str):
        problems.add(f.child(path, "$schema"), "must be a meta-schema URI string")
        return
    if dialect is None:
        validator = jsonschema.validators.validator_for(schema)
    else:
        validator = jsonschema.validators.validator_for(schema, default=None)  # type: ignore[arg-type]
    if validator is None:
        problems.add(
            f.child(path, "$schema"),
            f"unknown meta-schema {dialect!r}; "
            "use 'https://json-schema.org/draft/2020-12/schema' or leave it out",
        )
        return
    meta = validator(validator.META_SCHEMA)
    found = sorted(meta.iter_errors(schema), key=lambda e: [str(p) for p in e.absolute_path])
    for error in found:
        problems.add(_schema_path(error.absolute_path), f"invalid JSON Schema: {error.message}")


def _schema_path(keys: Any) -> str:
    path = "input_schema"
    for key in keys:
        path = f.item(path, key) if isinstance(key, int) else f.child(path, str(key))
    return path


def _handlers(
    value: Any, path: str, problems: f.Problems, known: frozenset[str]
) -> dict[str, tuple[SignalHandler, ...]]:
    if not isinstance(value, Mapping):
        problems.add(
            path,
            "must map signal names to handlers such as {agent: session.route}, "
            f"got {f.describe(value)}",
        )
        return {}
    handlers: dict[str, tuple[SignalHandler, ...]] = {}
    for signal, spec in value.items():
        if not isinstance(signal, str):
            continue  # already reported by check_json
        path = f.child("on", signal)
        f.name(signal, path, problems, "signal name")
        if isinstance(spec, list | tuple):
            if not spec:
                problems.add(path, "must list at least one handler {agent: CAPABILITY}")
            handlers[signal] = tuple(
                _handler(signal, item, f.item(path, i), problems, known)
                for i, item in enumerate(spec)
            )
        else:
            handlers[signal] = (_handler(signal, spec, path, problems, known),)
    return handlers


def _handler(
    signal: str, spec: Any, path: str, problems: f.Problems, known: frozenset[str]
) -> SignalHandler:
    if not isinstance(spec, Mapping):
        problems.add(
            path,
            "must be a mapping {agent: CAPABILITY, output?: PATH, when?: CEL} or a list of "
            f"them, got {f.describe(spec)}",
        )
        return SignalHandler(signal=signal, agent="")
    f.check_unknown(spec, path, HANDLER_FIELDS, problems)
    agent_path = f.child(path, "agent")
    if "agent" not in spec:
        problems.add(agent_path, "required: the capability that handles this signal")
    agent = f.capability(spec.get("agent", "x"), agent_path, problems)
    output_path = f.child(path, "output")
    output = f.output_target(spec["output"], output_path, problems) if "output" in spec else None
    when = None
    if "when" in spec:
        when = step_rules.condition(spec["when"], f.child(path, "when"), known, problems)
    return SignalHandler(signal=signal, agent=agent, output=output, when=when)


def _plain(value: Any) -> Any:
    """A deep copy of checked JSON values as dicts and lists (tuples become lists)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


_SURROGATE = "holds a lone surrogate (\\ud800-\\udfff), which is not Unicode text; fix it"


def _unicode(text: str) -> bool:
    """False for text with a lone surrogate (JSON's ``"\\ud800"``), which UTF-8 cannot hold."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_json(value: Any) -> str:
    if isinstance(value, datetime.date | datetime.time):
        return f"{value.isoformat()} is a date/time, not a JSON value; quote it to keep it text"
    return (
        f"{f.describe(value)} is not a JSON value "
        "(use a string, number, boolean, null, list or mapping)"
    )


def _yaml_hint(key: Any) -> str:
    if isinstance(key, bool):
        return " (YAML reads unquoted on/off/yes/no/true/false as booleans)"
    return ""
