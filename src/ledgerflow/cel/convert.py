"""JSON values in, JSON values out.

In: dicts (string keys, order kept) become maps, lists and tuples lists, ``int`` int,
``float`` double, ``str`` string, ``bool`` bool, ``None`` null. Out: uint becomes an
``int``, double a finite ``float`` (NaN and infinities are refused), timestamps RFC 3339
strings with nanoseconds, durations the spec's ``"1.5s"`` form. Bytes, types and maps
with keys other than strings are refused: JSON has no bytes (the spec's JSON mapping would
write base64 text, silently changing the type; ``string(b)`` or ``base64`` in an agent
says what is meant), and a printed key would collide with a string key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ledgerflow.cel import chrono
from ledgerflow.cel.values import CelType, Uint

_SCALARS = (str, int, float, bool, type(None))


def to_cel(value: Any) -> Any:
    """``value`` as CEL values: the same object when nothing needs changing.

    Raises ``TypeError`` naming the first thing that is not a JSON value.
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict:
        converted = {}
        changed = False
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"map key {key!r} is not a string")
            new = to_cel(item)
            changed = changed or new is not item
            converted[key] = new
        return converted if changed else value
    if kind is list or kind is tuple:
        items = [to_cel(item) for item in value]
        unchanged = kind is list and all(a is b for a, b in zip(items, value, strict=True))
        return value if unchanged else items
    if isinstance(value, Mapping):
        return to_cel(dict(value))
    for base in (bool, int, float, str):  # subclasses (IntEnum, str enums) as their base
        if isinstance(value, base):
            return base(value)
    raise TypeError(f"a {kind.__name__} is not a JSON value")


def to_json(value: Any) -> Any:
    """A CEL result as plain JSON values; raises ``ValueError`` for what JSON cannot hold."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            raise ValueError(f"result {_double(value)} is not a finite number")
        return value
    if kind in _SCALARS:
        return value
    if kind is Uint:
        return int(value)
    if kind is list:
        return [to_json(item) for item in value]
    if kind is dict:
        for key in value:
            if type(key) is not str:
                raise ValueError(f"map key {to_json(key)!r} is not a string")
        return {key: to_json(item) for key, item in value.items()}
    if kind is bytes:
        raise ValueError("result of type bytes is not a JSON value; turn it into text with "
                         "string(...)")
    if kind in (chrono.Timestamp, chrono.Duration):
        return str(value)
    if kind is CelType:
        raise ValueError(f"result is the type {value}, which is not a JSON value")
    raise ValueError(f"result of type {kind.__name__} is not a JSON value")


def _double(value: float) -> str:
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
