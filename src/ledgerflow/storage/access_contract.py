"""The part of the storage contract (``base.Store``) that the server's access layer uses:
tenants, API tokens and the API's idempotency keys. Every backend implements it through
``access_tables`` and ``idempotency_tables``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: the rows load on first use
    from ledgerflow.storage.access_tables import TenantRow, TokenRow
    from ledgerflow.storage.idempotency_tables import IdempotencyRow


class AccessContract(Protocol):
    # tenants and API tokens (``access_tables``) ---------------------------------------------
    def create_tenant(self, row: TenantRow) -> bool:
        """Add a tenant; False if one with that id exists already."""
        ...

    def list_tenants(self) -> list[TenantRow]: ...

    def load_tenant(self, tenant_id: str) -> TenantRow | None: ...

    def insert_token(self, row: TokenRow) -> None: ...

    def token_by_lookup(self, lookup: str) -> TokenRow | None: ...

    def load_token(self, token_id: str) -> TokenRow | None: ...

    def list_tokens(self, tenant_id: str | None) -> list[TokenRow]:
        """A tenant's tokens (None: the system tokens), oldest first."""
        ...

    def revoke_token(self, token_id: str, at: str) -> bool:
        """False if it was revoked already or is unknown."""
        ...

    def token_used(self, token_id: str, at: str, stale: str) -> None:
        """Record a use at ``at`` unless one after ``stale`` is recorded already."""
        ...

    # idempotency keys of the API (``idempotency_tables``) -----------------------------------
    def claim_idempotency_key(self, tenant_id: str, key: str, fingerprint: str, *,
                              now: str, expires_at: str) -> tuple[IdempotencyRow, bool]:
        """Claim ``key`` of a tenant for a request with ``fingerprint``: insert an in-flight
        row created at ``now`` (or replace one that expired at or before ``now``) and return
        it with True. A key an unexpired row holds (in flight or done, whatever its
        fingerprint) is left alone: that row and False. Atomic: of racing claims of one key,
        exactly one gets True."""
        ...

    def finish_idempotency_key(self, tenant_id: str, key: str, *, claimed_at: str,
                               status: int, body: str, headers: Mapping[str, str],
                               expires_at: str) -> bool:
        """Store the answer of the in-flight claim made at ``claimed_at`` (``headers``: those
        a replay repeats, lower-case names): the row is done and kept until ``expires_at``.
        False if that claim no longer holds the key."""
        ...

    def release_idempotency_key(self, tenant_id: str, key: str, *, claimed_at: str) -> bool:
        """Delete the in-flight claim made at ``claimed_at`` (the request had no answer to
        keep); False if that claim no longer holds the key."""
        ...

    def purge_idempotency_keys(self, now: str) -> int:
        """Delete the rows that expired at or before ``now``; returns how many."""
        ...
