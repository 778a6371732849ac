"""Bounds on CEL expressions: their shape, checked once when they compile, and the work of
each evaluation, counted as it runs (``limits`` documents the numbers).

The work is counted where it can grow without bound: a macro (``map``, ``filter``, ``all``,
``exists``, ``exists_one``, celpy's ``reduce``) runs its body once per element, and nested
macros multiply. Each run of a body spends one iteration, and the length of the string, list
or map it produced; past either budget the evaluation stops with an
``errors.ExpressionError`` saying which budget it spent. The
counter sits in the macro bodies only, so expressions without macros run as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lark
from celpy.evaluation import Activation, Evaluator, Result

from ledgerflow import errors
from ledgerflow.definition import limits

MACROS = frozenset({"map", "filter", "all", "exists", "exists_one", "reduce"})
ITERATIONS = limits.EVALUATION_BUDGET
PRODUCED = limits.EVALUATION_PRODUCED


def length_problem(source: str) -> str | None:
    """Why an expression is too long to parse, else None."""
    if len(source) > limits.MAX_EXPRESSION_CHARS:
        return (f"it is {len(source):,} characters long, more than the "
                f"{limits.MAX_EXPRESSION_CHARS:,} ledgerflow accepts; split it")
    return None


def shape_problem(tree: lark.Tree[Any]) -> str | None:
    """Why a parsed expression nests too deep to evaluate safely, else None. Walks the
    tree iteratively (a tree deeper than Python's recursion limit is fine)."""
    stack: list[tuple[Any, int, int]] = [(tree, 1, 0)]
    while stack:
        node, depth, macros = stack.pop()
        if not isinstance(node, lark.Tree):
            continue
        if depth > limits.MAX_PARSE_DEPTH:
            return (f"it nests deeper than ledgerflow evaluates (a parse tree deeper than "
                    f"{limits.MAX_PARSE_DEPTH}: about 32 levels of parentheses or 170 "
                    "operators in a row); split it or nest less")
        if _is_macro(node):
            macros += 1
            if macros > limits.MAX_MACRO_NESTING:
                return (f"it nests more than {limits.MAX_MACRO_NESTING} macros (map, "
                        "filter, all, exists, exists_one) inside each other")
        stack.extend((child, depth + 1, macros) for child in node.children)
    return None


def evaluate(ast: lark.Tree[Any], activation: Activation, context: dict[str, Any]) -> Any:
    """Evaluate ``ast`` over ``context`` within the budgets; one spent raises
    ``errors.ExpressionError`` ("exceeded its evaluation budget of ..."), celpy's own
    errors pass through."""
    return _Evaluator(ast, activation, _Budget()).evaluate(context)


class _Budget:
    __slots__ = ("iterations", "produced")

    def __init__(self) -> None:
        self.iterations = ITERATIONS
        self.produced = PRODUCED

    def spend(self, result: Any) -> None:
        self.iterations -= 1
        if isinstance(result, str | bytes | list | dict):
            self.produced -= len(result)
        if self.iterations < 0:
            raise _exceeded(f"{ITERATIONS:,} macro iterations")
        if self.produced < 0:
            raise _exceeded(f"{PRODUCED:,} characters and elements produced by macro "
                            "iterations")


class _Evaluator(Evaluator):
    """celpy's evaluator whose macro bodies spend from one shared budget."""

    def __init__(self, ast: lark.Tree[Any], activation: Activation, budget: _Budget) -> None:
        super().__init__(ast, activation)
        self.budget = budget

    def sub_evaluator(self, ast: lark.Tree[Any]) -> Evaluator:
        return _Evaluator(ast, self.activation, self.budget)

    def build_macro_eval(self, child: lark.Tree[Any]) -> Callable[[Any], Any]:
        return self._counted(super().build_macro_eval(child))

    def build_ss_macro_eval(self, child: lark.Tree[Any]) -> Callable[[Any], Any]:
        return self._counted(super().build_ss_macro_eval(child))

    def build_reduce_macro_eval(
        self, child: lark.Tree[Any]
    ) -> tuple[Callable[[Result, Result], Result], lark.Tree[Any]]:
        body, initial = super().build_reduce_macro_eval(child)
        spend = self.budget.spend

        def counted(total: Result, item: Result) -> Result:
            result = body(total, item)
            spend(result)
            return result

        return counted, initial

    def _counted(self, body: Callable[[Any], Any]) -> Callable[[Any], Any]:
        spend = self.budget.spend

        def counted(value: Any) -> Any:
            result = body(value)
            spend(result)
            return result

        return counted


def _exceeded(budget: str) -> errors.ExpressionError:
    return errors.ExpressionError(f"exceeded its evaluation budget of {budget}; evaluate "
                                  "over less data or nest fewer macros")


def _is_macro(node: lark.Tree[Any]) -> bool:
    if node.data != "member_dot_arg" or len(node.children) < 2:
        return False
    name = node.children[1]
    return isinstance(name, lark.Token) and str(name) in MACROS
