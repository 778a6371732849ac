"""The state document's texts kept member by member: each top-level member's stored text
(``values.encode``) and RFC 8785 text, in the document's order. A step whose output
replaces one top-level member re-encodes only that member; the whole texts (the stored
document and the one its SHA-256 is taken of) are joined from the members, never made by
walking the whole document again. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledgerflow.ledger import canonical, values


@dataclass(frozen=True, slots=True)
class StateTexts:
    stored: dict[str, str]  # member -> its stored text, in the document's order
    hashed: dict[str, str]  # member -> its RFC 8785 text

    @classmethod
    def of(cls, state: dict[str, Any]) -> StateTexts:
        """The texts of a state document (each member encoded once)."""
        return cls({k: values.encode(v, f"state.{k}") for k, v in state.items()},
                   {k: canonical.canonical_text(v) for k, v in state.items()})

    def with_member(self, key: str, stored: str, hashed: str) -> StateTexts:
        """The texts once member ``key`` is the value of these texts (it keeps its place,
        or comes last when new, as a ``dict`` does)."""
        return StateTexts({**self.stored, key: stored}, {**self.hashed, key: hashed})

    def stored_text(self) -> str:
        return values.object_text(self.stored)

    def canonical_text(self) -> str:
        return canonical.object_text(self.hashed)
