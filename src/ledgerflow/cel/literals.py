"""Literal tokens to values: strings and bytes with every quoting form and escape, numbers
with their range checks."""

from __future__ import annotations

import re

from ledgerflow.cel.errors import syntax_error
from ledgerflow.cel.values import INT_MAX, INT_MIN, UINT_MAX, Uint

_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "?": 63,
           '"': 34, "'": 39, "`": 96}
_ESCAPE = re.compile(r"\\(?:([abfnrtv\\?\"'`])|[xX]([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})"
                     r"|U([0-9a-fA-F]{8})|([0-3][0-7]{2})|(.|\Z))", re.S)


def quoted(text: str) -> str | bytes:
    """The value of a string or bytes literal token (prefixes ``r``/``R``, ``b``/``B``)."""
    prefix = len(text) - len(text.lstrip("rRbB"))
    flags = text[:prefix].lower()
    body = text[prefix:]
    quote = body[:3] if body[:3] in ("'''", '"""') else body[:1]
    body = body[len(quote) : len(body) - len(quote)]
    if "b" in flags:
        return body.encode() if "r" in flags else _unescape_bytes(body)
    return body if "r" in flags else _unescape_text(body)


def _unescape_text(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        return chr(_code(match, text=True))

    return _ESCAPE.sub(one, body) if "\\" in body else body


def _unescape_bytes(body: str) -> bytes:
    out = bytearray()
    position = 0
    for match in _ESCAPE.finditer(body):
        out += body[position : match.start()].encode()
        code = _code(match, text=False)
        out += bytes([code]) if match[2] or match[5] or match[1] else chr(code).encode()
        position = match.end()
    out += body[position:].encode()
    return bytes(out)


def _code(match: re.Match[str], *, text: bool) -> int:
    simple, hex2, hex4, hex8, octal, bad = match.groups()
    if bad is not None:
        raise syntax_error(f"invalid escape sequence '\\{bad}' in a string literal")
    if simple:
        return _SIMPLE[simple]
    if octal:
        return int(octal, 8)
    code = int(hex2 or hex4 or hex8, 16)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise syntax_error(f"invalid code point \\u{code:x} in a string literal")
    if not text and (hex4 or hex8):
        raise syntax_error("\\u and \\U escapes are not allowed in bytes literals")
    return code


def integer(text: str) -> int:
    """An int literal (decimal or ``0x`` hex); its range is checked once negation is known."""
    return int(text[2:], 16) if text[:2].lower() == "0x" else int(text)


def check_integer(value: int) -> int:
    if not INT_MIN <= value <= INT_MAX:
        raise syntax_error(f"int literal {value} is outside the int64 range")
    return value


def unsigned(text: str) -> Uint:
    digits = text[:-1]
    value = int(digits[2:], 16) if digits[:2].lower() == "0x" else int(digits)
    if value > UINT_MAX:
        raise syntax_error(f"uint literal {text} is outside the uint64 range")
    return Uint(value)
