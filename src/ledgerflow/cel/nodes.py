"""The parsed expression: small immutable nodes, each knowing its nesting depth.

Operators are calls with the spec's names (``_+_``, ``_&&_``, ``@in``, ``!_``, ``-_``,
``_?_:_``); macros stay calls until the compiler expands them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Node:
    depth: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class Ident(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Select(Node):
    operand: Node
    field: str


@dataclass(frozen=True, slots=True)
class Index(Node):
    operand: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    function: str
    target: Node | None
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MapLit(Node):
    entries: tuple[tuple[Node, Node], ...]


def depth_of(*children: Node | None) -> int:
    """The depth of a node over ``children``."""
    return 1 + max((child.depth for child in children if child is not None), default=0)
