"""Editing a state document by path. Pure: returns a new document, the old one untouched."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

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
