"""Verify one execution's ledger against its head and state document (pure: no I/O).

Storage reads the rows and the execution head and hands them over as they are: any row with
the fields of ``StoredEntry`` and ``StoredVersion`` will do (storage's own rows have them).
``verify_execution`` checks them in a fixed order and stops at the first problem. Per row,
in seq order:

1. the body parses as a JSON object with exactly the v1 fields, and its canonical form is
   the stored text (``MALFORMED``);
2. the recomputed entry hash equals the stored one (``HASH_MISMATCH``);
3. the body seq equals the row's seq column and the previous seq + 1, from 1 (``GAP``);
4. the body's prev_hash equals the previous entry hash (``GENESIS_HASH`` for seq 1) and the
   row's prev_hash column (``BROKEN_LINK``);
5. the body names the head's execution and tenant (``WRONG_EXECUTION``);
6. the row's event_type and step_id columns equal the body's (``MALFORMED``);
7. a stored payload reads back (``values.decode``) as a value whose RFC 8785 form hashes
   to the body's payload_sha256 (``PAYLOAD_MISMATCH``); an erased payload (``None``) is
   allowed.

Then: rows exist (``EMPTY``), the last entry is the execution head (``TRUNCATED``), the
state document hashes to the head's state_sha256 (``STATE_DRIFT``), and every stored state
version hashes to its sha256 column, which is the hash its ledger entry recorded (a step's
``state_sha256``, an edit's ``after_sha256``), the last one being the current state
(``STATE_VERSION_MISMATCH``). A version stored as a patch is rebuilt from the versions
before it (``state_patches.documents``) and its whole document hashed; one that cannot be
rebuilt is a mismatch too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from ledgerflow import errors
from ledgerflow.ledger import canonical, chain, state_patches, values

__all__ = ["ExecutionHead", "Problem", "StoredEntry", "StoredVersion", "VerifyResult",
           "verify_execution"]


class StoredEntry(Protocol):
    """One ledger row as read back from the database: the columns verification reads."""

    @property
    def seq(self) -> int: ...
    @property
    def event_type(self) -> str: ...
    @property
    def step_id(self) -> str | None: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def entry_hash(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def payload(self) -> str | None: ...  # None once erased


class StoredVersion(Protocol):
    """One stored state version: the document (whole or as a patch), its sha256 column,
    the entry that made it."""

    @property
    def version(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def kind(self) -> str: ...  # ``state_patches.FULL`` or ``PATCH``
    @property
    def state(self) -> str: ...  # the state's stored text (``values.encode``), or the patch's


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionHead:
    """What the execution row says the ledger ends with, and the state document's hash."""

    execution_id: str
    tenant_id: str
    head_seq: int
    head_hash: str
    state_sha256: str


class Problem(StrEnum):
    """The first thing found wrong with an execution's ledger."""

    HASH_MISMATCH = "hash_mismatch"
    GAP = "gap"
    BROKEN_LINK = "broken_link"
    TRUNCATED = "truncated"
    STATE_DRIFT = "state_drift"
    PAYLOAD_MISMATCH = "payload_mismatch"
    STATE_VERSION_MISMATCH = "state_version_mismatch"
    MALFORMED = "malformed"
    WRONG_EXECUTION = "wrong_execution"
    EMPTY = "empty"


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifyResult:
    """The outcome of ``verify_execution``.

    ``ok`` is True exactly when ``problem`` is None. ``entries`` is the number of rows
    handed in. ``seq`` is the first bad seq (None for ``EMPTY`` and ``STATE_DRIFT``);
    ``detail`` says what was found there.
    """

    execution_id: str
    ok: bool
    entries: int
    problem: Problem | None = None
    seq: int | None = None
    detail: str = ""

    @property
    def message(self) -> str:
        """One line for people: ``execution <id>: seq 4: hash mismatch (stored …, …)``."""
        where = f"execution {self.execution_id}"
        if self.ok:
            noun = "entry" if self.entries == 1 else "entries"
            return f"{where}: ok ({self.entries} {noun} verified)"
        if self.seq is None:
            return f"{where}: {self.detail}"
        return f"{where}: seq {self.seq}: {self.detail}"


def verify_execution(
    head: ExecutionHead, entries: Sequence[StoredEntry], state_document: Any,
    versions: Sequence[StoredVersion] = (),
) -> VerifyResult:
    """Check ``entries`` (sorted by their seq column) against ``head`` and the state document.

    Returns ``ok=True`` or the first problem found, in the order of the module docstring.
    Never raises for bad data: every defect becomes a ``Problem``.
    """
    finding = (_check_chain(head, entries) or _check_state(head, state_document)
               or _check_versions(head, entries, versions))
    if finding is None:
        return VerifyResult(execution_id=head.execution_id, ok=True, entries=len(entries))
    return VerifyResult(
        execution_id=head.execution_id,
        ok=False,
        entries=len(entries),
        problem=finding.problem,
        seq=finding.seq,
        detail=finding.detail,
    )


