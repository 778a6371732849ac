"""Routes: ledger (see FACES.md §3): an execution's history (with a long-poll), state
versions and their diff, state edits while paused, logs, routing, graph and timeline. Each
route's operation id is in ``permissions.NEEDS``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from ledgerflow.definition.limits import json_depth_problem
from ledgerflow.engine.reports.status import ExecutionReport
from ledgerflow.server import graph_svg, timeline_svg
from ledgerflow.server.etags import expected_version
from ledgerflow.server.feed import feed_of
from ledgerflow.server.problems import Problem
from ledgerflow.server.schemas import ledger as s
from ledgerflow.server.security import Caller, caller

router = APIRouter(prefix="/api/v1/executions/{execution_id}", tags=["ledger"])
Who = Annotated[Caller, Depends(caller)]
Limit = Annotated[int, Query(ge=1, le=500)]
PATCHES = {"application/merge-patch+json": False, "application/json-patch+json": True,
           "application/json": False}
PATCH_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    kind: {"schema": {}} for kind in PATCHES}}}


@router.get("/history", operation_id="get_history", response_model=s.History)
def get_history(who: Who, execution_id: str, request: Request,
                after_seq: Annotated[int, Query(ge=0)] = 0, limit: Limit = 50,
                wait: Annotated[float, Query(ge=0, le=60)] = 0) -> s.History:
    """Ledger entries after ``after_seq``, oldest first. ``wait`` (seconds, ≤ 60): when none
    is there yet, answer as soon as one is committed, or with none after ``wait``."""
    found = who.app.execution(execution_id)
    if wait > 0 and found.head_seq <= after_seq:
        feed_of(request).wait((who.app.tenant, found.id), after_seq, wait)
    entries = who.app.history(found.id, after_seq, limit)
    return s.History(items=entries,
                     last_seq=entries[-1].seq if entries else after_seq,
                     head_seq=max([found.head_seq, *(e.seq for e in entries)]))


@router.get("/state", operation_id="get_state", response_model=s.State)
def get_state(who: Who, execution_id: str,
              version: Annotated[int | None, Query(ge=1)] = None) -> s.State:
    """The state document as of ``version`` (default: the current one)."""
    found = who.app.state(execution_id, version)
    return s.State(version=found.version, seq=found.seq, state=found.state,
                   created_at=found.created_at)


@router.get("/state/diff", operation_id="get_state_diff", response_model=list[dict[str, Any]])
def get_state_diff(who: Who, execution_id: str,
                   old: Annotated[int, Query(alias="from", ge=1)],
                   new: Annotated[int, Query(alias="to", ge=1)]) -> list[dict[str, Any]]:
    """The RFC 6902 JSON Patch that turns state version ``from`` into ``to``."""
    return who.app.state_diff(execution_id, old, new)


async def patch_body(request: Request) -> tuple[Any, bool]:
    """The patch and whether it is an RFC 6902 JSON Patch (else an RFC 7386 merge patch)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind not in PATCHES:
        raise Problem(415, "unsupported-media-type", "a state edit is sent as "
                      f"{' or '.join(list(PATCHES)[:2])}, not {kind or 'nothing'}")
    text = (await request.body()).decode("utf-8", errors="replace")
    problem = json_depth_problem(text)
    if problem is not None:
        raise Problem(400, "malformed", f"the patch {problem}")
    try:
        return json.loads(text), PATCHES[kind]
    except ValueError as exc:
        raise Problem(400, "malformed", f"the body is not valid JSON: {exc}") from None


@router.patch("/state", operation_id="patch_state", response_model=s.StateEdited,
              openapi_extra=PATCH_BODY, responses={412: {"description": "If-Match is stale"}})
def patch_state(who: Who, execution_id: str, body: Annotated[tuple[Any, bool],
                                                             Depends(patch_body)],
                response: Response, reason: Annotated[str | None, Query(max_length=500)] = None,
                if_match: Annotated[str | None, Header()] = None) -> s.StateEdited:
    """Edit the state of a paused execution with a merge patch or a JSON Patch. ``If-Match``
    (the version, the ledger head seq) refuses the edit with 412 when something changed."""
    current = who.app.execution(execution_id)
    patch, json_patch = body
    state_version = who.app.patch_state(current.id, patch, reason, json_patch=json_patch,
                                        expected_seq=expected_version(if_match))
    now = who.app.execution(current.id).head_seq
    response.headers["ETag"] = f'"{now}"'
    return s.StateEdited(version=now, state_version=state_version)


