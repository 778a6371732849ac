"""``evolve``: ``dataclasses.replace`` for the rows the hot path copies at every step;
``maker``: their constructor, for the rows it makes at every step.

``replace`` looks at every field's definition and calls ``__init__`` with keywords on each
copy; ``evolve`` sets the slots of a new instance directly, by a function made once per
class (as ``dataclasses`` makes ``__init__``). The copy is the same: equal, of the same
class, every field not named the original's. ``maker`` takes the same keywords (and
defaults; a default factory is called for a field not given) as ``__init__``, without its
cost per field (a frozen class's ``__init__`` sets each through ``object.__setattr__``).
Only for slotted dataclasses whose fields are all set by ``__init__`` and that have no
``__post_init__`` (nothing a copy would skip).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

Copier = Callable[[Any, dict[str, Any]], Any]
_COPIERS: dict[type, tuple[Copier, frozenset[str]]] = {}


def evolve(obj: T, /, **changes: Any) -> T:
    """``obj`` with ``changes``, like ``dataclasses.replace`` (an unknown field name is a
    ``TypeError``)."""
    return evolved(obj, changes)


def evolved(obj: T, changes: dict[str, Any]) -> T:
    """``evolve`` with the changes given as a dict (not kept)."""
    cls = type(obj)
    made = _COPIERS.get(cls)
    if made is None:
        made = _COPIERS[cls] = _copier(cls)
    copier, names = made
    if not changes.keys() <= names:
        raise TypeError(f"{cls.__name__} has no field {sorted(changes.keys() - names)[0]!r}")
    new: T = copier(obj, changes)
    return new


def _copier(cls: type) -> tuple[Copier, frozenset[str]]:
    fields = dataclasses.fields(cls)
    if "__slots__" not in cls.__dict__ or hasattr(cls, "__post_init__") \
            or any(not f.init for f in fields):
        raise TypeError(f"evolve needs a slotted dataclass whose fields __init__ sets all "
                        f"and that has no __post_init__: {cls.__name__}")
    names = [f.name for f in fields]
    scope: dict[str, Any] = {"new_instance": object.__new__, "cls": cls}
    lines = ["def copy(old, changes):", "    new = new_instance(cls)"]
    for i, name in enumerate(names):  # a field's name is an identifier: safe in the source
        scope[f"set_{i}"] = cls.__dict__[name].__set__
        lines.append(f"    set_{i}(new, changes[{name!r}] if {name!r} in changes "
                     f"else old.{name})")
    lines.append("    return new")
    exec("\n".join(lines), scope)  # made once per class, from its field names only
    copy: Copier = scope["copy"]
    return copy, frozenset(names)


_MAKERS: dict[type, Callable[..., Any]] = {}
_UNSET = object()  # a field with a default factory that was not given


def maker(cls: type[T]) -> Callable[..., T]:
    """A function that builds a ``cls`` as its ``__init__`` does, from the same keywords
    (a missing or unknown one is a ``TypeError``), made once per class."""
    found = _MAKERS.get(cls)
    if found is None:
        kind: type = cls
        _copier(kind)  # the same checks as ``evolve``
        fields = dataclasses.fields(kind)
        scope: dict[str, Any] = {"new_instance": object.__new__, "cls": cls,
                                 "unset": _UNSET}
        params, lines = [], []
        for i, f in enumerate(fields):
            scope[f"set_{i}"] = cls.__dict__[f.name].__set__
            if f.default_factory is not dataclasses.MISSING:  # called when not given
                scope[f"factory_{i}"] = f.default_factory
                params.append(f"{f.name}=unset")
                lines.append(f"    set_{i}(new, factory_{i}() if {f.name} is unset "
                             f"else {f.name})")
                continue
            scope[f"default_{i}"] = f.default
            params.append(f.name if f.default is dataclasses.MISSING else
                          f"{f.name}=default_{i}")
            lines.append(f"    set_{i}(new, {f.name})")
        exec("\n".join([f"def make(*, {', '.join(params)}):", "    new = new_instance(cls)",
                        *lines, "    return new"]), scope)
        found = _MAKERS[cls] = scope["make"]
    made: Callable[..., T] = found
    return made
