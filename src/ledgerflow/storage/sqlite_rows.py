"""Rows between sqlite3 and the row dataclasses: dict rows in, named parameters out."""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from typing import Any, TypeVar

R = TypeVar("R")


def row_factory(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def params(obj: Any) -> dict[str, Any]:
    """A row object as named query parameters (shallow: values are scalars)."""
    cls = type(obj)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(obj))
    return {name: getattr(obj, name) for name in names}


_FIELD_SETS: dict[type, frozenset[str]] = {}


def build(cls: type[R], row: dict[str, Any]) -> R:
    """A row object from a dict row; columns it has no field for (a table's ``tenant_id``)
    are left out. Its field names are looked up once per class: every loaded step and
    ledger row comes through here."""
    names = _FIELD_SETS.get(cls)
    if names is None:
        names = _FIELD_SETS[cls] = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]
    return cls(**{k: v for k, v in row.items() if k in names})
