"""Arithmetic and logical operators with the spec's overloads and range errors.

There is no implicit conversion between int, uint and double: ``1 + 1.0`` is an error,
as in the spec. Integer results outside int64/uint64 raise ``CelError``; doubles follow
IEEE 754 (``1.0 / 0.0`` is +inf, ``0.0 / 0.0`` is NaN).
"""

from __future__ import annotations

import math
from typing import Any

from ledgerflow.cel import chrono
from ledgerflow.cel.errors import CelError
from ledgerflow.cel.values import Uint, check_int, check_uint, no_overload

_CONCATENATED = (str, bytes, list)


def add(a: Any, b: Any) -> Any:
    kind = type(a)
    if kind is type(b):
        if kind is int:
            return check_int(a + b)
        if kind is float or kind in _CONCATENATED:
            return a + b
        if kind is Uint:
            return check_uint(a + b)
    result = chrono.add(a, b)
    if result is None:
        raise no_overload("_+_", a, b)
    return result


def subtract(a: Any, b: Any) -> Any:
    kind = type(a)
    if kind is type(b):
        if kind is int:
            return check_int(a - b)
        if kind is float:
            return a - b
        if kind is Uint:
            return check_uint(a - b)
    result = chrono.subtract(a, b)
    if result is None:
        raise no_overload("_-_", a, b)
    return result


def multiply(a: Any, b: Any) -> Any:
    kind = type(a)
    if kind is type(b):
        if kind is int:
            return check_int(a * b)
        if kind is float:
            return a * b
        if kind is Uint:
            return check_uint(a * b)
    raise no_overload("_*_", a, b)


def divide(a: Any, b: Any) -> Any:
    kind = type(a)
    if kind is type(b):
        if kind is float:
            return _float_divide(a, b)
        if kind is int or kind is Uint:
            if b == 0:
                raise CelError("division by zero")
            quotient = abs(a) // abs(b)
            quotient = -quotient if (a < 0) != (b < 0) else quotient
            return check_int(quotient) if kind is int else Uint(quotient)
    raise no_overload("_/_", a, b)


def _float_divide(a: float, b: float) -> float:
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def modulo(a: Any, b: Any) -> Any:
    kind = type(a)
    if kind is type(b) and (kind is int or kind is Uint):
        if b == 0:
            raise CelError("modulus by zero")
        remainder = abs(a) % abs(b)
        return -remainder if a < 0 else (Uint(remainder) if kind is Uint else remainder)
    raise no_overload("_%_", a, b)


def negate(a: Any) -> Any:
    kind = type(a)
    if kind is int:
        return check_int(-a)
    if kind is float:
        return -a
    raise no_overload("-_", a)


def logical_not(a: Any) -> bool:
    if type(a) is bool:
        return not a
    raise no_overload("!_", a)
