"""ledgerflow's own CEL evaluator, written from the CEL specification (google/cel-spec).

``compile(source)`` parses and compiles once; ``Program.evaluate(activation)`` runs it over
CEL values (``convert.to_cel`` makes them from JSON, ``convert.to_json`` turns results
back). Pure logic, no I/O; maps keep insertion order, so results never depend on the
process's hash seed. The value model is described in ``values``; the differences from the
spec are listed in the README's section on expressions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledgerflow.cel import budget, nodes, parser, paths
from ledgerflow.cel.compiler import compile_node
from ledgerflow.cel.convert import to_cel, to_json
from ledgerflow.cel.errors import CelError, CelSyntaxError, with_source
from ledgerflow.cel.macros import BUDGET, Evaluator
from ledgerflow.cel.parser import literal_end

__all__ = ["CelError", "CelSyntaxError", "Program", "compile", "literal_end", "to_cel",
           "to_json"]


class Program:
    """A compiled expression; thread-safe and reusable.

    ``needs`` says what it reads from each identifier (``paths.needs``); ``path`` is
    ``("input", "a", "b")`` when the whole expression is the plain path ``input.a.b``,
    else None.
    """

    __slots__ = ("_run", "needs", "path", "source", "tree")

    def __init__(self, source: str, tree: nodes.Node, run: Evaluator) -> None:
        self.source = source
        self.tree = tree
        self._run = run
        self.needs = paths.needs(tree)
        self.path = paths.plain_path(tree)

    def evaluate(self, activation: Mapping[str, Any]) -> Any:
        """The value over ``activation`` (names to CEL values); raises ``CelError``."""
        act = dict(activation)
        act[BUDGET] = budget.Budget()
        try:
            return self._run(act)
        except RecursionError:
            raise CelError("expression nests too deeply to evaluate") from None

    def __repr__(self) -> str:
        return f"Program({self.source!r})"


def compile(source: str) -> Program:
    """Parse and compile ``source``; raises ``CelSyntaxError`` naming it."""
    try:
        tree = parser.parse(source)
        run = compile_node(tree)
    except CelSyntaxError as exc:
        raise with_source(exc, source) from None
    return Program(source, tree, run)