@router.get("/logs", operation_id="get_logs", response_model=s.Logs)
def get_logs(who: Who, execution_id: str, after: Annotated[int, Query(ge=0)] = 0,
             limit: Limit = 50) -> s.Logs:
    """Telemetry records (step logs, events, errors) after record id ``after``."""
    found = who.app.logs(execution_id, after, limit)
    return s.Logs(items=found,
                  next_after=found[-1].id if len(found) == limit else None)


@router.get("/routing", operation_id="get_routing", response_model=s.Routing)
def get_routing(who: Who, execution_id: str) -> s.Routing:
    """Every routing decision: the chosen agent, each candidate's score, the outcome."""
    return s.Routing(items=who.app.routing(execution_id))


@router.get("/graph", operation_id="get_graph", response_model=s.Graph,
            responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}}})
def get_graph(who: Who, execution_id: str, request: Request) -> Any:
    """The workflow's steps with their live status, and the edges of their ``needs``; with
    ``Accept: image/svg+xml``, the picture of it (boxes coloured by status)."""
    report = who.app.status(execution_id)
    spec = who.app.definition(report.workflow, report.workflow_version).spec
    steps = {st.id: st for st in report.steps}
    if "image/svg+xml" in request.headers.get("accept", ""):
        drawn = graph_svg.nodes_of(spec, {st.id: st.status for st in report.steps})
        return Response(graph_svg.render(drawn, f"execution {report.id}: {report.status}"),
                        media_type="image/svg+xml", headers={"ETag": f'"{report.head_seq}"'})
    nodes, edges = [], []
    for step in spec.get("steps", []) if isinstance(spec, dict) else []:
        now = steps.get(step["id"])
        nodes.append(s.GraphNode(id=step["id"], type=step.get("type", "task"),
                                 agent=step.get("agent"),
                                 status=now.status if now else "pending",
                                 attempts=now.attempts if now else 0))
        edges += [s.GraphEdge(source=n, target=step["id"]) for n in step.get("needs", [])]
    return s.Graph(nodes=nodes, edges=edges)


def _between(start: str, end: str | None) -> int | None:
    if end is None:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start))
                 .total_seconds() * 1000)


def attempts(who: Caller, execution_id: str) -> tuple[ExecutionReport, list[s.Attempt]]:
    """The execution's report and every attempt with its start and end (a Gantt chart's
    bars): routed attempts from their decisions, the other steps (waits, sleeps...) from
    their status."""
    report = who.app.status(execution_id)
    items = [s.Attempt(step_id=d.step_id, attempt=d.attempt, agent=d.agent,
                       started_at=d.decided_at, finished_at=d.finished_at,
                       duration_ms=_between(d.decided_at, d.finished_at), outcome=d.outcome)
             for d in who.app.routing(report.id)]
    routed = {a.step_id for a in items}
    for step in report.steps:
        if step.id not in routed and step.started_at is not None:
            items.append(s.Attempt(
                step_id=step.id, attempt=max(step.attempts, 1), agent=step.agent,
                started_at=step.started_at, finished_at=step.finished_at,
                duration_ms=_between(step.started_at, step.finished_at),
                outcome=step.status if step.finished_at else None))
    items.sort(key=lambda a: (a.started_at, a.step_id, a.attempt))
    return report, items


def timeline_picture(who: Caller, report: ExecutionReport, items: list[s.Attempt]) -> str:
    """The timeline as SVG (the API's and the dashboard's)."""
    bars = [timeline_svg.Bar(step_id=a.step_id, attempt=a.attempt, agent=a.agent,
                             started_at=a.started_at, finished_at=a.finished_at,
                             outcome=a.outcome) for a in items]
    now = who.app.clock.now().isoformat()
    return timeline_svg.render(bars, now, f"execution {report.id}: timeline")


@router.get("/timeline", operation_id="get_timeline", response_model=s.Timeline,
            responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}}})
def get_timeline(who: Who, execution_id: str, request: Request) -> Any:
    """Every attempt with its start and end (a Gantt chart's bars): routed attempts from
    their decisions, the other steps (waits, sleeps...) from their status; with ``Accept:
    image/svg+xml``, the chart itself."""
    report, items = attempts(who, execution_id)
    if "image/svg+xml" in request.headers.get("accept", ""):
        return Response(timeline_picture(who, report, items), media_type="image/svg+xml",
                        headers={"ETag": f'"{report.head_seq}"'})
    return s.Timeline(items=items)
