"""What the ledger can hold: the one check every value passes before it is written.

Handler outputs, step inputs made by templates, start input, signal data and state edits
all go through ``problem`` first, so a value the ledger cannot hold is refused where it
enters, with one line naming its path (``output.items[3].n: integer 2^60 is outside
±2^53``), instead of failing deep in the encoder or the database. A value holds only
``None``, ``bool``, ``int`` within ±(2^53 - 1), finite ``float``, ``str`` without lone
surrogates, ``list``/``tuple`` and ``dict`` with ``str`` keys, nested at most
``MAX_DEPTH`` deep, without reference cycles, and its JSON text is at most ``MAX_BYTES``.

The walk is iterative (no recursion limit to hit) and never builds the JSON text: the size
is a lower bound summed on the way (a string counts its characters), so a gigabyte is
refused after looking at its first few megabytes' worth of items, not after copying it.

The value codec lives here too: ``encode`` writes the text a value is stored as and
``decode`` reads it back exactly. The stored text keeps what a handler or an expression
can observe: int vs float (``2.0`` stays a float), ``-0.0`` with its sign, the producer's
key order; a tuple is written (and read back) as a list. Hashes never use this text: they
are taken over the value's RFC 8785 form (``canonical.payload_sha256``). Text written
before the codec existed is RFC 8785 text and reads back under the same model: an integer
literal beyond ±2^53 is the I-JSON double it denotes (``10000000000000000`` is ``1e16``).
The stdlib encoder is exact for these types (``repr`` of a float reads back as the same
float); ``tests/unit/test_ledger_values_codec.py`` checks the round trip with a property
test.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import orjson

from ledgerflow import errors

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_REASON", "MAX_SAFE_INT", "accept", "check", "decode",
           "describe", "encode", "object_text", "one_line", "problem", "settle"]

MAX_SAFE_INT = 2**53 - 1
MAX_DEPTH = 256  # containers inside containers
MAX_BYTES = 16 * 1024 * 1024  # of JSON text, per value (an output, an input, signal data)
MAX_REASON = 2000  # characters of an error message kept in the ledger
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LONGEST_PATH = 120
_SCALARS = (str, bool, int, float, type(None))


def problem(value: Any, root: str) -> str | None:
    """The first reason ``value`` cannot be stored, as ``path: reason`` (its path starting
    at ``root``, like ``output`` or ``input.items[2]``), or None when it can."""
    walk = _Walk(root)
    reason = walk.enter(value, root)
    while reason is None and walk.frames:
        ident, where, children = walk.frames[-1]
        found = next(children, None)
        if found is None:
            walk.frames.pop()
            walk.open.discard(ident)
            continue
        child, path = found
        if path is None:
            reason = f"{_shown(where)}: key {_short(child)} is not a string (JSON keys are)"
        else:
            reason = walk.enter(child, path)
    return reason


class _Walk:
    """The containers being looked into (each an iterator over its members, lazily: a
    list of a hundred million items is never copied) and the text size so far."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.size = 0
        self.frames: list[tuple[int, str, Iterator[tuple[Any, str | None]]]] = []
        self.open: set[int] = set()  # ids of the containers on the path (cycles)

    def enter(self, item: Any, path: str) -> str | None:
        self.size += len(path) - len(self.root) + 2  # a member's key, or an item's comma
        if isinstance(item, _SCALARS):
            reason, length = _scalar(item)
            if reason is not None:
                return f"{_shown(path)}: {reason}"
            self.size += length
        elif isinstance(item, dict | list | tuple):
            if id(item) in self.open:
                return f"{_shown(path)}: refers back to a value that contains it (a cycle)"
            if len(self.frames) >= MAX_DEPTH:
                return f"{_shown(path)}: nested more than {MAX_DEPTH} levels deep"
            self.open.add(id(item))
            self.frames.append((id(item), path, _children(item, path)))
        else:
            return f"{_shown(path)}: {type(item).__name__} is not a JSON type"
        if self.size > MAX_BYTES:
            return f"{self.root}: larger than the {MAX_BYTES // (1024 * 1024)} MiB a value " \
                "may take"
        return None


def _shown(path: str) -> str:
    """``path``, or a path of hundreds of parts cut in its middle (one line stays short)."""
    if len(path) <= _LONGEST_PATH:
        return path
    return f"{path[:_LONGEST_PATH // 2]}…{path[-_LONGEST_PATH // 2:]}"


def _scalar(item: Any) -> tuple[str | None, int]:
    """The reason a scalar cannot be stored (or None), and its least JSON length."""
    if isinstance(item, str):
        if not item.isascii() and _SURROGATE.search(item):
            return "text holds a lone surrogate (not valid Unicode)", 0
        return None, len(item)
    if isinstance(item, bool) or item is None:
        return None, 5
    if isinstance(item, int):
        if -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
            return None, 1
        return f"integer {_integer(item)} is outside ±2^53", 16
    if not math.isfinite(item):
        return f"number {item} is not finite (JSON has no NaN or infinity)", 0
    return None, 1


def _children(item: dict[Any, Any] | list[Any] | tuple[Any, ...],
              path: str) -> Iterator[tuple[Any, str | None]]:
    """Each member with its path, in order; a non-string key comes as (key, None)."""
    if isinstance(item, dict):
        for key, child in item.items():
            yield (child, _member(path, key)) if isinstance(key, str) else (key, None)
    else:
        for index, child in enumerate(item):
            yield child, f"{path}[{index}]"


def _member(path: str, key: str) -> str:
    if _NAME.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{_short(key)}]"


