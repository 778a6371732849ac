"""Retention: remove finished executions older than a cutoff, keeping a tombstone of each.

A tombstone keeps what proves the removed chain existed and how it ended: the execution id,
workflow and version, final status, the last ledger seq and head hash, when it was created
and finished, and when and by whom it was removed. Only finished executions (completed,
failed, cancelled, expired) are ever removed; pending, running, waiting and paused ones are
kept whatever their age. The store removes each execution whole, in one transaction with
its tombstone, and leaves alone one that changed after it was read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ledgerflow import errors
from ledgerflow.engine.reports.tombstone import Tombstone
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import Store
from ledgerflow.storage.rows import ExecutionRow, TombstoneRow

DEFAULT_BATCH = 500
_EARLIEST = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class CleanupReport:
    """What one cleanup found and did.

    ``candidates`` are the tombstones of every eligible execution found; ``removed`` the
    ids the store removed (none in a dry run); ``skipped`` the candidates it left alone
    because they changed after they were read.
    """

    cutoff: str
    dry_run: bool
    candidates: tuple[Tombstone, ...]
    removed: tuple[str, ...]
    skipped: tuple[str, ...]

    @property
    def tombstones(self) -> list[Tombstone]:
        """The tombstones of what was removed — in a dry run, of what would be."""
        if self.dry_run:
            return list(self.candidates)
        gone = set(self.removed)
        return [t for t in self.candidates if t.execution_id in gone]

    def to_dict(self) -> dict[str, Any]:
        stones = self.tombstones
        return {"dry_run": self.dry_run, "cutoff": self.cutoff,
                "removed": [summary(t) for t in stones], "count": len(stones),
                "skipped": list(self.skipped)}


def ended_at(row: ExecutionRow) -> str:
    """When an execution ended: ``finished_at``, else its last update (an expired session)."""
    return row.finished_at or row.updated_at


def cutoff_time(now: datetime, older_than_seconds: float) -> str:
    """Ledger time ``older_than_seconds`` before ``now``: executions that ended before it go.

    A span reaching before year 1 gives the earliest time, so nothing is old enough.
    """
    if not math.isfinite(older_than_seconds) or older_than_seconds < 0:
        raise errors.ConfigurationError(
            f"retention age must be a finite number of seconds >= 0, got {older_than_seconds!r}"
        )
    try:
        return format_timestamp(now - timedelta(seconds=older_than_seconds))
    except OverflowError:
        return format_timestamp(_EARLIEST)


def tombstone(row: ExecutionRow, *, removed_at: str, removed_by: str) -> TombstoneRow:
    """The tombstone that replaces a finished execution."""
    return TombstoneRow(
        execution_id=row.id, tenant_id=row.tenant_id, workflow=row.workflow,
        workflow_version=row.workflow_version, final_status=row.status,
        head_seq=row.head_seq, head_hash=row.head_hash, created_at=row.created_at,
        finished_at=row.finished_at, removed_at=removed_at, removed_by=removed_by,
    )


def summary(stone: Tombstone) -> dict[str, Any]:
    """The fields a cleanup report lists for each removed execution."""
    return {"execution_id": stone.execution_id, "workflow": stone.workflow,
            "final_status": stone.final_status, "head_seq": stone.head_seq,
            "head_hash": stone.head_hash, "finished_at": stone.finished_at}


def removed_error(store: Store, tenant: str, execution_id: str) -> errors.ExecutionRemoved | None:
    """``ExecutionRemoved`` for an id retention removed from this tenant, else None."""
    row = store.load_tombstone(tenant, execution_id)
    if row is None:
        return None
    stone = Tombstone.from_row(row)
    return errors.ExecutionRemoved(stone.describe(), tombstone=stone)


def cleanup(store: Store, tenant: str, older_than_seconds: float, now: datetime,
            actor_id: str, dry_run: bool, batch: int = DEFAULT_BATCH) -> CleanupReport:
    """Remove ``tenant``'s finished executions that ended before ``now - older_than``.

    Reads them oldest first, ``batch`` at a time; each batch is one ``remove_executions``
    call (one transaction). A dry run reads the same pages and removes nothing.
    """
    if batch < 1:
        raise errors.ConfigurationError(f"cleanup batch must be >= 1, got {batch}")
    cutoff = cutoff_time(now, older_than_seconds)
    removed_at = format_timestamp(now)
    candidates: list[Tombstone] = []
    removed: list[str] = []
    skipped: list[str] = []
    after: tuple[str, str] | None = None
    while True:
        rows = store.finished_before(tenant, cutoff, batch, after=after)
        if not rows:
            break
        stones = [tombstone(r, removed_at=removed_at, removed_by=actor_id) for r in rows]
        candidates.extend(Tombstone.from_row(s) for s in stones)
        if not dry_run:
            done = store.remove_executions(stones)
            removed.extend(done)
            gone = set(done)
            skipped.extend(s.execution_id for s in stones if s.execution_id not in gone)
        after = (ended_at(rows[-1]), rows[-1].id)
        if len(rows) < batch:
            break
    return CleanupReport(cutoff=cutoff, dry_run=dry_run, candidates=tuple(candidates),
                         removed=tuple(removed), skipped=tuple(skipped))
