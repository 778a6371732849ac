"""What the ``Idempotency-Key`` header means (IETF draft httpapi-idempotency-key-header),
without any I/O: a key's form, a request's fingerprint, which answers are kept, and what a
request finds when its key is taken already."""

from __future__ import annotations

import hashlib
from typing import Literal

from ledgerflow import errors
from ledgerflow.access.idempotency import IN_FLIGHT, IdempotencyRow

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"  # "true" on an answer given again
MAX_KEY = 255  # characters

Found = Literal["replay", "reused", "in_flight"]


def parse_key(value: str) -> str:
    """The key a header value gives: as sent, or the string inside double quotes (the
    draft's structured-field form). An empty or too long key is a 400."""
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key:
        raise errors.HttpProblem(400, "malformed", f"the {HEADER} header is empty: send a "
                                 "unique value per request, such as a UUID")
    if len(key) > MAX_KEY:
        raise errors.HttpProblem(400, "malformed", f"the {HEADER} header has {len(key)} "
                                 f"characters; at most {MAX_KEY} are allowed (a UUID is 36)")
    return key


def fingerprint(method: str, target: str, body: bytes) -> str:
    """SHA-256 of what makes a request this request: its method, path (with the query
    string, if any) and body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), target.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def kept(status: int) -> bool:
    """Whether an answer is kept for replays: 2xx and 4xx are; anything else (a 5xx, a
    503 while the database is away) frees the key, so a retry runs again."""
    return 200 <= status < 300 or 400 <= status < 500


def found(row: IdempotencyRow, fingerprint: str) -> Found:
    """What a request whose key ``row`` holds gets: the stored answer again, a refusal of
    the key for another request, or a wait for the original."""
    if row.fingerprint != fingerprint:
        return "reused"
    return "in_flight" if row.state == IN_FLIGHT else "replay"


def reused(key: str) -> errors.HttpProblem:
    return errors.HttpProblem(
        422, "idempotency-key-reused", f"{HEADER} {key!r} was used for another request "
        "(another method, path or body) in the last 24 hours: send a new key for a new "
        "request", key=key)


def in_flight(key: str) -> errors.HttpProblem:
    return errors.HttpProblem(
        409, "idempotency-in-flight", f"the request with {HEADER} {key!r} is still being "
        "answered: retry after a moment to get its answer", retryable=True,
        headers={"Retry-After": "1"}, key=key)
