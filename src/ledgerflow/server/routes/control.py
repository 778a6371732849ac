"""Routes: control (see FACES.md §3): pause, resume, cancel, retry, rerun, fork, and batch
control. Each acts on the version ``If-Match`` names, atomically (412 when the execution has
moved on), records the caller's ``reason``, and is harmless twice (``changed: false``).
Each route's operation id is in ``permissions.NEEDS``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response

from ledgerflow import errors
from ledgerflow.server import batches
from ledgerflow.server.etags import expected_version
from ledgerflow.server.resources import commanded
from ledgerflow.server.schemas import executions as s
from ledgerflow.server.security import Caller, caller

router = APIRouter(prefix="/api/v1", tags=["control"])
Who = Annotated[Caller, Depends(caller)]
IfMatch = Annotated[str | None, Header(description=(
    "the version you read (the execution's ETag): 412 if it has moved on since"))]
STALE: dict[int | str, dict[str, Any]] = {
    412: {"description": "If-Match names a version the execution has moved on from"},
    409: {"description": "not allowed in the execution's status (allowed_actions)"}}


def controlled(who: Caller, execution_id: str, changed: bool, *, action: str = "",
               steps: list[str] | None = None) -> s.Controlled:
    report = who.app.status(execution_id)
    answer = s.Controlled(execution_id=report.id, status=report.status, changed=changed,
                          version=report.head_seq, steps=steps or [])
    if action == "pause":
        answer.running = [st.id for st in report.steps if st.status == "running"]
        answer.pending = [st.id for st in report.steps if st.status == "pending"]
    return answer


def act(who: Caller, execution_id: str, action: str, command: Callable[[str], object],
        response: Response) -> s.Controlled:
    """Run ``command`` on the execution; a repeat of what is done already is no change.
    Counted in ``ledgerflow_control_actions_total{action,outcome}``."""
    counted = who.metrics.control_actions
    found = who.app.execution(execution_id)
    try:
        changed, result = commanded(action, lambda: command(found.id))
    except errors.LedgerflowError:
        counted.labels(action, "refused").inc()
        raise
    answer = controlled(who, found.id, changed, action=action,
                        steps=result if isinstance(result, list) else None)
    counted.labels(action, "changed" if answer.changed else "unchanged").inc()
    response.headers["ETag"] = f'"{answer.version}"'
    return answer


@router.post("/executions/{execution_id}/pause", operation_id="pause_execution",
             response_model=s.Controlled, responses=STALE)
def pause_execution(who: Who, execution_id: str, response: Response, if_match: IfMatch = None,
                    body: s.ControlRequest | None = None) -> s.Controlled:
    """No new step starts once this answers; running steps finish and record. The answer
    lists the steps still running and those held back."""
    reason = body.reason if body else None
    return act(who, execution_id, "pause", lambda i: who.app.pause(
        i, reason, expected_seq=expected_version(if_match)), response)


@router.post("/executions/{execution_id}/resume", operation_id="resume_execution",
             response_model=s.Controlled, responses=STALE)
def resume_execution(who: Who, execution_id: str, response: Response,
                     if_match: IfMatch = None, body: s.ResumeRequest | None = None,
                     ) -> s.Controlled:
    """Continue a paused execution where it stopped, or from ``from_step`` (that step and
    its dependents run again)."""
    given = body or s.ResumeRequest()
    return act(who, execution_id, "resume", lambda i: who.app.resume(
        i, given.reason, given.from_step, expected_seq=expected_version(if_match)), response)


@router.post("/executions/{execution_id}/cancel", operation_id="cancel_execution",
             response_model=s.Controlled, responses=STALE)
def cancel_execution(who: Who, execution_id: str, response: Response,
                     if_match: IfMatch = None, body: s.ControlRequest | None = None,
                     ) -> s.Controlled:
    """End it ``cancelled``; running handlers see ``ctx.cancelled``."""
    reason = body.reason if body else None
    return act(who, execution_id, "cancel", lambda i: who.app.cancel(
        i, reason, expected_seq=expected_version(if_match)), response)


@router.post("/executions/{execution_id}/retry", operation_id="retry_execution",
             response_model=s.Controlled, responses=STALE)
def retry_execution(who: Who, execution_id: str, response: Response,
                    if_match: IfMatch = None, body: s.ControlRequest | None = None,
                    ) -> s.Controlled:
    """Run the failed steps of a failed execution again (``steps`` names them)."""
    reason = body.reason if body else None
    return act(who, execution_id, "retry", lambda i: who.app.retry(
        i, reason, expected_seq=expected_version(if_match)), response)


@router.post("/executions/{execution_id}/rerun", operation_id="rerun_execution",
             response_model=s.Controlled, responses=STALE)
def rerun_execution(who: Who, execution_id: str, body: s.RerunRequest, response: Response,
                    if_match: IfMatch = None) -> s.Controlled:
    """Run ``from_step`` and its dependents of a finished execution again."""
    return act(who, execution_id, "rerun", lambda i: who.app.rerun(
        i, body.from_step, body.reason, expected_seq=expected_version(if_match)), response)


@router.post("/executions/{execution_id}/fork", operation_id="fork_execution",
             response_model=s.Forked, status_code=201)
def fork_execution(who: Who, execution_id: str, response: Response,
                   body: s.ForkRequest | None = None) -> s.Forked:
    """A new execution from this one's state as of ledger entry ``at_seq`` (default: its
    head), with ``input_patch`` merged into the input."""
    given = body or s.ForkRequest()
    found = who.app.execution(execution_id)
    fork_id = who.app.fork(found.id, given.at_seq, given.input_patch)
    response.headers["Location"] = f"/api/v1/executions/{fork_id}"
    return s.Forked(id=fork_id, forked_from=found.id, at_seq=given.at_seq)


@router.post("/executions/batch", operation_id="batch_control", response_model=s.Batch,
             status_code=202)
def batch_control(who: Who, body: s.BatchRequest, request: Request) -> s.Batch:
    """Pause, resume, cancel or retry many executions (``ids``, or every one in
    ``status`` [and ``workflow``], at most 500) in the background: 202 with the batch;
    ``GET /api/v1/batches/{batch_id}`` follows it."""
    return batches.of(request).start(who, body)


@router.get("/batches/{batch_id}", operation_id="get_batch", response_model=s.Batch)
def get_batch(who: Who, batch_id: str, request: Request) -> s.Batch:
    """A batch's progress and what happened to each execution."""
    return batches.of(request).get(who, batch_id)
