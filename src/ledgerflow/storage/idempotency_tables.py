"""Idempotency keys of the API: the same named queries on every backend, a mixin of the
stores (built on ``_read`` and ``_transaction``). A key is claimed by one request at a time;
its answer, once stored, is what a retry of that request gets until the row expires."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from ledgerflow import errors
from ledgerflow.storage.sql_mixin import SqlMixin
from ledgerflow.storage.sqlite_rows import build

IN_FLIGHT = "in_flight"
DONE = "done"
CLAIM_ATTEMPTS = 3  # a key released between a claim's insert and its read: claim again


@dataclass(frozen=True, kw_only=True, slots=True)
class IdempotencyRow:
    tenant_id: str
    key: str
    fingerprint: str  # SHA-256 of the request (method, path, body)
    state: str  # IN_FLIGHT or DONE
    created_at: str  # when it was claimed (identifies the claim)
    expires_at: str
    status: int | None = None  # the answer, once DONE
    body: str | None = None
    content_type: str | None = None
    headers: str | None = None  # JSON: the answer's kept headers (lower-case names)


class IdempotencyTables(SqlMixin):
    def claim_idempotency_key(self, tenant_id: str, key: str, fingerprint: str, *,
                              now: str, expires_at: str) -> tuple[IdempotencyRow, bool]:
        """Claim ``key`` for a request: insert an in-flight row, or replace one that expired
        at or before ``now``. ``(that row, True)`` when the caller claimed it; otherwise
        ``(the unexpired row holding the key, False)``."""
        claim = {"tenant_id": tenant_id, "key": key, "fingerprint": fingerprint,
                 "created_at": now, "expires_at": expires_at}
        for _ in range(CLAIM_ATTEMPTS):
            with self._transaction() as conn:
                claimed = conn.execute(self._q["claim_idempotency_key"], claim).rowcount == 1
                found = conn.execute(self._q["idempotency_key"], (tenant_id, key)).fetchall()
            if found:
                return build(IdempotencyRow, found[0]), claimed
        raise errors.StorageError(f"idempotency key {key!r} was released {CLAIM_ATTEMPTS} "
                                  "times while it was being claimed: try again")

    def finish_idempotency_key(self, tenant_id: str, key: str, *, claimed_at: str,
                               status: int, body: str, headers: Mapping[str, str],
                               expires_at: str) -> bool:
        """Store the answer of the claim made at ``claimed_at`` (it replays until
        ``expires_at``); False if that claim no longer holds the key."""
        with self._transaction() as conn:
            return bool(conn.execute(self._q["finish_idempotency_key"], {
                "tenant_id": tenant_id, "key": key, "claimed_at": claimed_at,
                "status": status, "body": body, "content_type": headers.get("content-type"),
                "headers": json.dumps(dict(headers), sort_keys=True),
                "expires_at": expires_at}).rowcount == 1)

    def release_idempotency_key(self, tenant_id: str, key: str, *, claimed_at: str) -> bool:
        """Forget the in-flight claim made at ``claimed_at`` (a retry may run); False if
        that claim no longer holds the key."""
        with self._transaction() as conn:
            return bool(conn.execute(self._q["release_idempotency_key"], {
                "tenant_id": tenant_id, "key": key, "claimed_at": claimed_at,
            }).rowcount == 1)

    def purge_idempotency_keys(self, now: str) -> int:
        """Delete every row (done or in flight) that expired at or before ``now``; returns
        how many."""
        with self._transaction() as conn:
            return int(conn.execute(self._q["purge_idempotency_keys"], {"now": now}).rowcount)
