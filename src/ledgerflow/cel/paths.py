"""What a compiled tree needs from its context, found once at compile time.

``plain_path`` recognises ``a.b.c`` (a name followed by field selections only), which
``follow`` evaluates by looking the fields up directly in the JSON context, with the
evaluator's errors. ``names`` lists the identifiers a tree mentions, so a caller converts
only those context values to CEL values.
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


def names(tree: nodes.Node) -> frozenset[str]:
    """Every identifier in ``tree`` (walked without recursion)."""
    found: set[str] = set()
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, nodes.Ident):
            found.add(node.name)
        pending.extend(children(node))
    return frozenset(found)


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
