"""``Listing``: which of a tenant's executions a list or a count takes (the filters of the
API and the CLI), checked and turned into the store's filter; times in any RFC 3339 form
become the stored form (UTC, microseconds, ``Z``) so that they compare as stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ledgerflow import errors
from ledgerflow.engine.model.lifecycle import ExecutionStatus
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import ExecutionFilter

STATUSES = tuple(str(s) for s in ExecutionStatus)


def stored_time(given: str, name: str) -> str:
    """An RFC 3339 time (no zone: UTC) as stored; ``errors.InvalidValue`` naming ``name``."""
    try:
        moment = datetime.fromisoformat(given.strip().replace("z", "Z"))
    except ValueError:
        raise errors.InvalidValue(f"{name} {given!r} is not an RFC 3339 time such as "
                                  "2026-12-05T10:00:00Z") from None
    return format_timestamp(moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC))


def statuses(given: str | None) -> tuple[str, ...]:
    """Comma-separated statuses, each checked; ``errors.InvalidValue`` names unknown ones."""
    wanted = tuple(p.strip() for p in (given or "").split(",") if p.strip())
    unknown = [w for w in wanted if w not in STATUSES]
    if unknown:
        raise errors.InvalidValue(f"status {', '.join(unknown)} is not one of "
                                  f"{', '.join(STATUSES)}")
    return wanted


@dataclass(frozen=True, kw_only=True, slots=True)
class Listing:
    """Each given criterion must hold (``statuses``: any of them). ``after`` is a page's
    cursor: the (created_at, id) of the last execution of the page before."""

    statuses: tuple[str, ...] = ()
    workflow: str | None = None
    created_after: str | None = None  # stored form (``stored_time``)
    created_before: str | None = None
    id_prefix: str | None = None
    after: tuple[str, str] | None = None
    oldest_first: bool = False
    limit: int = 50

    def of_tenant(self, tenant_id: str) -> ExecutionFilter:
        return ExecutionFilter(
            tenant_id=tenant_id, statuses=self.statuses, workflow=self.workflow,
            created_after=self.created_after, created_before=self.created_before,
            id_prefix=self.id_prefix, after=self.after, oldest_first=self.oldest_first,
            limit=self.limit)
