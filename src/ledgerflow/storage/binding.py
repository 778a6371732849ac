"""Statements written once per row, bound by position: each row's values are read in the
placeholders' order by one C-level getter, where a dict of named parameters would be built
per row and looked up again by the driver for every placeholder."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import cache
from operator import attrgetter, itemgetter
from typing import Any

from ledgerflow.storage import queries

# What keeps its ``:`` and ``%`` (a quoted string or identifier, a comment, a ``::`` cast, a
# doubled ``%``), and the named placeholders of either dialect.
_TOKEN = re.compile(r"""
    '(?:[^']|'')*' | "(?:[^"]|"")*" | --[^\n]* | /\*.*?\*/ | :: | %%
  | :(?P<colon>[A-Za-z_][A-Za-z0-9_]*)
  | %\((?P<py>[A-Za-z_][A-Za-z0-9_]*)\)s
""", re.VERBOSE | re.DOTALL)


def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with each named placeholder made positional (``:name`` becomes ``?``,
    ``%(name)s`` becomes ``%s``), and the names in the order their values are given: a name
    used twice is given twice."""
    order: list[str] = []

    def one(found: re.Match[str]) -> str:
        if found["colon"]:
            order.append(found["colon"])
            return "?"
        if found["py"]:
            order.append(found["py"])
            return "%s"
        return found[0]

    return _TOKEN.sub(one, sql), tuple(order)


# the values of a guard UPDATE besides the execution row's, given after it in this order
GUARD = ("expected_version", "expected_head_hash", "guard_owner", "guard_epoch")


@dataclass(frozen=True, slots=True)
class Bound:
    sql: str
    # (row, *extra values) -> the values in placeholder order
    values: Callable[..., tuple[Any, ...]]


@cache
def statement(dialect: str, name: str, row: type, extra: tuple[str, ...] = ()) -> Bound:
    """The named statement of ``dialect`` bound to rows of the dataclass ``row``: every
    placeholder names a field of it or one of ``extra``, given after the row, in that order."""
    sql, order = positional(queries.load(dialect)[name])
    known = {f.name for f in fields(row)}
    used = tuple(dict.fromkeys(n for n in order if n not in extra))
    stray = sorted(set(used) - known)
    if stray:
        raise ValueError(f"{name}: {stray} are neither fields of {row.__name__} nor extra")
    if len(order) < 2:
        raise ValueError(f"{name}: bound by name is as cheap with fewer than two values")
    from_row = attrgetter(*used) if len(used) > 1 else lambda obj: (getattr(obj, used[0]),)
    if order == used and not extra:
        return Bound(sql, from_row)
    if order == used + extra:  # the extra values last, as given (a row's tenant): no reorder
        return Bound(sql, lambda obj, *more: (*from_row(obj), *more))
    pick = itemgetter(*[(used + extra).index(n) for n in order])

    def values(obj: Any, *more: Any) -> tuple[Any, ...]:
        found: tuple[Any, ...] = pick((*from_row(obj), *more))
        return found

    return Bound(sql, values)
