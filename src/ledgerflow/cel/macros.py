"""The comprehension macros ``all``, ``exists``, ``exists_one``, ``map`` and ``filter``.

Each takes the compiled range, the loop variable, and the compiled body closures; the loop
runs over list elements or map keys in their order, spending the evaluation budget. ``all``
and ``exists`` absorb errors like ``&&`` and ``||``: a decisive element wins over an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledgerflow.cel.budget import Budget
from ledgerflow.cel.errors import CelError
from ledgerflow.cel.values import no_overload

Evaluator = Callable[[dict[str, Any]], Any]
BUDGET = "\x00budget"


def _loop(rng: Evaluator, act: dict[str, Any], macro: str) -> tuple[list[Any], dict[str, Any]]:
    values = rng(act)
    if type(values) not in (list, dict):
        raise no_overload(macro, values)
    budget: Budget = act[BUDGET]
    budget.step(len(values))
    return list(values), dict(act)


def quantifier(rng: Evaluator, var: str, test: Evaluator, *, decisive: bool) -> Evaluator:
    """``all`` (decisive False) or ``exists`` (decisive True)."""
    name = "exists" if decisive else "all"

    def run(act: dict[str, Any]) -> bool:
        items, scope = _loop(rng, act, name)
        error: CelError | None = None
        for item in items:
            scope[var] = item
            try:
                result = test(scope)
            except CelError as exc:
                error = error or exc
                continue
            if result is decisive:
                return bool(decisive)
            if type(result) is not bool:
                error = error or no_overload(name, result)
        if error is not None:
            raise error
        return not decisive
    return run


def exists_one(rng: Evaluator, var: str, test: Evaluator) -> Evaluator:
    def run(act: dict[str, Any]) -> bool:
        items, scope = _loop(rng, act, "exists_one")
        count = 0
        for item in items:
            scope[var] = item
            result = test(scope)
            if type(result) is not bool:
                raise no_overload("exists_one", result)
            count += result
        return count == 1
    return run


def transform(rng: Evaluator, var: str, keep: Evaluator | None,
              value: Evaluator | None) -> Evaluator:
    """``map`` (``value`` set, ``keep`` optional) or ``filter`` (``keep`` only)."""
    def run(act: dict[str, Any]) -> list[Any]:
        items, scope = _loop(rng, act, "map" if value else "filter")
        out = []
        for item in items:
            scope[var] = item
            if keep is not None:
                kept = keep(scope)
                if type(kept) is not bool:
                    raise no_overload("filter", kept)
                if not kept:
                    continue
            out.append(value(scope) if value is not None else item)
        return out
    return run
