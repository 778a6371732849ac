"""Idempotency keys of the API's requests, kept in a store (``Store.claim_idempotency_key``
and the rest) on a ``Clock``: a tenant's key is claimed by one request at a time; the
answer it got is kept for ``KEPT_FOR`` and given to its retries; a claim whose request
never ended (its server stopped) frees its key after ``IN_FLIGHT_FOR``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from ledgerflow.clock import Clock
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import Store
from ledgerflow.storage.idempotency_tables import IN_FLIGHT, IdempotencyRow

__all__ = ["IN_FLIGHT", "IN_FLIGHT_FOR", "KEPT_FOR", "SYSTEM", "IdempotencyRow", "Keys"]

KEPT_FOR = timedelta(hours=24)  # an answer replays this long after it was given
IN_FLIGHT_FOR = timedelta(minutes=5)
SYSTEM = "(system)"  # the tenant of a system token's keys (no tenant id looks like this)


class Keys:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def claim(self, tenant: str, key: str, fingerprint: str) -> tuple[IdempotencyRow, bool]:
        """``(the new in-flight claim, True)``, or ``(the row holding the key, False)``."""
        now = self._clock.now()
        return self._store.claim_idempotency_key(
            tenant, key, fingerprint, now=format_timestamp(now),
            expires_at=format_timestamp(now + IN_FLIGHT_FOR))

    def finish(self, claim: IdempotencyRow, status: int, body: str,
               headers: Mapping[str, str]) -> bool:
        """Keep the answer to ``claim``'s request for ``KEPT_FOR`` from now; False if the
        claim lost its key meanwhile (it was in flight too long)."""
        return self._store.finish_idempotency_key(
            claim.tenant_id, claim.key, claimed_at=claim.created_at, status=status,
            body=body, headers=headers,
            expires_at=format_timestamp(self._clock.now() + KEPT_FOR))

    def release(self, claim: IdempotencyRow) -> bool:
        """Free ``claim``'s key: its request got no answer worth keeping."""
        return self._store.release_idempotency_key(claim.tenant_id, claim.key,
                                                   claimed_at=claim.created_at)

    def purge(self) -> int:
        """Delete the expired keys of every tenant; returns how many."""
        return self._store.purge_idempotency_keys(format_timestamp(self._clock.now()))
