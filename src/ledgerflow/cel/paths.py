"""What a compiled tree needs from its context, found once at compile time.

``plain_path`` recognises ``a.b.c`` (a name followed by field selections only), which
``follow`` evaluates by looking the fields up directly in the JSON context, with the
evaluator's errors. ``needs`` lists what a tree reads from each identifier, so a caller
converts only that much of the context (``pruned``).
"""

from __future__ import annotations

from typing import Any

from ledgerflow.cel import nodes
from ledgerflow.cel.compiler import select
from ledgerflow.cel.convert import to_cel, to_json


def children(node: nodes.Node) -> list[nodes.Node]:
    """The nodes directly under ``node``."""
    if isinstance(node, nodes.Select):
        return [node.operand]
    if isinstance(node, nodes.Index):
        return [node.operand, node.index]
    if isinstance(node, nodes.Call):
        return [*node.args, *([node.target] if node.target is not None else [])]
    if isinstance(node, nodes.ListLit):
        return list(node.items)
    if isinstance(node, nodes.MapLit):
        return [part for entry in node.entries for part in entry]
    return []


Needs = dict[str, "Needs | None"]
"""Per name, the fields an expression reaches through it; None where it uses the value
itself (iterates, compares, indexes or returns it), which then is converted whole."""


def needs(tree: nodes.Node) -> Needs:
    """What ``tree`` reads from each identifier (walked without recursion)."""
    found: Needs = {}
    pending = [tree]
    while pending:
        node = pending.pop()
        path = plain_path(node)
        if path is None and isinstance(node, nodes.Ident):
            path = (node.name,)
        if path is None:
            pending.extend(children(node))
            continue
        level = found
        for key in path[:-1]:
            if key in level and level[key] is None:
                break
            level = level.setdefault(key, {})  # type: ignore[assignment]
        else:
            level[path[-1]] = None
    return found


def pruned(value: Any, need: Needs | None) -> Any:
    """``value`` as CEL values, keeping of its maps only the keys ``need`` reaches: the
    expression sees the same values and the same missing keys, at a fraction of the cost."""
    if need is None or type(value) is not dict:
        return to_cel(value)
    return {key: pruned(value[key], sub) for key, sub in need.items() if key in value}


def plain_path(tree: nodes.Node) -> tuple[str, ...] | None:
    """``("input", "a", "b")`` for ``input.a.b``; None for anything else."""
    fields: list[str] = []
    node = tree
    while isinstance(node, nodes.Select):
        fields.append(node.field)
        node = node.operand
    if not fields or not isinstance(node, nodes.Ident):
        return None
    fields.append(node.name)
    return tuple(reversed(fields))


def follow(value: Any, fields: tuple[str, ...]) -> Any:
    """``value.f1.f2…`` as plain JSON: what the evaluator returns for the same path over
    ``to_cel(value)``, and the same ``CelError`` where a key is missing or a value in the
    middle is not a map. Only the values on the path are converted."""
    for field in fields:
        if type(value) is dict and field in value:
            value = value[field]
        else:  # the evaluator's own step, with its error
            value = select(to_cel(value), field)
    return to_json(to_cel(value))
