"""Query parameters no stored row can hold: an integer beyond 64 bits, text that is not
UTF-8 (a file name or argument in another encoding, decoded with surrogate escapes).

SQLite refuses to bind such an integer and both drivers refuse to encode such text. A read
that looks for one finds nothing (integers are clamped to 64 bits, so ``> n`` and
``LIMIT n`` keep their meaning; text no row can equal matches no row), as on a database that
could compare them; a write of one is refused with an error that says which kind of value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledgerflow import errors
from ledgerflow.settings import LARGEST_INTEGER as INT_MAX

INT_MIN = -INT_MAX - 1

Params = Sequence[Any] | dict[str, Any]


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _fits(value: Any) -> bool:
    return _utf8(value) if isinstance(value, str) else True


def _clamp(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, INT_MIN), INT_MAX)
    return value


def for_read(params: Params) -> Params | None:
    """``params`` with every integer within 64 bits, or None when a text is not UTF-8 (no
    row can match it)."""
    values = params.values() if isinstance(params, dict) else params
    if not all(_fits(v) for v in values):
        return None
    if isinstance(params, dict):
        return {k: _clamp(v) for k, v in params.items()}
    return [_clamp(v) for v in params]


def refused(exc: OverflowError | UnicodeEncodeError, where: str) -> errors.InvalidValue:
    """The error for a write of an unstorable value."""
    if isinstance(exc, UnicodeEncodeError):
        what = "text that is not valid UTF-8 (undecodable bytes in a name, id or file name)"
    else:
        what = f"an integer outside {INT_MIN}..{INT_MAX}"
    return errors.InvalidValue(f"{where}: cannot store {what}; use UTF-8 text and 64-bit "
                               "integers")
