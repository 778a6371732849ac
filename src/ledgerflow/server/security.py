"""Who is calling: the bearer token of a request turned into its principal and its
tenant's view of the engine, checked against the operation's lowest role. The tenant comes
from the token only, never from the path, the body or a header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.routing import APIRoute

from ledgerflow import errors
from ledgerflow.access import roles
from ledgerflow.access.service import Principal
from ledgerflow.server import permissions

if TYPE_CHECKING:
    from ledgerflow import App, Prometheus


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    app: App  # the engine as the token's tenant sees it (system tokens: the default view)
    metrics: Prometheus  # the server's counters


def engine(request: Request) -> App:
    found: App = request.app.state.engine
    return found


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthorized("the Authorization header must be 'Bearer TOKEN'",
                                  reason="malformed")
    return token.strip()


def operation(request: Request) -> str:
    route = request.scope.get("route")
    return route.operation_id or route.name if isinstance(route, APIRoute) else "unknown"


def caller(request: Request) -> Caller:
    """The dependency of every route that needs a token: 401 without a usable one, 403 if
    its role may not do the route's operation (deny by default)."""
    return caller_as(request, bearer(request), operation(request))


def caller_as(request: Request, presented: str | None, doing: str) -> Caller:
    """The caller the token ``presented`` makes for operation ``doing`` (an operation id
    of ``permissions.NEEDS``): the bearer header's, or the dashboard's session cookie's."""
    needed = permissions.NEEDS.get(doing)
    base = engine(request)
    principal = base.access.authenticate(presented)
    request.state.token_id = principal.token_id
    if needed is None or needed == permissions.NONE:
        raise errors.Forbidden(f"operation {doing} is not open to tokens", role=principal.role,
                               needed="(none)")
    roles.require(principal.role, needed, doing.replace("_", " "))
    # the token's commands are recorded as the token's (``token:ID``) in every ledger entry
    acting = type(base.actor)(kind="token", id=f"token:{principal.token_id}")
    view = base.for_tenant(principal.tenant or base.tenant, actor=acting)
    return Caller(principal=principal, app=view, metrics=request.app.state.metrics)
