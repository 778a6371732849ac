"""The format of an API token's secret: ``lf_KIND_BODY_CHECK``.

``KIND`` is ``api`` (viewer, operator, metrics), ``adm`` (admin) or ``sys`` (system);
``BODY`` is 32 random bytes in base62 (43 characters); ``CHECK`` the CRC-32 of everything
before it in base62 (6 characters), so a scanner can tell a real token from a typo, and a
leaked one is recognisable, without a lookup (GitHub's token design). Only the SHA-256 of
the secret is stored, with ``lookup`` (the body's first 12 characters) to find it by.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BODY_LENGTH = 43  # 62**43 > 2**256
CHECK_LENGTH = 6  # 62**6 > 2**32
LOOKUP_LENGTH = 12
KINDS = {"viewer": "api", "operator": "api", "metrics": "api", "admin": "adm",
         "system": "sys"}
_SHAPE = re.compile(r"lf_(api|adm|sys)_([0-9A-Za-z]{43})_([0-9A-Za-z]{6})")


def base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits)).rjust(width, "0")


def _check(text: str) -> str:
    return base62(zlib.crc32(text.encode("ascii")), CHECK_LENGTH)


@dataclass(frozen=True, slots=True)
class Secret:
    text: str
    kind: str
    lookup: str
    sha256: str


def new(role: str) -> Secret:
    """A fresh secret for a token of ``role``."""
    head = f"lf_{KINDS[role]}_{base62(int.from_bytes(secrets.token_bytes(32)), BODY_LENGTH)}"
    parsed = parse(f"{head}_{_check(head)}")
    assert parsed is not None
    return parsed


def parse(text: str) -> Secret | None:
    """The secret ``text`` names, or None if it is not shaped as one (wrong prefix, length,
    characters or check digits)."""
    found = _SHAPE.fullmatch(text)
    if found is None or not hmac.compare_digest(found[3], _check(text[:-CHECK_LENGTH - 1])):
        return None
    return Secret(text=text, kind=found[1], lookup=found[2][:LOOKUP_LENGTH],
                  sha256=digest(text))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def matches(secret: Secret, stored_sha256: str) -> bool:
    """Whether ``secret`` is the one stored as ``stored_sha256`` (constant time)."""
    return hmac.compare_digest(secret.sha256, stored_sha256)


LEAK = re.compile(r"lf_(?:api|adm|sys)_[0-9A-Za-z]{43}_[0-9A-Za-z]{6}")
"""What a token looks like in any text (logs, output): a test scans for it."""
