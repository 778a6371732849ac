"""Tenants and API tokens: the same named queries on every backend, a mixin of the stores
(built on ``_read`` and ``_transaction``). Tokens are kept as the hash of their secret; the
secret never reaches the database."""

from __future__ import annotations

from dataclasses import dataclass

from ledgerflow.storage.sql_mixin import SqlMixin
from ledgerflow.storage.sqlite_rows import build, params


@dataclass(frozen=True, kw_only=True, slots=True)
class TenantRow:
    id: str
    created_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenRow:
    id: str
    tenant_id: str | None  # None: a system token (it manages tenants, reads no tenant data)
    name: str
    role: str
    lookup: str  # the first characters of the secret's random part: how a secret is found
    sha256: str  # of the whole secret
    created_at: str
    created_by: str
    expires_at: str | None = None
    last_used_at: str | None = None
    revoked_at: str | None = None


class AccessTables(SqlMixin):
    def create_tenant(self, row: TenantRow) -> bool:
        """Add a tenant; False if one with that id exists already (nothing changes)."""
        with self._transaction() as conn:
            return bool(conn.execute(self._q["insert_tenant"], params(row)).rowcount == 1)

    def list_tenants(self) -> list[TenantRow]:
        return [build(TenantRow, r) for r in self._read("tenants_all", ())]

    def load_tenant(self, tenant_id: str) -> TenantRow | None:
        found = self._read("tenant_by_id", (tenant_id,))
        return build(TenantRow, found[0]) if found else None

    def insert_token(self, row: TokenRow) -> None:
        with self._transaction() as conn:
            conn.execute(self._q["insert_token"], params(row))

    def token_by_lookup(self, lookup: str) -> TokenRow | None:
        found = self._read("token_by_lookup", (lookup,))
        return build(TokenRow, found[0]) if found else None

    def load_token(self, token_id: str) -> TokenRow | None:
        found = self._read("token_by_id", (token_id,))
        return build(TokenRow, found[0]) if found else None

    def list_tokens(self, tenant_id: str | None) -> list[TokenRow]:
        """A tenant's tokens (None: the system tokens), oldest first."""
        if tenant_id is None:
            return [build(TokenRow, r) for r in self._read("tokens_system", ())]
        return [build(TokenRow, r) for r in self._read("tokens_of_tenant", (tenant_id,))]

    def revoke_token(self, token_id: str, at: str) -> bool:
        """Revoke a token from ``at`` on; False if it was revoked already or is unknown."""
        with self._transaction() as conn:
            cur = conn.execute(self._q["revoke_token"], {"id": token_id, "at": at})
            return bool(cur.rowcount == 1)

    def token_used(self, token_id: str, at: str, stale: str) -> None:
        """Record a use at ``at`` unless one after ``stale`` is recorded already (a token
        used on every request costs a write a minute, not one per request)."""
        with self._transaction() as conn:
            conn.execute(self._q["token_used"], {"id": token_id, "at": at, "stale": stale})
