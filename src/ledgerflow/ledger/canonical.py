"""Canonical JSON (RFC 8785), SHA-256 helpers and the ledger timestamp format.

``canonical_json`` is the only serialiser whose bytes are ever hashed. The reference is the
``rfc8785`` package; it is written in pure Python and costs tens of microseconds per ledger
body, so values in the common shape take a fast path through the stdlib C encoder
(``sort_keys=True``, no spaces, ``ensure_ascii=False``). The two produce identical bytes
exactly when the value holds only:

- ``dict`` with ``str`` keys whose characters all lie in the Basic Multilingual Plane.
  RFC 8785 orders keys by UTF-16 code units, Python by code points; the orders agree inside
  the BMP and differ once a key holds a supplementary character (U+10000 and up encode as
  surrogates 0xD800-0xDFFF, which sort *below* U+E000-U+FFFF);
- ``list`` and ``tuple`` (both encoders write arrays);
- ``str``: both escape exactly ``"`` ``\\`` and U+0000-U+001F, with the short forms
  ``\\b \\t \\n \\f \\r`` and lowercase ``\\u00XX`` for the other controls, and both write every
  other character (U+007F, U+2028, U+2029, astral characters) as raw UTF-8. A lone
  surrogate cannot be encoded as UTF-8: the fast path then fails and the reference raises;
- ``int`` within +/-(2**53 - 1), ``bool`` and ``None``;
- ``float`` that is finite, not integral and of magnitude in [1e-4, 1e16). Both encoders
  write the shortest digits that read back as the same double (``rfc8785`` reformats
  ``repr``); ECMAScript writes plain decimals from 1e-7 up to 1e21 and Python's ``repr``
  from 1e-4 up to 1e16, so inside the narrower range the texts are the same.

An integral float of magnitude up to 2**53 (``2.0``, ``-0.0``) is written by RFC 8785 as the
integer it equals (``2``, ``0``): such a value is encoded as a copy holding those integers.
Other floats (tiny, huge, NaN, infinities), larger integers, subclasses of the types above
and anything else go to ``rfc8785``. ``tests/unit/test_ledger_canonical.py`` checks the
equivalence with property tests over nested values, floats of every magnitude and enums.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
import rfc8785

from ledgerflow import errors

__all__ = [
    "SLOT",
    "canonical_json",
    "canonical_text",
    "encode_string",
    "format_timestamp",
    "object_text",
    "payload_sha256",
    "sha256_hex",
    "splice",
    "splice_text",
]

_MAX_SAFE_INT = 2**53 - 1
_TOO_DEEP = (
    "value cannot be written to the ledger: it is nested too deeply or contains a reference cycle"
)
_LAST_BMP = "\uffff"
# Scalars whose encodings agree whatever their value (strings: see the module docstring).
_PLAIN: frozenset[type] = frozenset({str, bool, type(None)})

_SORTED = orjson.OPT_SORT_KEYS
# check_circular is off because _fast_path_ok recurses first: a cycle never reaches it.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    sort_keys=True,
    separators=(",", ":"),
    allow_nan=False,
    check_circular=False,
)


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical JSON encoding of ``value`` as UTF-8 bytes.

    Accepts ``None``, ``bool``, ``int`` within +/-(2**53 - 1), finite ``float``, ``str``,
    ``list``/``tuple`` and ``dict`` with ``str`` keys, nested freely. Anything else (NaN,
    infinities, larger integers, non-string keys, lone surrogates, other types, reference
    cycles) raises ``errors.LedgerError`` naming the reason.
    """
    try:
        verdict = _fast_path(value)
        if verdict != _REFERENCE:
            if verdict == _AS_INTEGERS:
                value = _integral_floats_as_ints(value)
            # orjson writes what the walk let through as RFC 8785 does (property-tested)
            return orjson.dumps(value, option=_SORTED)
    except orjson.JSONEncodeError:
        pass  # a lone surrogate or very deep nesting: the reference path names the problem
    except RecursionError as exc:
        raise errors.LedgerError(_TOO_DEEP) from exc
    return _reference_json(value)


def canonical_text(value: Any) -> str:
    """``canonical_json(value)`` as text."""
    return canonical_json(value).decode("utf-8")


SLOT = "\x00ledgerflow/slot"
"""Stands in a value for a part whose canonical text is already known (``splice``)."""
_SLOT_TEXT = _ENCODER.encode(SLOT)  # the reference escapes U+0000 the same way


def splice(template: Any, part: str) -> str | None:
    """Return the canonical text of ``template`` with ``part`` where ``SLOT`` stands.

    ``template`` holds ``SLOT`` once, as a value (not a key); ``part`` is the canonical
    text of the value it stands for, so that value is never encoded again. Returns None
    when the slot's text occurs in the encoding other than exactly once (a key or another
    string of the template holds it): the caller then encodes the whole value. Two
    occurrences cannot overlap: they would share a quote that closes one string and is
    followed by a backslash, which JSON text never has. Raises like ``canonical_json``.
    """
    return splice_text(canonical_json(template).decode("utf-8"), part)


def splice_text(encoded: str, part: str) -> str | None:
    """``encoded`` (a template's text, by this module or ``values.encode``: both write
    ``SLOT`` alike) with ``part`` where ``SLOT`` stands, or None as in ``splice``."""
    if encoded.count(_SLOT_TEXT) != 1:
        return None
    return encoded.replace(_SLOT_TEXT, part, 1)


