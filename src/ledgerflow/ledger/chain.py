"""The hash chain: ledger entry bodies (DESIGN.md section 6) and how entries link.

Each entry body is a JSON object with exactly the fields in ``BODY_FIELDS``::

    entry_hash = sha256(DOMAIN_PREFIX + canonical_json(body))     # lowercase hex

``body.prev_hash`` is the previous entry's ``entry_hash`` (``GENESIS_HASH`` for seq 1), so
changing, removing or reordering any entry breaks every later link. The payload (input,
output, error, patch...) is stored beside the body and only its SHA-256 is hashed, so it can
be erased later without breaking the chain.

``build_body`` is the readable definition of a body. ``append`` renders the same canonical
bytes directly, with the header fields encoded once per header; a property test checks the
two agree byte for byte. It builds each entry straight into the caller's row type (any
``RowMaker``: storage passes its ``LedgerRow``), so no entry is copied on its way to the
database; ``LedgerEntry`` is the row of callers that have none.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar, overload

from ledgerflow import errors
from ledgerflow.ledger import canonical, values
from ledgerflow.ledger.actor import Actor  # in __all__: the chain's users find it here

__all__ = [
    "BODY_FIELDS",
    "BODY_VERSION",
    "DOMAIN_PREFIX",
    "GENESIS_HASH",
    "Actor",
    "ChainHeader",
    "EventSpec",
    "LedgerEntry",
    "RowMaker",
    "append",
    "build_body",
    "entry_hash",
]

GENESIS_HASH = "0" * 64
DOMAIN_PREFIX = b"ledgerflow/audit-entry/v1\n"
BODY_VERSION = 1
_MAX_SAFE_INT = 2**53 - 1
_HEX64 = re.compile(r"[0-9a-f]{64}")
BODY_FIELDS = frozenset(
    {
        "v",
        "tenant_id",
        "execution_id",
        "workflow_id",
        "workflow_version",
        "definition_sha256",
        "seq",
        "event_type",
        "from_state",
        "to_state",
        "step_id",
        "attempt",
        "actor",
        "occurred_at",
        "payload_sha256",
        "prev_hash",
    }
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ChainHeader:
    """The body fields that stay constant for one execution."""

    tenant_id: str
    execution_id: str
    workflow_id: str
    workflow_version: int
    definition_sha256: str


@dataclass(frozen=True, kw_only=True, slots=True)
class EventSpec:
    """An event the engine wants recorded, before it is given a place in the chain.

    ``payload`` is any storable value; ``None`` is recorded as ``null``. It is stored as
    ``values.encode`` writes it and hashed in its RFC 8785 form. ``payload_text`` (exactly
    ``values.encode(payload)``) and ``payload_canonical`` (exactly
    ``canonical_json(payload)``) are those texts when the caller already has them: they
    are then used as given, never encoded again.
    """

    event_type: str
    from_state: str | None = None
    to_state: str | None = None
    step_id: str | None = None
    attempt: int | None = None
    actor: Actor
    payload: Any = None
    payload_text: str | None = None
    payload_canonical: str | None = None


R = TypeVar("R", covariant=True)


class RowMaker(Protocol[R]):
    """Builds one ledger row from its columns (a row class is one).

    ``body`` is the canonical body text: exactly the bytes that were hashed, after the
    domain prefix. ``payload`` is the payload's stored text (``"null"`` for no payload);
    the SHA-256 of its RFC 8785 form is the body's ``payload_sha256``.
    """

    def __call__(self, *, execution_id: str, seq: int, event_type: str, step_id: str | None,
                 occurred_at: str, prev_hash: str, entry_hash: str, body: str,
                 payload: str | None) -> R: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class LedgerEntry:
    """One ledger row, for callers without a row type of their own (the columns of
    ``RowMaker``)."""

    execution_id: str
    seq: int
    event_type: str
    step_id: str | None
    occurred_at: str
    prev_hash: str
    entry_hash: str
    body: str
    payload: str | None

    @property
    def payload_sha256(self) -> str:
        """The SHA-256 of the canonical payload, as the body records it."""
        found: str = json.loads(self.body)["payload_sha256"]
        return found


def entry_hash(body: bytes) -> str:
    """Return ``sha256(DOMAIN_PREFIX + body)`` as lowercase hex; ``body`` is canonical JSON."""
    return hashlib.sha256(DOMAIN_PREFIX + body).hexdigest()


def build_body(
    header: ChainHeader,
    *,
    seq: int,
    prev_hash: str,
    event: EventSpec,
    occurred_at: str,
    payload_sha256: str,
) -> dict[str, Any]:
    """Return the body of one entry as a dict with exactly ``BODY_FIELDS``.

    ``occurred_at`` is already formatted (``canonical.format_timestamp``). Hash it with
    ``entry_hash(canonical.canonical_json(body))``.
    """
    return {
        "v": BODY_VERSION,
        "tenant_id": header.tenant_id,
        "execution_id": header.execution_id,
        "workflow_id": header.workflow_id,
        "workflow_version": header.workflow_version,
        "definition_sha256": header.definition_sha256,
        "seq": seq,
        "event_type": event.event_type,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "step_id": event.step_id,
        "attempt": event.attempt,
        "actor": {"kind": event.actor.kind, "id": event.actor.id},
        "occurred_at": occurred_at,
        "payload_sha256": payload_sha256,
        "prev_hash": prev_hash,
    }


@overload
def append(header: ChainHeader, head_seq: int, head_hash: str, events: Sequence[EventSpec],
           occurred_at: datetime) -> list[LedgerEntry]: ...


@overload
def append(header: ChainHeader, head_seq: int, head_hash: str, events: Sequence[EventSpec],
           occurred_at: datetime, row: RowMaker[R]) -> list[R]: ...


def append(header: ChainHeader, head_seq: int, head_hash: str, events: Sequence[EventSpec],
           occurred_at: datetime, row: RowMaker[Any] = LedgerEntry) -> list[Any]:
    """Chain ``events`` after the current head and return the rows to write, in order,
    each built by ``row`` (``LedgerEntry`` by default).

    The head is ``(0, GENESIS_HASH)`` for a new execution, else the last entry's seq and
    hash. All events share ``occurred_at`` (one transaction). Pure: the caller stores the
    rows and moves the execution head to the last one. Raises ``errors.LedgerError`` for an
    inconsistent head or a value that has no canonical JSON form.
    """
    _check_head(head_seq, head_hash)
    when = canonical.format_timestamp(occurred_at)
    fixed = _header_text(header)
    rows: list[Any] = []
    seq, prev = head_seq, head_hash
    for event in events:
        seq += 1
        body, payload = _render_entry(fixed, seq, prev, event, when)
        digest = entry_hash(_utf8(body, event))
        rows.append(row(execution_id=header.execution_id, seq=seq, event_type=event.event_type,
                        step_id=event.step_id, occurred_at=when, prev_hash=prev,
                        entry_hash=digest, body=body, payload=payload))
        prev = digest
    return rows


def _check_head(head_seq: int, head_hash: str) -> None:
    if not _HEX64.fullmatch(head_hash):
        raise errors.LedgerError(
            f"ledger head hash must be 64 lowercase hex characters, got {head_hash!r}"
        )
    if head_seq < 0:
        raise errors.LedgerError(f"ledger head seq must be 0 or more, got {head_seq}")
    if (head_seq == 0) != (head_hash == GENESIS_HASH):
        raise errors.LedgerError(
            f"inconsistent ledger head: seq {head_seq} with hash {head_hash}; "
            "a new execution starts at seq 0 with GENESIS_HASH"
        )


def _render_entry(
    fixed: _HeaderText, seq: int, prev: str, event: EventSpec, when: str
) -> tuple[str, str]:
    """The entry's body text and the payload's stored text (each encoded here unless
    given)."""
    payload = event.payload_text
    if payload is None:
        payload = values.encode(event.payload, "payload")
    if event.payload_canonical is None:
        payload_bytes = canonical.canonical_json(event.payload)
    else:
        payload_bytes = event.payload_canonical.encode("utf-8")
    body = _render_body(fixed, seq, prev, event, when, canonical.sha256_hex(payload_bytes))
    return body, payload


def _utf8(body: str, event: EventSpec) -> bytes:
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise errors.LedgerError(
            f"event {event.event_type!r} cannot be written to the ledger: a field holds a "
            "lone surrogate, which has no UTF-8 form"
        ) from exc


@dataclass(frozen=True, slots=True)
class _HeaderText:
    """The header fields, each already encoded as canonical JSON text."""

    tenant_id: str
    execution_id: str
    workflow_id: str
    workflow_version: str
    definition_sha256: str


@functools.lru_cache(maxsize=1024)
def _header_text(header: ChainHeader) -> _HeaderText:
    # Cached: an execution appends with the same header at every step.
    return _HeaderText(
        tenant_id=_json(header.tenant_id),
        execution_id=_json(header.execution_id),
        workflow_id=_json(header.workflow_id),
        workflow_version=_json(header.workflow_version),
        definition_sha256=_json(header.definition_sha256),
    )


def _render_body(
    fixed: _HeaderText, seq: int, prev: str, event: EventSpec, when: str, payload_sha: str
) -> str:
    """Return ``canonical_json(build_body(...))`` as text, built directly.

    An object's canonical form is its members in key order, each value in canonical form;
    the keys below are ASCII and written in sorted order. ``prev``, ``payload_sha`` and
    ``when`` are hex digests and a formatted timestamp (checked or made here), which are
    their own JSON string bodies.
    """
    actor = event.actor
    return (
        f'{{"actor":{{"id":{_json(actor.id)},"kind":{_json(actor.kind)}}}'
        f',"attempt":{_json(event.attempt)}'
        f',"definition_sha256":{fixed.definition_sha256}'
        f',"event_type":{_json(event.event_type)}'
        f',"execution_id":{fixed.execution_id}'
        f',"from_state":{_json(event.from_state)}'
        f',"occurred_at":"{when}"'
        f',"payload_sha256":"{payload_sha}"'
        f',"prev_hash":"{prev}"'
        f',"seq":{_json(seq)}'
        f',"step_id":{_json(event.step_id)}'
        f',"tenant_id":{fixed.tenant_id}'
        f',"to_state":{_json(event.to_state)}'
        f',"v":{BODY_VERSION}'
        f',"workflow_id":{fixed.workflow_id}'
        f',"workflow_version":{fixed.workflow_version}}}'
    )


# Cached: bodies repeat a few strings (event types, statuses, step ids, actors).
_string_text = functools.lru_cache(maxsize=4096)(canonical.encode_string)


def _json(value: object) -> str:
    """Canonical JSON text of one body value; scalars of the usual types skip the walk.

    A string enum (event types, statuses) is written as its text, as RFC 8785 writes
    every ``str`` subclass. A lone surrogate passes through here and is refused when the
    body is encoded.
    """
    if isinstance(value, str):
        return _string_text(value)
    if value is None:
        return "null"
    if type(value) is int and -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
        return str(value)
    return canonical.canonical_json(value).decode("utf-8")
