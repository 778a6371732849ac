"""Editing a state document: by path, by a JSON merge patch (RFC 7386) or by a JSON Patch
(RFC 6902). Pure: each returns a new document, the old one untouched."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any

import json_merge_patch
import jsonpatch
import jsonpointer

from ledgerflow import errors


def set_path(state: Any, keys: Sequence[str], value: Any) -> Any:
    """``state`` with ``value`` at ``keys`` (objects are created on the way; a list index
    is a number). Setting through a scalar is an error naming where."""
    root = copy.deepcopy(state) if isinstance(state, dict | list) else {}
    node: Any = root
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[: depth + 1])
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise errors.InputValidationError(
                    f"state path {where!r}: {key!r} is not an index of a list of {len(node)}",
                    path=where,
                )
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                if not isinstance(node.get(key), dict | list):
                    node[key] = {}
                node = node[key]
        else:
            raise errors.InputValidationError(
                f"state path {where!r}: cannot go inside a {type(node).__name__}", path=where
            )
    return root


_JSON_PATCH = "; a list of RFC 6902 operations is applied only as a JSON Patch"


def merge_patch(state: Any, patch: Any, *, what: str = "a JSON merge patch",
                instead: str = _JSON_PATCH) -> Any:
    """``state`` with the JSON merge patch (RFC 7386) ``patch`` applied: its keys replace
    the document's, ``null`` removes a key, nested objects merge. Anything but a JSON object
    is refused (a merge patch that is an array, a number or null would replace the whole
    document); ``what`` names the patch in that error, ``instead`` ends it."""
    if not isinstance(patch, dict):
        raise errors.InputValidationError(
            f"{what} (RFC 7386) is a JSON object such as "
            f'{{"case": {{"risk": "high"}}}}, not {kind_of(patch)}{instead}'
        )
    return json_merge_patch.merge(copy.deepcopy(state), patch)


def json_patch(state: Any, operations: Any) -> Any:
    """``state`` with the JSON Patch (RFC 6902) ``operations`` applied in order, all or
    none: an operation that cannot apply is an error naming it. The document stays a JSON
    object."""
    if not isinstance(operations, list):
        raise errors.InputValidationError(
            f"a JSON Patch (RFC 6902) is a JSON array of operations such as "
            f'[{{"op": "remove", "path": "/case/risk"}}], not {kind_of(operations)}'
        )
    new = copy.deepcopy(state)
    for index, operation in enumerate(operations):
        try:
            new = jsonpatch.apply_patch(new, [operation])
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise errors.InputValidationError(
                f"JSON Patch operation {index} ({_short(operation)}) cannot be applied: {exc}"
            ) from None
    if not isinstance(new, dict):
        raise errors.InputValidationError(
            f"the JSON Patch would make the state document {kind_of(new)}; it must stay a "
            "JSON object"
        )
    return new


def kind_of(value: Any) -> str:
    """What a JSON value is, in words: ``null``, ``the number 3``, ``an array``."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"the number {value}"
    for cls, name in ((str, "a string"), (list, "an array"), (dict, "an object")):
        if isinstance(value, cls):
            return name
    return f"a {type(value).__name__}, which is not JSON"


def _short(value: Any, limit: int = 60) -> str:
    shown = json.dumps(value, default=str)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
