"""CEL values as Python values, and the spec's equality and ordering over them.

int -> ``int``, uint -> ``Uint``, double -> ``float``, bool -> ``bool``, string -> ``str``,
bytes -> ``bytes``, null -> ``None``, list -> ``list``, map -> ``dict`` (insertion order
kept), timestamp/duration -> ``chrono`` types, type -> ``CelType``. ``bool`` is a Python
``int``, so every check here looks at the exact type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledgerflow.cel import chrono
from ledgerflow.cel.errors import CelError

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
UINT_MAX = 2**64 - 1


class Uint(int):
    """A CEL ``uint``: an ``int`` whose type says unsigned."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{int(self)}u"


@dataclass(frozen=True, slots=True)
class CelType:
    """A type as a value (``type(1) == int``)."""

    name: str

    def __str__(self) -> str:
        return self.name


NUMBERS = (int, Uint, float)
_NAMES: dict[type, str] = {
    bool: "bool", int: "int", Uint: "uint", float: "double", str: "string", bytes: "bytes",
    type(None): "null_type", list: "list", dict: "map", chrono.Timestamp:
    "google.protobuf.Timestamp", chrono.Duration: "google.protobuf.Duration", CelType: "type",
}
TYPES = {name: CelType(name) for name in (*_NAMES.values(), "dyn")}
TYPES["timestamp"] = TYPES["google.protobuf.Timestamp"]
TYPES["duration"] = TYPES["google.protobuf.Duration"]


def type_name(value: Any) -> str:
    """The CEL type name of ``value``."""
    return _NAMES.get(type(value), type(value).__name__)


def type_of(value: Any) -> CelType:
    return TYPES[type_name(value)]


def no_overload(function: str, *args: Any) -> CelError:
    kinds = ", ".join(type_name(arg) for arg in args)
    return CelError(f"no such overload: {function} applied to ({kinds})")


def equal(a: Any, b: Any) -> bool:
    """CEL equality: numbers compare by value across int, uint and double; lists and maps
    element by element; values of different kinds are unequal (never an error)."""
    ta, tb = type(a), type(b)
    if ta is tb and ta is not list and ta is not dict:
        return bool(a == b)
    if ta in NUMBERS and tb in NUMBERS:
        return bool(_numeric(a, b) == _numeric(b, a))
    if ta is list and tb is list:
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if ta is dict and tb is dict:
        if len(a) != len(b):
            return False
        for key, value in a.items():
            found, other = lookup(b, key)
            if not found or not equal(value, other):
                return False
        return True
    return False


def compare(function: str, a: Any, b: Any) -> int | None:
    """-1, 0 or 1 ordering ``a`` against ``b``; None when unordered (NaN).

    Raises ``CelError`` for kinds CEL does not order (lists, maps, null, mixed kinds).
    """
    ta, tb = type(a), type(b)
    if ta in NUMBERS and tb in NUMBERS:
        a, b = _numeric(a, b), _numeric(b, a)
    elif ta is not tb or ta not in _ORDERED:
        raise no_overload(function, a, b)
    if a < b:
        return -1
    if a > b:
        return 1
    return 0 if a == b else None


def _numeric(value: Any, other: Any) -> Any:
    """An int or uint meets a double as a double, as in the reference implementations."""
    return float(value) if type(other) is float and type(value) is not float else value


_ORDERED = (str, bytes, bool, chrono.Timestamp, chrono.Duration)
MAP_KEYS = (int, Uint, bool, str)


def lookup(mapping: dict[Any, Any], key: Any) -> tuple[bool, Any]:
    """Find ``key`` in a CEL map: numeric keys match across int, uint and integral
    doubles; a bool never matches a number."""
    kind = type(key)
    if kind is float:
        if not key.is_integer():
            return False, None
        key, kind = int(key), int
    if kind is str:
        return (True, mapping[key]) if key in mapping else (False, None)
    if kind is bool or (kind in (int, Uint) and key in (0, 1)):
        for stored, value in mapping.items():
            if (type(stored) is bool) == (kind is bool) and stored == key:
                return True, value
        return False, None
    if kind in (int, Uint):
        return (True, mapping[key]) if key in mapping else (False, None)
    raise CelError(f"unsupported key type: {type_name(key)}")


def check_key(key: Any) -> Any:
    """A map literal's key, or an error for kinds a map cannot be keyed by."""
    if type(key) not in MAP_KEYS:
        raise CelError(f"unsupported key type: {type_name(key)}")
    return key


def contains(container: Any, element: Any) -> bool:
    """``element in container`` for lists (by equality) and maps (by key)."""
    if type(container) is list:
        return any(equal(element, item) for item in container)
    if type(container) is dict:
        if type(element) not in (*MAP_KEYS, float):
            return False
        return lookup(container, element)[0]
    raise no_overload("@in", element, container)


def check_int(value: int) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise CelError("int overflow: result is outside the int64 range")
    return value


def check_uint(value: int) -> Uint:
    if not 0 <= value <= UINT_MAX:
        raise CelError("uint overflow: result is outside the uint64 range")
    return Uint(value)
