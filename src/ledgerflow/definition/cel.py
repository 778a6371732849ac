"""The bridge to ``ledgerflow.cel``: parsing, running, and converting values both ways.

Definitions see CEL through these few functions; the evaluator itself (written from the
CEL specification, keeping map order) lives in ``ledgerflow.cel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledgerflow import cel, errors
from ledgerflow.cel import budget, nodes, paths
from ledgerflow.cel.compiler import MACRO_NAMES
from ledgerflow.definition import limits
from ledgerflow.errors import ExpressionSyntaxError

__all__ = ["ExpressionSyntaxError", "Program", "literal_end", "parse", "run", "step_names",
           "to_cel", "to_json"]

Program = cel.Program
literal_end = cel.literal_end
_TOP_LEVEL = ("input", "state", "steps")


def parse(source: str) -> tuple[nodes.Node, Program]:
    """Parse ``source`` and return its tree and a reusable, thread-safe program.

    Raises ``ExpressionSyntaxError`` with the parser's reason and position, or naming the
    limit an expression too long or with too many nested macros passes (refused before it
    can run: ``limits``).
    """
    if len(source) > limits.MAX_EXPRESSION_CHARS:
        raise ExpressionSyntaxError(
            source=shown(source), reason=f"it is {len(source):,} characters long, more than "
            f"the {limits.MAX_EXPRESSION_CHARS:,} ledgerflow accepts")
    try:
        program = cel.compile(source)
    except cel.CelSyntaxError as exc:
        raise ExpressionSyntaxError(source=shown(source), reason=exc.reason, line=exc.line,
                                    column=exc.column) from None
    if _macro_nesting(program.tree) > limits.MAX_MACRO_NESTING:
        raise ExpressionSyntaxError(
            source=shown(source), reason=f"it nests more than {limits.MAX_MACRO_NESTING} "
            "macros (all, exists, exists_one, map, filter); split it up")
    return program.tree, program


def run(program: Program, source: str, context: Mapping[str, Any], *,
        full: bool = False) -> Any:
    """Evaluate ``program`` over a JSON ``context`` and return a plain JSON value.

    Missing ``input``, ``state`` and ``steps`` are empty maps. A plain path (``input.a.b``)
    is looked up directly in ``context``; other expressions get as CEL values only the
    parts of the context they read. ``full`` converts the whole context and runs the evaluator
    (the reference the shortcuts give the same values and errors as). Raises
    ``errors.ExpressionError`` naming ``source`` when evaluation fails.
    """
    try:
        if not full and program.path is not None:
            found = _follow(program.path, context)
            if found is not _UNSURE:
                return found
        if full:
            activation = {name: to_cel(context.get(name, {})) for name in _TOP_LEVEL}
        else:
            needs = program.needs
            activation = {name: _pruned(context.get(name, {}), needs[name])
                          for name in _TOP_LEVEL if name in needs}
        for name, value in context.items():
            if name not in activation and (full or name.partition(".")[0] in program.needs):
                activation[name] = to_cel(value)
        return to_json(program.evaluate(activation))
    except (cel.CelError, ValueError) as exc:
        why = str(exc)
        said = why if why.startswith(budget.SPENT) else f"failed: {why}"
        raise errors.ExpressionError(f"expression {shown(source)!r} {said}",
                                     expression=source) from None
    except (TypeError, KeyError, AttributeError, IndexError, ArithmeticError) as exc:
        # a case the evaluator does not name yet: still this expression's failure alone
        raise errors.ExpressionError(
            f"expression {shown(source)!r} failed: {type(exc).__name__}: {exc}",
            expression=source) from None
    except RecursionError:  # a context value nested deeper than the stack
        raise errors.ExpressionError(
            f"expression {shown(source)!r} failed: its values or its macros nest too deep "
            "to evaluate",
            expression=source) from None


_UNSURE = object()


def _follow(path: tuple[str, ...], context: Mapping[str, Any]) -> Any:
    """The plain path's value, or ``_UNSURE`` when the evaluator must decide: its root is
    not in the context (a type name, or undeclared) or the context has a dotted name the
    path could mean (``a.b`` bound as one variable)."""
    root = path[0]
    if root in context:
        value = context[root]
    elif root in _TOP_LEVEL:
        value = {}
    else:
        return _UNSURE
    for end in range(2, len(path) + 1):
        if ".".join(path[:end]) in context:
            return _UNSURE
    return paths.follow(value, path[1:])


def _pruned(value: Any, need: paths.Needs | None) -> Any:
    try:
        return paths.pruned(value, need)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def shown(source: str, width: int = 120) -> str:
    """``source`` as messages show it: at most ``width`` characters."""
    return source if len(source) <= width else source[: width - 1] + "…"


def _macro_nesting(tree: nodes.Node) -> int:
    """How deeply macro calls nest in ``tree`` (walked without recursion)."""
    deepest = 0
    pending: list[tuple[nodes.Node, int]] = [(tree, 0)]
    while pending:
        node, level = pending.pop()
        if isinstance(node, nodes.Call) and node.target is not None \
                and node.function in MACRO_NAMES:
            level += 1
            deepest = max(deepest, level)
        pending.extend((child, level) for child in paths.children(node))
    return deepest


def to_cel(value: Any) -> Any:
    """A JSON value (dicts, lists/tuples, str, int, float, bool, None) as CEL values.

    Raises ``ValueError`` naming what is not a JSON value.
    """
    try:
        return cel.to_cel(value)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def to_json(value: Any) -> Any:
    """A CEL result as plain JSON values (see ``ledgerflow.cel.convert``); raises
    ``ValueError`` for bytes, types, non-finite doubles and maps with non-string keys."""
    return cel.to_json(value)


def step_names(tree: nodes.Node) -> set[str]:
    """Step ids the tree selects from ``steps`` (``steps.a`` and ``steps["a-b"]``)."""
    names: set[str] = set()
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, nodes.Select | nodes.Index) and _is_steps(node.operand):
            if isinstance(node, nodes.Select):
                names.add(node.field)
            elif isinstance(node.index, nodes.Literal) and type(node.index.value) is str:
                names.add(node.index.value)
        pending.extend(paths.children(node))
    return names


def _is_steps(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Ident) and node.name == "steps"
