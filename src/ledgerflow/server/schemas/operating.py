"""Bodies of the agent, worker, verification, token and tenant routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ledgerflow.engine.reports.activity import BreakerTransition


class Agent(BaseModel):
    capability: str
    agent: str
    priority: int | None
    weight: float | None
    workers: list[str]
    last_seen: str | None
    breaker: str
    breaker_since: str | None
    probes_in_flight: int
    stats: dict[str, Any]


class Agents(BaseModel):
    items: list[Agent]


class BreakerTransitions(BaseModel):
    items: list[BreakerTransition]


class Workers(BaseModel):
    items: list[dict[str, Any]]


class VerifyRequest(BaseModel):
    execution_ids: list[str] | None = Field(default=None, max_length=500)


class VerifyFailure(BaseModel):
    execution_id: str
    seq: int | None
    problem: str
    detail: str


class Verified(BaseModel):
    verified: int
    failures: list[VerifyFailure]


class TokenRequest(BaseModel):
    role: str
    name: str | None = Field(default=None, max_length=200)
    expires_in_days: float | None = 90


class Token(BaseModel):
    id: str
    tenant: str | None
    name: str
    role: str
    created_at: str
    created_by: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class NewToken(Token):
    token: str  # the secret, shown this once


class Tokens(BaseModel):
    items: list[Token]


class TenantRequest(BaseModel):
    tenant: str = Field(max_length=63)


class Tenant(BaseModel):
    tenant: str
    created_at: str


class NewTenant(Tenant):
    token: str  # its first admin token, shown this once


class Tenants(BaseModel):
    items: list[Tenant]
