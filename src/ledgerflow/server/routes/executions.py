"""Routes: executions (see FACES.md §3): start, list, count, one execution (``ETag`` and
304), its status, signals. Each route's operation id is in ``permissions.NEEDS``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from ledgerflow import errors
from ledgerflow.definition.durations import parse_duration
from ledgerflow.engine.reports import listing
from ledgerflow.engine.reports.listing import Listing
from ledgerflow.engine.reports.status import ExecutionReport
from ledgerflow.server import resources
from ledgerflow.server.etags import expected_version
from ledgerflow.server.problems import Problem
from ledgerflow.server.schemas import executions as s
from ledgerflow.server.security import Caller, caller

router = APIRouter(prefix="/api/v1/executions", tags=["executions"])
Who = Annotated[Caller, Depends(caller)]
T = TypeVar("T")
SORTS = {"-created_at": False, "created_at": True}


def _ttl(given: float | str | None) -> float | None:
    if given is None:
        return None
    try:
        return parse_duration(given)
    except errors.InvalidValue as exc:
        raise Problem(422, "invalid-request", f"ttl: {exc}",
                      problems=[{"path": "body.ttl", "message": str(exc)}]) from None


@router.post("", operation_id="start_execution", response_model=s.Execution, status_code=201,
             responses={200: {"model": s.Execution,
                              "description": "the execution with this id and input exists"}})
def start_execution(who: Who, body: s.StartRequest, response: Response) -> s.Execution:
    """Start an execution of a stored workflow: 201 with the execution. With your own
    ``id``, the same id and input again answer 200 with the existing one; another input
    under that id is a 409."""
    existed = body.id is not None and who.app.head_seq(body.id) is not None
    execution_id = who.app.start(body.workflow, body.input, execution_id=body.id,
                                 version=body.version, ttl=_ttl(body.ttl))
    if existed:
        response.status_code = 200
    found = _execution(who, execution_id)
    response.headers["ETag"] = f'"{found.version}"'
    response.headers["Location"] = found.links["self"]
    return found


def where(status: str | None = Query(None, description=(
              "comma-separated statuses, e.g. running,paused")),
          workflow: str | None = Query(None, max_length=200),
          created_after: str | None = Query(None, description="RFC 3339"),
          created_before: str | None = Query(None, description="RFC 3339"),
          id_prefix: str | None = Query(None, min_length=1, max_length=200)) -> Listing:
    """The list and count filters, typed; a bad one is a 422 naming its query parameter."""
    def checked(name: str, parse: Callable[[], T]) -> T:
        try:
            return parse()
        except errors.InvalidValue as exc:
            raise Problem(422, "invalid-request", str(exc), problems=[
                {"path": f"query.{name}", "message": str(exc)}]) from None

    return Listing(
        statuses=checked("status", lambda: listing.statuses(status)), workflow=workflow,
        created_after=checked("created_after", lambda: created_after and listing.stored_time(
            created_after, "created_after")),
        created_before=checked("created_before", lambda: created_before and
                               listing.stored_time(created_before, "created_before")),
        id_prefix=id_prefix)


Where = Annotated[Listing, Depends(where)]


@router.get("", operation_id="list_executions", response_model=s.ExecutionPage)
def list_executions(who: Who, flt: Where, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                    cursor: Annotated[str | None, Query(max_length=1000)] = None,
                    sort: Annotated[str, Query(pattern="^-?created_at$")] = "-created_at",
                    ) -> s.ExecutionPage:
    """A page of executions, newest first (``sort=created_at``: oldest first); pass
    ``next_cursor`` as ``cursor`` for the next page (null: this is the last)."""
    page = who.app.page(dataclasses.replace(flt, after=resources.after(cursor),
                                            oldest_first=SORTS[sort], limit=limit + 1))
    more = len(page) > limit
    page = page[:limit]
    return s.ExecutionPage(items=[resources.item(e) for e in page],
                           next_cursor=resources.cursor(page[-1]) if more else None)


@router.get("/count", operation_id="count_executions", response_model=s.Counts)
def count_executions(who: Who, flt: Where) -> s.Counts:
    """How many executions the filters take, in all and by status."""
    counts = who.app.count(flt)
    return s.Counts(total=sum(counts.values()), by_status=counts)


def _execution(who: Caller, execution_id: str) -> s.Execution:
    summary = who.app.execution(execution_id)
    report = who.app.status(summary.id)
    return resources.execution(summary, report, who.app.last_control(summary.id))


@router.get("/{execution_id}", operation_id="get_execution", response_model=s.Execution,
            responses={304: {"description": "If-None-Match names the current version"}})
def get_execution(who: Who, execution_id: str, request: Request) -> Any:
    """One execution; its ``ETag`` is its version (the ledger head seq). With
    ``If-None-Match`` naming that version: 304 and no body."""
    summary = who.app.execution(execution_id)
    tag = f'"{summary.head_seq}"'
    unchanged = request.headers.get("if-none-match")
    if unchanged is not None and tag in {t.strip().removeprefix("W/")
                                         for t in unchanged.split(",")}:
        return Response(status_code=304, headers={"ETag": tag})
    found = resources.execution(summary, who.app.status(summary.id),
                                who.app.last_control(summary.id))
    return Response(found.model_dump_json(), media_type="application/json",
                    headers={"ETag": f'"{found.version}"'})


@router.get("/{execution_id}/status", operation_id="get_execution_status",
            response_model=ExecutionReport)
def get_execution_status(who: Who, execution_id: str) -> ExecutionReport:
    """Progress, timing with an ETA, and every step's status, attempts and agent."""
    return who.app.status(execution_id)


@router.post("/{execution_id}/signals", operation_id="send_signal", status_code=201,
             response_model=s.SignalSent)
def send_signal(who: Who, execution_id: str, body: s.SignalRequest, response: Response,
                if_match: Annotated[str | None, Header()] = None) -> s.SignalSent:
    """Store a durable signal for the execution's wait steps and ``on:`` handlers."""
    found = who.app.execution(execution_id)
    who.app.signal(found.id, body.name, body.data, expected_seq=expected_version(if_match))
    now = who.app.execution(found.id).head_seq
    response.headers["ETag"] = f'"{now}"'
    return s.SignalSent(execution_id=found.id, name=body.name, version=now)
