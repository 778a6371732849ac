"""State versions stored as changes, with a full snapshot now and then (pure: no I/O).

Every state version keeps the SHA-256 of its FULL document (the hash its ledger entry
recorded); what is stored for its text is one of two kinds:

- ``FULL``: the document's stored text (``values.encode``). Version 1 is always one, and so
  is every ``SNAPSHOT_EVERY``-th version after it (1, 17, 33, ...), a version whose document
  or previous document is not an object, and a version that keeps no member of the previous
  document as it was (an operator's edit, which rebuilds the whole document) or that moves
  a kept member;
- ``PATCH``: the change from the previous version's document, an object
  ``{"set": {member: value, ...}, "delete": [member, ...]}`` (either part left out when
  empty) over the document's top-level members. ``delete`` removes members; ``set`` replaces
  a member where it stands or adds it at the end, in the order given. That is how a step's
  ``output`` changes the state: a copy of the document with one top-level member replaced
  or added.

``stored`` decides which kind is written and only writes a patch that rebuilds the new
document exactly (same members in the same order, the values of the members it does not
name being the very objects of the previous document). ``documents`` rebuilds the document of
every version from a snapshot on: every reader of a state version (the state of a version,
a fork, verification) goes through it. Rows written before patches existed are all ``FULL``.
Versions are removed only with their whole execution (retention), never one by one, so no
snapshot a later patch needs goes before that patch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from ledgerflow.ledger import values

__all__ = ["FULL", "PATCH", "SNAPSHOT_EVERY", "StoredVersionText", "documents", "is_snapshot",
           "latest_text", "stored"]

FULL = "full"
PATCH = "patch"
SNAPSHOT_EVERY = 16  # versions 1, 17, 33, ... are written whole
_ABSENT = object()


class StoredVersionText(Protocol):
    """What a state version row stores for its document."""

    @property
    def version(self) -> int: ...
    @property
    def kind(self) -> str: ...  # FULL or PATCH
    @property
    def state(self) -> str: ...  # the document's text, or the patch's


def is_snapshot(version: int) -> bool:
    """Whether ``version`` is written whole whatever changed."""
    return (version - 1) % SNAPSHOT_EVERY == 0


def stored(version: int, before: Any, after: Any, after_text: str,
           member_texts: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(kind, text) to store for ``version``, whose document ``after`` (stored text
    ``after_text``) follows ``before``, the previous version's document as read back from
    its stored text. ``member_texts``: the stored text of each member of ``after``, when
    known (else a changed member is encoded here)."""
    if is_snapshot(version) or type(before) is not dict or type(after) is not dict:
        return FULL, after_text
    kept = [k for k in before if k in after]
    if list(after) != kept + [k for k in after if k not in before]:
        return FULL, after_text  # a kept member moved: a patch would put it elsewhere
    texts = member_texts if member_texts is not None else {}
    changed = {k: texts.get(k) or values.encode(v, f"state.{k}") for k, v in after.items()
               if before.get(k, _ABSENT) is not v}
    if len(changed) == len(after):
        return FULL, after_text  # nothing kept as it was: the whole document is new
    parts: dict[str, str] = {}
    if changed:
        parts["set"] = values.object_text(changed)
    deleted = [k for k in before if k not in after]
    if deleted:
        parts["delete"] = values.encode(deleted)
    text = values.object_text(parts)
    return (PATCH, text) if len(text) < len(after_text) else (FULL, after_text)


def documents(rows: Iterable[StoredVersionText]) -> Iterator[Any]:
    """The document of each row in turn. ``rows``: consecutive versions in order, the first
    a ``FULL`` one. Raises ``ValueError`` at the first row whose document cannot be read or
    rebuilt (text that is not JSON, a patch that is not one, a patch with no version before
    it)."""
    document: Any = _ABSENT
    previous = 0
    for row in rows:
        if row.kind == FULL:
            document = values.decode(row.state)
        elif row.kind == PATCH:
            if document is _ABSENT or row.version != previous + 1:
                raise ValueError(f"it is a patch of version {row.version - 1}, which is not "
                                 "stored")
            document = _applied(document, values.decode(row.state))
        else:
            raise ValueError(f"unknown kind {row.kind!r} (expected {FULL!r} or {PATCH!r})")
        previous = row.version
        yield document


def latest_text(rows: Sequence[StoredVersionText]) -> str:
    """The stored text of the last row's document (``rows`` as for ``documents``): a
    ``FULL`` row's text as it is, a patched document encoded. Raises like ``documents``."""
    if rows[-1].kind == FULL:
        return rows[-1].state
    *_, document = documents(rows)
    return values.encode(document, "state")


def _applied(document: Any, patch: Any) -> dict[str, Any]:
    if type(document) is not dict:
        raise ValueError("it patches a document that is not an object")
    if type(patch) is not dict or not set(patch) <= {"set", "delete"}:
        raise ValueError('a patch is an object of "set" and "delete"')
    members = patch.get("set", {})
    deleted = patch.get("delete", [])
    if type(members) is not dict or type(deleted) is not list:
        raise ValueError('a patch\'s "set" is an object and its "delete" a list')
    new = dict(document)
    for key in deleted:
        if type(key) is not str or key not in new:
            raise ValueError(f"it deletes {key!r}, which the document does not hold")
        del new[key]
    new.update(members)
    return new