def object_text(members: Mapping[str, str]) -> str:
    """Return the canonical text of an object whose member values are given as their
    canonical texts (none is encoded again), keys in RFC 8785 order (UTF-16 code units).

    The keys need a UTF-8 form; a lone surrogate in one fails when the text is encoded.
    """
    keys = sorted(members)
    if not "".join(keys).isascii():
        keys.sort(key=_utf16_units)
    return "{" + ",".join([_member_prefix(key) + members[key] for key in keys]) + "}"


@functools.lru_cache(maxsize=1024)
def _member_prefix(key: str) -> str:
    # Cached: the engine's payloads repeat a few keys ("output", "result"...).
    return _ENCODER.encode(key) + ":"


def _utf16_units(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def encode_string(text: str) -> str:
    """Return the canonical JSON text of one string, quotes included.

    Identical to ``canonical_json(text).decode()`` for every string that has a UTF-8 form;
    a lone surrogate is passed through unchanged, so encoding the result to UTF-8 fails.
    """
    return _ENCODER.encode(text)


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of ``data`` as 64 lowercase hex characters."""
    return hashlib.sha256(data).hexdigest()


def payload_sha256(payload: Any) -> str:
    """Return the SHA-256 (lowercase hex) of ``canonical_json(payload)``.

    ``None`` hashes as the canonical text ``null``. Raises like ``canonical_json``.
    """
    return sha256_hex(canonical_json(payload))


def format_timestamp(dt: datetime) -> str:
    """Format an aware datetime as ledger time: UTC, six fractional digits, ``Z``.

    ``2026-11-22T07:33:00.123456Z``. A naive datetime raises ``ValueError``: its zone is
    unknown, so no UTC instant can be recorded for it.
    """
    global _last_timestamp
    last = _last_timestamp
    if last[0] is dt:  # a batch formats the same moment many times
        return last[1]
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(
            f"ledger timestamps need an aware datetime, got naive {dt.isoformat()}; "
            "pass one with tzinfo (e.g. datetime.now(UTC))"
        )
    utc = dt.astimezone(UTC).replace(tzinfo=None)
    text = utc.isoformat(timespec="microseconds") + "Z"
    _last_timestamp = (dt, text)  # one tuple: atomic for other threads
    return text


_last_timestamp: tuple[datetime | None, str] = (None, "")


# verdicts of _fast_path (module constants compared by identity: the walk returns them)
_REFERENCE = 0  # only rfc8785 writes it right
_AS_IS = 1  # the stdlib encoder writes it as RFC 8785 does
_AS_INTEGERS = 2  # ... once its integral floats are integers
_PLAIN_FLOAT_LOW = 1e-4
_PLAIN_FLOAT_HIGH = 1e16
_LARGEST_EXACT = float(2**53)


def _fast_path_ok(value: object) -> bool:
    """True when the stdlib encoder writes ``value`` itself exactly as RFC 8785 does."""
    return _fast_path(value) == _AS_IS


def _fast_path(value: object) -> int:
    """Which encoder writes ``value`` as RFC 8785 does (a verdict above).

    One recursive walk; the rules are in the module docstring. Exact ``type(...)`` checks
    rather than ``isinstance`` on purpose: subclasses (``str``/``int`` enums, dict
    subclasses) may encode differently, so they take the reference path. Plain scalars
    inside containers are accepted without a call, which halves the cost of the walk.
    """
    kind = type(value)
    if kind in _PLAIN:
        return _AS_IS
    if kind is dict:
        return _members(value)  # type: ignore[arg-type]
    if kind is list or kind is tuple:
        return _items(value)  # type: ignore[arg-type]
    if kind is int:
        return _AS_IS if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT else _REFERENCE  # type: ignore[operator]
    if kind is float:
        return _float(value)  # type: ignore[arg-type]
    return _REFERENCE


def _float(number: float) -> int:
    size = abs(number)
    if _PLAIN_FLOAT_LOW <= size < _PLAIN_FLOAT_HIGH and not number.is_integer():
        return _AS_IS
    if size <= _LARGEST_EXACT and number.is_integer():
        return _AS_INTEGERS
    return _REFERENCE  # tiny, huge, NaN or infinite


def _members(members: dict[Any, Any]) -> int:
    for key in members:
        if type(key) is not str or not (key.isascii() or max(key) <= _LAST_BMP):
            return _REFERENCE
    return _items(members.values())


def _items(items: Iterable[Any]) -> int:
    verdict = _AS_IS
    for item in items:
        if type(item) not in _PLAIN:
            found = _fast_path(item)
            if found == _REFERENCE:
                return _REFERENCE
            verdict = max(verdict, found)
    return verdict


def _integral_floats_as_ints(value: Any) -> Any:
    """A copy of ``value`` (one ``_fast_path`` judged ``_AS_INTEGERS``) whose integral
    floats are the integers they equal; other parts are shared, not copied."""
    kind = type(value)
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is dict:
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_integral_floats_as_ints(item) for item in value]
    return value


def _reference_json(value: Any) -> bytes:
    """Encode with the ``rfc8785`` package, translating its errors into LedgerError."""
    try:
        result: bytes = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeError) as exc:
        raise errors.LedgerError(f"value cannot be written to the ledger: {exc}") from exc
    except RecursionError as exc:
        raise errors.LedgerError(_TOO_DEEP) from exc
    return result