@dataclass(frozen=True, slots=True)
class _Finding:
    problem: Problem
    seq: int | None
    detail: str


def _check_chain(head: ExecutionHead, entries: Sequence[StoredEntry]) -> _Finding | None:
    if not entries:
        return _Finding(Problem.EMPTY, None, "ledger has no entries")
    prev_seq, prev_hash = 0, chain.GENESIS_HASH
    for row in entries:
        finding = _check_row(head, row, prev_seq, prev_hash)
        if finding is not None:
            return finding
        prev_seq, prev_hash = row.seq, row.entry_hash
    return _check_head(head, prev_seq, prev_hash)


def _check_row(
    head: ExecutionHead, row: StoredEntry, prev_seq: int, prev_hash: str
) -> _Finding | None:
    body = _parse_body(row.body)
    if isinstance(body, str):
        return _Finding(Problem.MALFORMED, row.seq, body)
    return (
        _check_hash(row)
        or _check_seq(row, body, prev_seq)
        or _check_link(row, body, prev_hash)
        or _check_owner(head, row, body)
        or _check_columns(row, body)
        or _check_payload(row, body)
    )


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "seq": (int,),
    "tenant_id": (str,),
    "execution_id": (str,),
    "event_type": (str,),
    "step_id": (str, type(None)),
    "payload_sha256": (str,),
    "prev_hash": (str,),
}


def _parse_body(text: str) -> dict[str, Any] | str:
    """Return the body as a dict, or a sentence saying why it is malformed."""
    try:
        body = json.loads(text, parse_constant=_refuse_constant)
        is_canonical = canonical.canonical_json(body) == text.encode("utf-8")
    except (ValueError, errors.LedgerError) as exc:
        return f"body is not valid canonical JSON ({exc})"
    if not isinstance(body, dict):
        return f"body is a JSON {type(body).__name__}, not an object"
    if not is_canonical:
        return "body text is not in canonical form"
    return _check_shape(body) or body


def _check_shape(body: dict[str, Any]) -> str | None:
    if body.keys() != chain.BODY_FIELDS:
        missing = sorted(chain.BODY_FIELDS - body.keys())
        extra = sorted(body.keys() - chain.BODY_FIELDS)
        return f"body fields differ from v1 (missing {missing}, unexpected {extra})"
    if body["v"] != chain.BODY_VERSION or type(body["v"]) is not int:
        return f"body version {body['v']!r} is not supported (expected {chain.BODY_VERSION})"
    for name, types in _FIELD_TYPES.items():
        value = body[name]
        if type(value) not in types:
            return f"body field {name} has the wrong type ({type(value).__name__})"
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_hash(row: StoredEntry) -> _Finding | None:
    computed = chain.entry_hash(row.body.encode("utf-8"))
    if computed == row.entry_hash:
        return None
    detail = f"hash mismatch (stored {_short(row.entry_hash)}, computed {_short(computed)})"
    return _Finding(Problem.HASH_MISMATCH, row.seq, detail)


def _check_seq(row: StoredEntry, body: dict[str, Any], prev_seq: int) -> _Finding | None:
    expected = prev_seq + 1
    if row.seq != expected:
        after = f"after seq {prev_seq}" if prev_seq else "first"
        detail = f"gap: expected seq {expected} {after}, found seq {row.seq}"
        return _Finding(Problem.GAP, expected, detail)
    if body["seq"] != row.seq:
        detail = f"gap: the row's seq column says {row.seq} but its body says {body['seq']}"
        return _Finding(Problem.GAP, row.seq, detail)
    return None


def _check_link(row: StoredEntry, body: dict[str, Any], prev_hash: str) -> _Finding | None:
    if body["prev_hash"] != prev_hash:
        detail = (
            f"broken link: body prev_hash {_short(body['prev_hash'])} but the previous "
            f"entry hash is {_short(prev_hash)}"
        )
        return _Finding(Problem.BROKEN_LINK, row.seq, detail)
    if row.prev_hash != prev_hash:
        detail = (
            f"broken link: prev_hash column {_short(row.prev_hash)} but the previous "
            f"entry hash is {_short(prev_hash)}"
        )
        return _Finding(Problem.BROKEN_LINK, row.seq, detail)
    return None


def _check_owner(head: ExecutionHead, row: StoredEntry, body: dict[str, Any]) -> _Finding | None:
    owner = (body["execution_id"], body["tenant_id"])
    if owner == (head.execution_id, head.tenant_id):
        return None
    detail = (
        f"entry belongs to execution {owner[0]} of tenant {owner[1]}, "
        f"not execution {head.execution_id} of tenant {head.tenant_id}"
    )
    return _Finding(Problem.WRONG_EXECUTION, row.seq, detail)


