"""Liveness, readiness and who the caller is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from ledgerflow import errors
from ledgerflow.server.problems import Problem
from ledgerflow.server.security import Caller, caller, engine

router = APIRouter()


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    database: str
    migrations_pending: int


class TokenInfo(BaseModel):
    id: str
    name: str
    role: str
    expires_at: str | None


class Me(BaseModel):
    tenant: str | None
    token: TokenInfo


@router.get("/healthz", operation_id="healthz", response_model=Health, tags=["system"])
def healthz() -> Health:
    """The process is alive (no database access, no token)."""
    return Health(status="ok")


@router.get("/readyz", operation_id="readyz", response_model=Ready, tags=["system"],
            responses={503: {"description": "the database is unreachable or not migrated"}})
def readyz(request: Request) -> Ready:
    """The database answers and its schema is current (no token)."""
    app = engine(request)
    kind = app.store.url.split(":", 1)[0]
    try:
        pending = app.store.pending_migrations()
    except errors.StorageError as exc:
        raise Problem(503, "database-unavailable", f"the database does not answer: {exc}",
                      retryable=True, headers={"Retry-After": "1"}) from None
    if pending:
        raise Problem(503, "migration-required",
                      f"{len(pending)} migration(s) pending: migrate the database",
                      migrations_pending=len(pending))
    return Ready(status="ready", database=kind, migrations_pending=0)


@router.get("/api/v1/me", operation_id="me", response_model=Me, tags=["tokens"])
def me(who: Annotated[Caller, Depends(caller)]) -> Me:
    """The caller's tenant and token."""
    p = who.principal
    return Me(tenant=p.tenant, token=TokenInfo(id=p.token_id, name=p.name, role=p.role,
                                                expires_at=p.expires_at))
