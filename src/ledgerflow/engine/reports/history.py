"""Ledger entries as a user reads them: parsed bodies, which state version each made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ledgerflow.storage.rows import LedgerRow, parse_column


@dataclass(frozen=True, kw_only=True, slots=True)
class HistoryEntry:
    seq: int
    event_type: str
    step_id: str | None
    from_state: str | None
    to_state: str | None
    attempt: int | None
    actor: dict[str, str]
    occurred_at: str
    entry_hash: str
    prev_hash: str
    payload: Any
    state_version: int | None  # the state version this entry made, if any

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def history_entries(entries: Sequence[LedgerRow], made: Mapping[int, int]) -> list[HistoryEntry]:
    """``made``: seq -> the state version that entry made."""
    out: list[HistoryEntry] = []
    for entry in entries:
        body = parse_column(entry.body, f"ledger entry {entry.seq}")
        if not isinstance(body, dict):
            body = {}
        out.append(HistoryEntry(
            seq=entry.seq,
            event_type=entry.event_type,
            step_id=entry.step_id,
            from_state=body.get("from_state"),
            to_state=body.get("to_state"),
            attempt=body.get("attempt"),
            actor=body.get("actor", {}),
            occurred_at=body.get("occurred_at", ""),
            entry_hash=entry.entry_hash,
            prev_hash=entry.prev_hash,
            payload=parse_column(entry.payload, f"payload of ledger entry {entry.seq}"),
            state_version=made.get(entry.seq),
        ))
    return out
