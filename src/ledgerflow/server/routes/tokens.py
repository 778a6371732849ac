"""Routes: tokens (see FACES.md §3): a tenant's tokens (made by its admins, never wider
than the maker's role; the secret is shown once) and, for the system token, tenants. Each
route's operation id is in ``permissions.NEEDS``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from ledgerflow import errors
from ledgerflow.server.schemas import operating as s
from ledgerflow.server.security import Caller, caller

if TYPE_CHECKING:
    from ledgerflow.access.service import Issued

router = APIRouter(prefix="/api/v1", tags=["tokens"])
Who = Annotated[Caller, Depends(caller)]


def _token(row: Any) -> s.Token:  # an access TokenRow
    fields = {k: getattr(row, k) for k in s.Token.model_fields if k != "tenant"}
    return s.Token(tenant=row.tenant_id, **fields)


@router.post("/tokens", operation_id="create_token", response_model=s.NewToken,
             status_code=201)
def create_token(who: Who, body: s.TokenRequest) -> s.NewToken:
    """A new token of this tenant; its secret is in this answer only. A token never makes
    one with a wider role than its own."""
    issued: Issued = who.app.access.create_token(
        who.principal.tenant, body.role, name=body.name or "",
        expires_in_days=body.expires_in_days, by=who.principal)
    return s.NewToken(token=issued.secret, **_token(issued.row).model_dump())


@router.get("/tokens", operation_id="list_tokens", response_model=s.Tokens)
def list_tokens(who: Who) -> s.Tokens:
    """This tenant's tokens, without their secrets."""
    return s.Tokens(items=[_token(t) for t in who.app.access.tokens(who.principal.tenant)])


@router.delete("/tokens/{token_id}", operation_id="revoke_token", status_code=204,
               response_class=Response)
def revoke_token(who: Who, token_id: str, request: Request) -> Response:
    """Revoke at once: the token's next request is refused and its open event streams end
    (harmless twice)."""
    if who.principal.tenant is None:
        raise errors.NotFound(f"no token {token_id!r}", kind="token", id=token_id)
    who.app.access.revoke(token_id, who.principal.tenant)
    request.app.state.streams.revoke(token_id)
    return Response(status_code=204)


@router.post("/admin/tenants", operation_id="create_tenant", response_model=s.NewTenant,
             status_code=201)
def create_tenant(who: Who, body: s.TenantRequest) -> s.NewTenant:
    """A new tenant and its first admin token (shown this once)."""
    issued: Issued = who.app.access.create_tenant(body.tenant)
    row = who.app.access.tenant(body.tenant)
    return s.NewTenant(tenant=row.id, created_at=row.created_at, token=issued.secret)


@router.get("/admin/tenants", operation_id="list_tenants", response_model=s.Tenants)
def list_tenants(who: Who) -> s.Tenants:
    """Every tenant."""
    return s.Tenants(items=[s.Tenant(tenant=t.id, created_at=t.created_at)
                            for t in who.app.access.tenants()])
