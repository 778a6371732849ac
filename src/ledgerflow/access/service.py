"""Tenants and API tokens kept in a store: made, listed, revoked, and a presented secret
turned into the ``Principal`` it acts as. Every time comes from the ``Clock``."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ledgerflow import errors
from ledgerflow.access import roles, tokens
from ledgerflow.clock import Clock
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.access_tables import TenantRow, TokenRow
from ledgerflow.storage.base import Store

DEFAULT_TENANT = "default"  # the embedded tenant (``App``'s default)
DEFAULT_EXPIRY_DAYS = 90
USE_RECORDED_EVERY = timedelta(minutes=1)  # last_used_at: at most one write a minute
TENANT_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: a token's tenant (None for a system token) and role."""

    token_id: str
    tenant: str | None
    role: str
    name: str
    expires_at: str | None


@dataclass(frozen=True, slots=True)
class Issued:
    """A token just made: ``secret`` is shown once and kept nowhere."""

    row: TokenRow
    secret: str


def check_tenant_id(tenant: str) -> str:
    if not TENANT_ID.fullmatch(tenant):
        raise errors.InvalidValue(
            f"tenant {tenant!r} is not a valid tenant id: use 1-63 lowercase letters, digits "
            "and '-' (not first or last), such as 'acme' or 'team-7'")
    return tenant


class Access:
    def __init__(self, store: Store, clock: Clock, actor: str) -> None:
        self._store = store
        self._clock = clock
        self._actor = actor

    def _now(self) -> datetime:
        return self._clock.now()

    # tenants --------------------------------------------------------------------------------
    def create_tenant(self, tenant: str) -> Issued:
        """A new tenant and its first admin token."""
        check_tenant_id(tenant)
        if not self._store.create_tenant(
                TenantRow(id=tenant, created_at=format_timestamp(self._now()))):
            raise errors.Conflict(f"tenant {tenant!r} exists already: pick another id, or "
                                  "make a token for the existing tenant")
        return self.create_token(tenant, "admin", name="first admin")

    def tenants(self) -> list[TenantRow]:
        self._default()
        return self._store.list_tenants()

    def _default(self) -> None:
        """The embedded tenant exists in every database; its row is added on first need."""
        if self._store.load_tenant(DEFAULT_TENANT) is None:
            self._store.create_tenant(
                TenantRow(id=DEFAULT_TENANT, created_at=format_timestamp(self._now())))

    def tenant(self, tenant: str) -> TenantRow:
        if tenant == DEFAULT_TENANT:
            self._default()
        row = self._store.load_tenant(tenant)
        if row is None:
            known = ", ".join(t.id for t in self.tenants()[:10])
            raise errors.NotFound(f"no tenant {tenant!r} (tenants: {known}); create it first",
                                  kind="tenant", id=tenant)
        return row

    # tokens ---------------------------------------------------------------------------------
    def create_token(self, tenant: str | None, role: str, *, name: str = "",
                     expires_in_days: float | None = DEFAULT_EXPIRY_DAYS,
                     by: Principal | None = None) -> Issued:
        """A new token of ``role`` for ``tenant`` (None with role ``system``). ``by``: the
        token asking, which may not make a wider one (None: the local command line)."""
        if role not in roles.ROLES:
            raise errors.InvalidValue(
                f"role {role!r} is not a role: use one of {', '.join(roles.ROLES)}")
        if (role == "system") != (tenant is None):
            raise errors.InvalidValue("a system token belongs to no tenant; every other "
                                      "role needs one")
        if by is not None and not roles.may_mint(by.role, role):
            raise errors.Forbidden(f"a {by.role} token may not make a {role} token",
                                   role=by.role, needed="admin" if role in
                                   roles.TENANT_ROLES else "system")
        if tenant is not None:
            self.tenant(tenant)
        if expires_in_days is not None and not 0 < expires_in_days <= 3650:
            raise errors.InvalidValue(
                f"expiry of {expires_in_days:g} days is out of range: give 1 to 3650 days")
        now = self._now()
        expires = None if expires_in_days is None else now + timedelta(days=expires_in_days)
        secret = tokens.new(role)
        row = TokenRow(
            id=f"tok_{secrets.token_hex(8)}", tenant_id=tenant, name=name or role, role=role,
            lookup=secret.lookup, sha256=secret.sha256, created_at=format_timestamp(now),
            created_by=by.token_id if by is not None else self._actor,
            expires_at=None if expires is None else format_timestamp(expires))
        self._store.insert_token(row)
        return Issued(row=row, secret=secret.text)

    def tokens(self, tenant: str | None) -> list[TokenRow]:
        return self._store.list_tokens(tenant)

    def token(self, token_id: str, tenant: str | None = None) -> TokenRow:
        """The token ``token_id``; of ``tenant`` only, when given (another tenant's token is
        as unknown as a missing one)."""
        row = self._store.load_token(token_id)
        if row is None or (tenant is not None and row.tenant_id != tenant):
            raise errors.NotFound(f"no token {token_id!r}", kind="token", id=token_id)
        return row

    def revoke(self, token_id: str, tenant: str | None = None) -> TokenRow:
        """Revoke at once (harmless twice); returns the token as it is now."""
        self.token(token_id, tenant)
        self._store.revoke_token(token_id, format_timestamp(self._now()))
        return self.token(token_id, tenant)

    def usable(self, token_id: str) -> bool:
        """Whether the token still authenticates: known, not revoked, not expired (an open
        event stream asks it now and then)."""
        row = self._store.load_token(token_id)
        return row is not None and row.revoked_at is None and (
            row.expires_at is None or row.expires_at > format_timestamp(self._now()))

    def first_admin(self, tenant: str) -> Issued | None:
        """An admin token for ``tenant`` if it has no token at all yet (a server's first
        start on an empty database), else None."""
        if self.tokens(tenant):
            return None
        return self.create_token(tenant, "admin", name="local admin")

    # authentication -------------------------------------------------------------------------
    def authenticate(self, presented: str | None) -> Principal:
        """The principal a presented secret acts as; ``Unauthorized`` says why not."""
        if not presented:
            raise errors.Unauthorized("no token: send 'Authorization: Bearer TOKEN'",
                                      reason="missing")
        secret = tokens.parse(presented)
        if secret is None:
            raise errors.Unauthorized("the token is malformed: it should look like "
                                      "lf_api_<43 characters>_<6 characters>",
                                      reason="malformed")
        row = self._store.token_by_lookup(secret.lookup)
        if row is None or not tokens.matches(secret, row.sha256):
            raise errors.Unauthorized("unknown token", reason="unknown")
        now = self._now()
        if row.revoked_at is not None:
            raise errors.Unauthorized(f"token {row.id} was revoked at {row.revoked_at}",
                                      reason="revoked")
        if row.expires_at is not None and row.expires_at <= format_timestamp(now):
            raise errors.Unauthorized(f"token {row.id} expired at {row.expires_at}",
                                      reason="expired")
        self._store.token_used(row.id, format_timestamp(now),
                               format_timestamp(now - USE_RECORDED_EVERY))
        return Principal(token_id=row.id, tenant=row.tenant_id, role=row.role,
                         name=row.name, expires_at=row.expires_at)
