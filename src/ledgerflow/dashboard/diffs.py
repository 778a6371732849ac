"""What changed between two state documents, as the dashboard shows it: the RFC 6902
operations the API's diff gives, each with the value its path held before; a ``move`` or
``copy`` is shown as what it does to each path (removed there, added here)."""

from __future__ import annotations

from typing import Any

import jsonpatch
from jsonpointer import resolve_pointer


def changes(before: Any, after: Any) -> list[dict[str, Any]]:
    """The changes that turn ``before`` into ``after``: ``op`` (add, remove or replace),
    ``path``, ``value`` (after; not for a remove) and ``before`` (the value at ``path`` in
    ``before``, None where there was none)."""
    shown: list[dict[str, Any]] = []
    for op in jsonpatch.make_patch(before, after).patch:
        kind, path = op["op"], op["path"]
        if kind in ("move", "copy"):
            moved = resolve_pointer(after, path, None)
            if kind == "move":
                shown.append({"op": "remove", "path": op["from"],
                              "before": resolve_pointer(before, op["from"], None)})
            old = resolve_pointer(before, path, None)
            shown.append({"op": "add" if old is None else "replace", "path": path,
                          "value": moved, "before": old})
        else:
            shown.append(dict(op, before=resolve_pointer(before, path, None)))
    return shown
