"""Routes: agents (see FACES.md §3): agents with their breakers and statistics, breaker
transitions and the reset by hand, workers, verification. Each route's operation id is in
``permissions.NEEDS``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query

from ledgerflow.server.schemas import operating as s
from ledgerflow.server.security import Caller, caller

router = APIRouter(prefix="/api/v1", tags=["agents"])
Who = Annotated[Caller, Depends(caller)]


@router.get("/agents", operation_id="list_agents", response_model=s.Agents)
def list_agents(who: Who) -> s.Agents:
    """Agents of live workers, with their breakers and statistics."""
    return s.Agents(items=[s.Agent(**a.to_dict()) for a in who.app.agents()])


@router.get("/agents/{name}/breaker/transitions", operation_id="list_breaker_transitions",
            response_model=s.BreakerTransitions)
def list_breaker_transitions(who: Who, name: str, limit: Annotated[int, Query(
        ge=1, le=500)] = 50) -> s.BreakerTransitions:
    """The latest moves of the agent's breakers, oldest first."""
    return s.BreakerTransitions(items=who.app.breaker_transitions(name, limit))


@router.post("/agents/{name}/breaker/reset", operation_id="reset_breaker",
             response_model=s.BreakerTransitions)
def reset_breaker(who: Who, name: str, capability: Annotated[str | None, Query(
        max_length=200)] = None, reason: Annotated[str | None, Query(
        max_length=500)] = None) -> s.BreakerTransitions:
    """Close the agent's breakers (or the one for ``capability``) by hand. Audited: each
    transition records the token that asked as its actor (``token:ID``), and ``reason``."""
    return s.BreakerTransitions(items=who.app.reset_breaker(name, capability, reason or None))


@router.get("/workers", operation_id="list_workers", response_model=s.Workers)
def list_workers(who: Who) -> s.Workers:
    """The workers that work this tenant's executions (its own and shared ones), alive or
    stopping: slots, leases, running steps. A shared worker shows this tenant's steps
    only."""
    tenant = who.app.tenant
    items = []
    for worker in who.app.workers():
        if worker.tenant not in (None, tenant):
            continue
        shown = worker.to_dict()
        if worker.tenant is None:  # other tenants' steps are none of this tenant's business
            named = {st["execution"] for st in worker.steps} | {
                st["execution"] for st in worker.stuck}
            mine = {e for e in named if e is not None and who.app.head_seq(e) is not None}
            shown["steps"] = [st for st in worker.steps if st["execution"] in mine]
            shown["stuck"] = [st for st in worker.stuck if st["execution"] in mine]
        items.append(shown)
    return s.Workers(items=items)


@router.post("/verify", operation_id="verify", response_model=s.Verified)
def verify(who: Who, body: Annotated[s.VerifyRequest | None, Body()] = None) -> s.Verified:
    """Recompute the hash chains of this tenant's executions (or of ``execution_ids``)."""
    ids = body.execution_ids if body is not None else None
    results = (who.app.verify_all() if ids is None else
               (who.app.verify(i) for i in ids))
    verified, failures, bad = 0, [], []
    for result in results:
        verified += 1
        if not result.ok:
            bad.append(result)
            who.metrics.verify_failures.labels(str(result.problem or "unknown")).inc()
            failures.append(s.VerifyFailure(
                execution_id=result.execution_id, seq=result.seq,
                problem=str(result.problem or ""),
                detail=result.detail))
    who.app.record_verification(verified, bad, scope="all" if ids is None else "some")
    return s.Verified(verified=verified, failures=failures)
