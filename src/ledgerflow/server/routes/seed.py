"""Routes: the origin notes' process-engine family (seed 004), with its shapes exactly:
``{success: true, data: {...}}`` in camelCase, and every error as ``{success: false,
error: {code, message}}`` with the status codes of the rest of the API (``problems``
renders them so under this prefix). Each route's operation id is in
``permissions.NEEDS``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from ledgerflow.server import seed_shapes
from ledgerflow.server.resources import commanded
from ledgerflow.server.security import Caller, caller

PREFIX = "/api/v1/process-engine/executions/processes"
router = APIRouter(prefix=PREFIX, tags=["process-engine (seed)"])
Who = Annotated[Caller, Depends(caller)]


def _when(who: Caller, execution_id: str, event_type: str) -> str | None:
    """When the execution's latest ``event_type`` entry was recorded."""
    found = [e.occurred_at for e in who.app.history(execution_id) if e.event_type == event_type]
    return found[-1] if found else None


def _act(who: Caller, execution_id: str, action: str, command: Any) -> str:
    found = who.app.execution(execution_id)
    commanded(action, lambda: command(found.id))
    return found.id


@router.post("/{process_execution_id}/pause", operation_id="seed_pause")
def seed_pause(who: Who, process_execution_id: str) -> dict[str, Any]:
    """Pause: no new step starts; ``completedNodes`` of ``totalNodes`` are done."""
    found = _act(who, process_execution_id, "pause", who.app.pause)
    return seed_shapes.ok(seed_shapes.paused(who.app.status(found),
                                             _when(who, found, "execution.paused")))


@router.post("/{process_execution_id}/resume", operation_id="seed_resume")
def seed_resume(who: Who, process_execution_id: str) -> dict[str, Any]:
    """Resume where it stopped; ``pendingNodes`` are still to run."""
    found = _act(who, process_execution_id, "resume", who.app.resume)
    return seed_shapes.ok(seed_shapes.resumed(who.app.status(found),
                                              _when(who, found, "execution.resumed")))


@router.post("/{process_execution_id}/cancel", operation_id="seed_cancel")
def seed_cancel(who: Who, process_execution_id: str) -> dict[str, Any]:
    """Cancel: the execution ends ``cancelled``."""
    found = _act(who, process_execution_id, "cancel", who.app.cancel)
    return seed_shapes.ok(seed_shapes.cancelled(who.app.status(found),
                                                _when(who, found, "execution.cancelled")))


@router.get("/{process_execution_id}/status", operation_id="seed_status")
def seed_status(who: Who, process_execution_id: str) -> dict[str, Any]:
    """Status, progress, timing and the graph's parallel branches (``threads``)."""
    report = who.app.status(process_execution_id)
    outline = who.app.definitions.outline(who.app.tenant, report.workflow,
                                          report.workflow_version)
    return seed_shapes.ok(seed_shapes.status(report, [(st.id, st.needs) for st in outline]))