def _check_columns(row: StoredEntry, body: dict[str, Any]) -> _Finding | None:
    for name, column in (("event_type", row.event_type), ("step_id", row.step_id)):
        if body[name] != column:
            detail = f"the row's {name} column says {column!r} but its body says {body[name]!r}"
            return _Finding(Problem.MALFORMED, row.seq, detail)
    return None


def _check_payload(row: StoredEntry, body: dict[str, Any]) -> _Finding | None:
    if row.payload is None:
        return None  # erased: the chain stays valid without it
    try:  # the stored text keeps types and key order; the hash is of its RFC 8785 form
        computed = canonical.payload_sha256(values.decode(row.payload))
    except (ValueError, errors.LedgerError) as exc:
        return _Finding(Problem.PAYLOAD_MISMATCH, row.seq,
                        f"payload text is not a JSON value the ledger can hold ({exc})")
    if computed != body["payload_sha256"]:
        detail = (
            f"payload mismatch (body says {_short(body['payload_sha256'])}, "
            f"stored payload hashes to {_short(computed)})"
        )
        return _Finding(Problem.PAYLOAD_MISMATCH, row.seq, detail)
    return None


def _check_head(head: ExecutionHead, last_seq: int, last_hash: str) -> _Finding | None:
    if last_seq < head.head_seq:
        detail = f"ledger ends at seq {last_seq} but the execution head says seq {head.head_seq}"
        return _Finding(Problem.TRUNCATED, last_seq + 1, detail)
    if last_seq > head.head_seq:
        detail = (
            f"ledger continues to seq {last_seq} but the execution head says seq {head.head_seq}"
        )
        return _Finding(Problem.TRUNCATED, head.head_seq + 1, detail)
    if last_hash != head.head_hash:
        detail = (
            f"ledger ends with hash {_short(last_hash)} but the execution head says "
            f"{_short(head.head_hash)}"
        )
        return _Finding(Problem.TRUNCATED, last_seq, detail)
    return None


def _check_state(head: ExecutionHead, state_document: Any) -> _Finding | None:
    try:
        computed = canonical.payload_sha256(state_document)
    except errors.LedgerError as exc:
        return _Finding(Problem.STATE_DRIFT, None, f"state document cannot be hashed: {exc}")
    if computed == head.state_sha256:
        return None
    detail = (
        f"state document changed outside the engine: sha {_short(computed)} "
        f"expected {_short(head.state_sha256)}"
    )
    return _Finding(Problem.STATE_DRIFT, None, detail)


def _short(digest: str) -> str:
    return f"{digest[:12]}…" if len(digest) > 12 else digest


_STATE_HASH_KEYS = ("state_sha256", "after_sha256")  # what an entry says the state became


def _check_versions(head: ExecutionHead, entries: Sequence[StoredEntry],
                    versions: Sequence[StoredVersion]) -> _Finding | None:
    by_seq = {e.seq: e for e in entries}
    documents = state_patches.documents(versions)  # each version rebuilt, then hashed
    for v in versions:
        where = f"state version {v.version}"
        try:
            computed = canonical.payload_sha256(next(documents))
        except (ValueError, errors.LedgerError) as exc:
            return _Finding(Problem.STATE_VERSION_MISMATCH, v.seq, f"{where} unreadable: {exc}")
        if computed != v.sha256:
            return _Finding(Problem.STATE_VERSION_MISMATCH, v.seq,
                            f"{where} hashes to {_short(computed)}, stored {_short(v.sha256)}")
        entry = by_seq.get(v.seq)
        if entry is None:
            return _Finding(Problem.STATE_VERSION_MISMATCH, v.seq,
                            f"{where} names ledger entry {v.seq}, which does not exist")
        recorded = _recorded_state_hash(entry)
        if recorded is not None and recorded != v.sha256:
            return _Finding(Problem.STATE_VERSION_MISMATCH, v.seq,
                            f"{where} is {_short(v.sha256)} but its ledger entry recorded "
                            f"{_short(recorded)}")
    if versions and versions[-1].sha256 != head.state_sha256:
        last = versions[-1]
        return _Finding(Problem.STATE_VERSION_MISMATCH, last.seq,
                        f"the latest state version {last.version} is not the current state")
    return None


def _recorded_state_hash(entry: StoredEntry) -> str | None:
    if entry.payload is None:
        return None  # erased: nothing to compare with
    try:
        payload = values.decode(entry.payload)
    except ValueError:
        return None  # the chain check reports a broken payload
    if not isinstance(payload, dict):
        return None
    for key in _STATE_HASH_KEYS:
        found = payload.get(key)
        if isinstance(found, str):
            return found
    return None
