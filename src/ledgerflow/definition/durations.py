"""Durations as written in workflow specs: ``"500ms"``, ``"30s"``, ``"1h30m"``, ``"7d"``.

A duration is either a JSON number of seconds (``30``, ``1.5``) or a string of one or
more ``<number><unit>`` parts with units ``d``, ``h``, ``m``, ``s``, ``ms``, each at most
once and largest first (``"1d12h"``, ``"1m30s"``, ``"1.5h"``). Numeric strings without a
unit (``"30"``) are refused: the unit is what makes a string a duration. A duration is at
most ``MAX_SECONDS`` (``36500d``, 100 years): a timer further out than that is a mistake,
and one past the year 9999 cannot be scheduled at all.
"""

from __future__ import annotations

import math
import re

from ledgerflow.errors import DurationError

__all__ = ["DurationError", "format_duration", "parse_duration"]

MAX_SECONDS = 36_500 * 86_400.0

_UNITS: dict[str, float] = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_ORDER = ("d", "h", "m", "s", "ms")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|d|h|m|s))+")
_HINT = "use a number of seconds or a string like '500ms', '30s', '1m', '1h30m', '7d'"


def parse_duration(value: object, *, longest: float | None = MAX_SECONDS) -> float:
    """Return ``value`` as a non-negative, finite number of seconds.

    Accepts ints and floats (seconds) and unit strings (see the module docstring).
    Raises ``DurationError`` for anything else, including booleans, negative or
    non-finite numbers, unknown units and units out of order or repeated, and a duration
    over ``longest`` (100 years: the longest ledgerflow schedules; None: no limit, for a
    duration that only looks back, such as ``cleanup --older-than``).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DurationError(f"expected a duration, got {_describe(value)}; {_HINT}",
                            value=value)
    if isinstance(value, str):
        seconds = _parse_text(value)
    else:
        # a huge int is clamped first: float() of it would raise OverflowError
        seconds = float(max(min(value, 10**300), -(10**300))) if isinstance(value, int) \
            else float(value)
        if not math.isfinite(seconds) or seconds < 0:
            raise DurationError(f"duration must be a finite number >= 0, got {value!r}",
                                value=value)
    if longest is not None and seconds > longest:
        raise DurationError(f"duration {value!r} is longer than 36500d (100 years), the "
                            "longest ledgerflow schedules", value=value)
    return seconds


def format_duration(seconds: float) -> str:
    """Format seconds in the spec's own notation (``5400`` -> ``"1h30m"``, ``0.5`` -> ``"500ms"``).

    Whole milliseconds round-trip through ``parse_duration``; finer values are written as
    plain seconds (``"0.0001s"``). Negative values get a leading ``-``.
    """
    if seconds < 0:
        return "-" + format_duration(-seconds)
    millis = round(seconds * 1000)
    if not math.isclose(millis, seconds * 1000, rel_tol=0.0, abs_tol=1e-6):
        return f"{seconds:g}s"
    if millis == 0:
        return "0s"
    parts = []
    for unit in _ORDER:
        size = round(_UNITS[unit] * 1000)
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _parse_text(text: str) -> float:
    stripped = text.strip()
    if not _WHOLE.fullmatch(stripped):
        if _is_number(stripped):
            raise DurationError(
                f"duration {text!r} has no unit; write '{stripped}s' for seconds", value=text)
        raise DurationError(f"invalid duration {text!r}; {_HINT}", value=text)
    parts = _PART.findall(stripped)
    units = [unit for _, unit in parts]
    if units != sorted(units, key=_ORDER.index) or len(set(units)) != len(units):
        raise DurationError(
            f"invalid duration {text!r}: give each unit once, largest first (d, h, m, s, ms)",
            value=text,
        )
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def _is_number(text: str) -> bool:
    return re.fullmatch(r"[-+]?\d+(?:\.\d+)?", text) is not None


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    return f"{type(value).__name__} {value!r}"
