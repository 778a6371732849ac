"""The standard functions: size, string tests, ``matches``, type conversions, time getters.

``GLOBAL`` holds functions called as ``f(x, ...)``, ``MEMBER`` those called as ``x.f(...)``
(the receiver comes first). ``matches`` uses Python's ``re`` with search semantics, as RE2
does in CEL; patterns RE2 refuses (back-references, look-around) are accepted here, and
``\\z`` is not known.
"""

from __future__ import annotations

import decimal
import functools
import math
import re
from collections.abc import Callable
from typing import Any

from ledgerflow.cel import chrono
from ledgerflow.cel.errors import CelError
from ledgerflow.cel.values import (
    INT_MAX,
    INT_MIN,
    TYPES,
    UINT_MAX,
    CelType,
    Uint,
    no_overload,
    type_of,
)

Function = Callable[..., Any]


def size(value: Any) -> int:
    if type(value) in (str, bytes, list, dict):
        return len(value)
    raise no_overload("size", value)


def _strings(name: str, test: Callable[[str, str], bool]) -> Function:
    def run(text: Any, part: Any) -> bool:
        if type(text) is str and type(part) is str:
            return test(text, part)
        raise no_overload(name, text, part)
    return run


@functools.lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise CelError(f"invalid regular expression {pattern!r}: {exc}") from None


def matches(text: Any, pattern: Any) -> bool:
    if type(text) is str and type(pattern) is str:
        return _pattern(pattern).search(text) is not None
    raise no_overload("matches", text, pattern)


def to_int(value: Any) -> int:
    kind = type(value)
    if kind is int:
        return int(value)
    if kind is Uint:
        return _in_range(int(value), INT_MIN, INT_MAX, "int")
    if kind is float:
        if not -(2.0**63) < value < 2.0**63:
            raise CelError(f"range error: double {value!r} does not fit an int")
        return int(value)
    if kind is str:
        return _in_range(_parse(r"[+-]?\d+", value, "int"), INT_MIN, INT_MAX, "int")
    if kind is chrono.Timestamp:
        return chrono.unix_seconds(value)
    raise no_overload("int", value)


def to_uint(value: Any) -> Uint:
    kind = type(value)
    if kind is int or kind is Uint:
        return Uint(_in_range(int(value), 0, UINT_MAX, "uint"))
    if kind is float:
        if not 0 <= value < 2.0**64:
            raise CelError(f"range error: double {value!r} does not fit a uint")
        return Uint(int(value))
    if kind is str:
        return Uint(_in_range(_parse(r"\d+", value, "uint"), 0, UINT_MAX, "uint"))
    raise no_overload("uint", value)


def _parse(pattern: str, text: str, kind: str) -> int:
    if not re.fullmatch(pattern, text, re.ASCII):
        raise CelError(f"type conversion error: {text!r} is not a {kind}")
    return int(text)


def _in_range(value: int, low: int, high: int, kind: str) -> int:
    if not low <= value <= high:
        raise CelError(f"range error: {value} does not fit a {kind}")
    return value


_FLOAT = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)",
                    re.IGNORECASE | re.ASCII)


def to_double(value: Any) -> float:
    kind = type(value)
    if kind in (int, Uint, float):
        return float(value)
    if kind is str:
        if not _FLOAT.fullmatch(value):
            raise CelError(f"type conversion error: {value!r} is not a double")
        return float(value)
    raise no_overload("double", value)


def to_string(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is Uint:
        return str(int(value))
    if kind is float:
        return format_double(value)
    if kind is bytes:
        try:
            return str(value.decode("utf-8"))
        except UnicodeDecodeError:
            raise CelError("bytes are not valid UTF-8 text") from None
    if kind in (chrono.Timestamp, chrono.Duration, CelType):
        return str(value)
    raise no_overload("string", value)


def format_double(value: float) -> str:
    """Shortest round-trip digits, in exponent form below 1e-4 and from 1e21 (as %g)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)
    minus = "-" if sign else ""
    if value == 0:
        return f"{minus}0"
    if not -4 <= point - 1 < 21:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{minus}{mantissa}e{point - 1:+03d}"
    if point <= 0:
        return f"{minus}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{minus}{text}{'0' * (point - len(text))}"
    return f"{minus}{text[:point]}.{text[point:]}"


def to_bytes(value: Any) -> bytes:
    if type(value) is bytes:
        return bytes(value)
    if type(value) is str:
        return value.encode("utf-8")
    raise no_overload("bytes", value)


_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def to_bool(value: Any) -> bool:
    if type(value) is bool:
        return bool(value)
    if type(value) is str and value in _TRUE | _FALSE:
        return value in _TRUE
    if type(value) is str:
        raise CelError(f"type conversion error: {value!r} is not a bool")
    raise no_overload("bool", value)


def to_timestamp(value: Any) -> chrono.Timestamp:
    kind = type(value)
    if kind is chrono.Timestamp:
        return value  # type: ignore[no-any-return]
    if kind is str:
        return chrono.parse_timestamp(value)
    if kind is int:
        return chrono.from_seconds(value)
    raise no_overload("timestamp", value)


def to_duration(value: Any) -> chrono.Duration:
    if type(value) is chrono.Duration:
        return value
    if type(value) is str:
        return chrono.parse_duration(value)
    raise no_overload("duration", value)


def _getter(name: str) -> Function:
    def run(value: Any, *zone: Any) -> int:
        if type(value) not in (chrono.Timestamp, chrono.Duration) or len(zone) > 1 or (
                zone and type(zone[0]) is not str):
            raise no_overload(name, value, *zone)
        return chrono.get(name, value, *zone)
    return run


def _dyn(value: Any) -> Any:
    return value


GLOBAL: dict[str, Function] = {
    "size": size, "int": to_int, "uint": to_uint, "double": to_double, "string": to_string,
    "bytes": to_bytes, "bool": to_bool, "dyn": _dyn, "type": type_of,
    "timestamp": to_timestamp, "duration": to_duration, "matches": matches,
}
MEMBER: dict[str, Function] = {
    "size": size, "matches": matches,
    "contains": _strings("contains", lambda text, part: part in text),
    "startsWith": _strings("startsWith", str.startswith),
    "endsWith": _strings("endsWith", str.endswith),
    **{name: _getter(name) for name in chrono.GETTERS},
}
TYPE_NAMES = {name: kind for name, kind in TYPES.items() if name != "dyn"}