def _short(value: Any) -> str:
    shown = repr(value) if not isinstance(value, str) else _quoted(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _quoted(text: str) -> str:
    return '"' + text.encode("unicode_escape", "backslashreplace").decode("ascii")\
        .replace('"', '\\"') + '"'


def _integer(value: int) -> str:
    """``2^60`` for a power of two, the digits while short, else its size in digits."""
    magnitude = abs(value)
    sign = "-" if value < 0 else ""
    if magnitude & (magnitude - 1) == 0:
        return f"{sign}2^{magnitude.bit_length() - 1}"
    if magnitude.bit_length() <= 128:
        return str(value)
    return f"{sign}of about {int(magnitude.bit_length() * 0.30103) + 1} digits"


def one_line(text: str, *, limit: int = MAX_REASON) -> str:
    """``text`` as one line the ledger and every database can hold: whitespace and control
    characters (NUL included) become single spaces, lone surrogates become U+FFFD, and more
    than ``limit`` characters are cut with an ellipsis."""
    cleaned = " ".join(_CONTROL.sub(" ", _SURROGATE.sub("\ufffd", text)).split())
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 1] + "…"


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception raised by user code, as ``one_line`` (its
    ``__str__`` may itself raise)."""
    try:
        message = str(exc)
    except Exception:
        message = "(its message could not be read)"
    name = type(exc).__name__
    return one_line(f"{name}: {message}" if message else name)


def check(value: Any, root: str, what: str) -> None:
    """Raise ``errors.InputValidationError`` (``problems`` holds the one line, ``path`` is
    ``root``) when ``value``, the ``what`` a caller gave, cannot be stored."""
    reason = problem(value, root)
    if reason is not None:
        raise errors.InputValidationError(f"{what} cannot be stored: {reason}",
                                          problems=(reason,), path=root)


# the value codec ----------------------------------------------------------------------
_WRITER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                           check_circular=False)  # ``_plain`` (or ``problem``) looked first
_LEAVES: frozenset[type] = frozenset({str, bool, type(None)})
_LONG_DIGITS = re.compile(r"[0-9]{16}")  # an integer literal that may lie beyond ±2^53


def encode(value: Any, root: str = "value") -> str:
    """The text ``value`` is stored as (see the module docstring). A value that cannot be
    stored raises ``errors.UnstorableValue`` whose ``reason`` is the one line of
    ``problem`` (path from ``root``): the quick look here checks the same rules, and
    ``problem`` runs only to name what it found."""
    try:  # orjson writes a value the quick look passed exactly as ``_WRITER`` does
        text = orjson.dumps(value).decode("utf-8") if _plain(value, 0) else None
    except (RecursionError, orjson.JSONEncodeError):
        text = None  # nested too deep for the quick look, or a lone surrogate: named below
    if text is None:
        reason = problem(value, root)
        if reason is not None:
            raise errors.UnstorableValue(f"value cannot be written to the ledger: {reason}",
                                         reason=reason)
        text = _WRITER.encode(value)  # subclasses of the JSON types: written as those
    if len(text) > MAX_BYTES:
        reason = f"{root}: larger than the {MAX_BYTES // (1024 * 1024)} MiB a value may take"
        raise errors.UnstorableValue(f"value cannot be written to the ledger: {reason}",
                                     reason=reason)
    return text


def decode(text: str) -> Any:
    """The value stored as ``text`` (by ``encode``, or RFC 8785 text written earlier).
    Raises ``ValueError`` for text that is not JSON or holds NaN or infinities."""
    if _LONG_DIGITS.search(text) is None:
        return _READER.decode(text)
    return _WIDE_READER.decode(text)


def accept(value: Any, root: str, what: str) -> Any:
    """``check`` a value given through the API (start input, signal data, a state edit),
    then return it as it will be read back once stored (``settle``)."""
    check(value, root, what)
    return settle(value, root)[0]


def settle(value: Any, root: str = "value") -> tuple[Any, str]:
    """``value`` as it will be read back once stored, and its stored text: the live path
    continues with the first, so a reloaded execution sees exactly what a straight run
    saw. Raises like ``encode``."""
    text = encode(value, root)
    return decode(text), text


def object_text(members: dict[str, str]) -> str:
    """The stored text of an object whose member values are given as their stored texts
    (none is encoded again), in the order given."""
    return "{" + ",".join([_member_prefix(key) + part for key, part in members.items()]) + "}"


@functools.lru_cache(maxsize=256)
def _member_prefix(key: str) -> str:
    # Cached: the engine's payloads repeat a few keys ("output", "state_version"...).
    return _WRITER.encode(key) + ":"


def _plain(value: Any, depth: int) -> bool:
    """Whether ``value`` holds only the exact JSON types, string keys, integers within
    ±2^53 and finite floats, nested at most ``MAX_DEPTH`` deep (then orjson writes it as
    ``_WRITER`` would, the same value read back); ``depth``: the containers around it."""
    kind = type(value)
    if kind in _LEAVES:
        return True
    if kind is int:
        return bool(-MAX_SAFE_INT <= value <= MAX_SAFE_INT)
    if kind is float:
        return math.isfinite(value)
    depth += 1
    if depth > MAX_DEPTH:
        return False
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _LEAVES and not _plain(item, depth)):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:  # noqa: SIM110  (a plain loop: all() is slower on short lists)
            if type(item) not in _LEAVES and not _plain(item, depth):
                return False
        return True
    return False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _wide_int(literal: str) -> int | float:
    """An integer literal: beyond ±2^53 it is the double it denotes (RFC 8785 writes such
    doubles as integers)."""
    number = int(literal)
    if -MAX_SAFE_INT <= number <= MAX_SAFE_INT:
        return number
    double = float(literal)
    if not math.isfinite(double):
        raise ValueError(f"integer literal of {len(literal)} digits is beyond any double")
    return double


_READER = json.JSONDecoder(parse_constant=_refuse_constant)
_WIDE_READER = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_wide_int)
