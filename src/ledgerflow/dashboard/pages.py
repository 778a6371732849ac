"""The dashboard's pages: overview, the executions list, one execution. Each reads the
API's public read model (``App`` as the session's tenant sees it, and the API routes'
own helpers), never SQL of its own, and needs the role of the API operation it mirrors."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ledgerflow.dashboard import diffs, step_pages
from ledgerflow.dashboard.render import UiRoute, page, read_at
from ledgerflow.dashboard.session import may, signed_in
from ledgerflow.engine.model.lifecycle import OPERATOR_ACTIONS
from ledgerflow.engine.reports.listing import STATUSES, Listing
from ledgerflow.engine.reports.records import ExecutionSummary
from ledgerflow.server import resources
from ledgerflow.server.routes import agents, ledger
from ledgerflow.server.routes.executions import where
from ledgerflow.server.security import Caller

router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)
PAGE = 25  # executions per list page
# the control actions the dashboard offers, in the order shown
ACTIONS = ("pause", "resume", "cancel", "retry", "rerun")


def allowed_actions() -> dict[str, list[str]]:
    """Which of ``ACTIONS`` each status allows (the engine's table): the page hides the
    others, and updates as the status moves."""
    return {str(status): [str(a) for a in allowed if str(a) in ACTIONS]
            for status, allowed in OPERATOR_ACTIONS.items()}


@router.get("", response_class=HTMLResponse)
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request,
             who: Annotated[Caller, Depends(signed_in("count_executions"))]) -> HTMLResponse:
    return page(request, "overview.html", who=who, nav="overview", **_overview(who))


@router.get("/overview/live", response_class=HTMLResponse)
def overview_live(request: Request,
                  who: Annotated[Caller, Depends(signed_in("count_executions"))]
                  ) -> HTMLResponse:
    """The overview's counts, workers and breakers, which the page reads again when the
    tenant's event stream says an execution changed (at most once a second) and every few
    seconds while shown."""
    return page(request, "overview_live.html", **_overview(who))


def _overview(who: Caller) -> dict[str, Any]:
    counts = who.app.count(Listing())
    workers = agents.list_workers(who).items
    return {"counts": counts, "statuses": STATUSES, "total": sum(counts.values()),
            "workers_alive": sum(1 for w in workers if w.get("state") == "alive"),
            "workers": len(workers),
            "breakers": [a for a in who.app.agents() if a.breaker != "closed"],
            "updated": read_at(who)}


@router.get("/executions", response_class=HTMLResponse)
def executions(request: Request,
               who: Annotated[Caller, Depends(signed_in("list_executions"))],
               status: Annotated[str | None, Query(max_length=200)] = None,
               workflow: Annotated[str | None, Query(max_length=200)] = None,
               cursor: Annotated[str | None, Query(max_length=1000)] = None) -> HTMLResponse:
    workflow = workflow or None  # an empty filter field is no filter
    status = status or None
    listing = where(status=status, workflow=workflow, created_after=None,
                    created_before=None, id_prefix=None)
    found = who.app.page(dataclasses.replace(listing, after=resources.after(cursor),
                                             limit=PAGE + 1))
    more = len(found) > PAGE
    found = found[:PAGE]
    rows = [_row(who, e) for e in found]
    after = resources.cursor(found[-1]) if more else None
    return page(request, "executions.html", who=who, nav="executions", rows=rows,
                status=status or "", workflow=workflow or "", statuses=STATUSES, next_cursor=after,
                paged=cursor is not None, can_batch=may(who, "batch_control"),
                batch_actions=BATCH_ACTIONS)


BATCH_ACTIONS = ("pause", "resume", "cancel", "retry")  # what a batch may do


def _row(who: Caller, e: ExecutionSummary) -> dict[str, object]:
    report = who.app.status(e.id)
    return {"e": e, "progress": report.progress, "duration": report.timing.duration_seconds}


@router.get("/executions/{execution_id}/row", response_class=HTMLResponse)
def row(request: Request, execution_id: str,
        who: Annotated[Caller, Depends(signed_in("get_execution"))]) -> HTMLResponse:
    """One row of the list as it is now (the list page swaps it in when the tenant's stream
    says the execution changed)."""
    return page(request, "execution_row.html", row=_row(who, who.app.execution(execution_id)),
                can_batch=may(who, "batch_control"))


@router.get("/executions/{execution_id}", response_class=HTMLResponse)
def execution(request: Request, execution_id: str,
              who: Annotated[Caller, Depends(signed_in("get_execution"))]) -> HTMLResponse:
    summary = who.app.execution(execution_id)  # another tenant's: NotFound, as a missing one
    report = who.app.status(summary.id)
    svg = step_pages.graph_of(who, report, request.query_params.get("graph") == "all")
    state = who.app.state(summary.id)
    can_act = may(who, "pause_execution")
    logs = who.app.logs(summary.id, 0, LOGS)
    return page(request, "execution.html", who=who, nav="executions", e=summary, report=report,
                **step_pages.first_pages(who, report),
                svg=svg, state=state.state, state_version=state.version,
                latest=state.version, compare=None, changes=None, execution_id=summary.id,
                last=resources.last_control(who.app.last_control(summary.id)),
                can_act=can_act, actions=ACTIONS,
                allowed=allowed_actions(), allowed_json=json.dumps(allowed_actions()),
                logs=logs,
                logs_after=logs[-1].id if logs else 0,
                step_ids=[st.id for st in report.steps],
                signals=received(who, summary.id), can_signal=may(who, "send_signal"),
                can_edit=may(who, "patch_state"), can_fork=may(who, "fork_execution"))


LOGS = 500  # log records the Logs tab shows at first; the stream appends the next ones


SIGNALS_SHOWN = 100  # the newest signals received the Signals & waits tab lists


def received(who: Caller, execution_id: str) -> list[dict[str, object]]:
    """The newest signals the execution received (newest first), from its ledger."""
    found = [{"seq": h.seq, "at": h.occurred_at,
              "name": (h.payload or {}).get("name") if isinstance(h.payload, dict) else None,
              "data": (h.payload or {}).get("data") if isinstance(h.payload, dict) else None}
             for h in who.app.history_of_types(execution_id, ["signal.received"],
                                               SIGNALS_SHOWN)]
    return found[::-1]


def _timeline(who: Caller, execution_id: str) -> str:
    report, items = ledger.attempts(who, execution_id)
    return ledger.timeline_picture(who, report, items)


@router.get("/executions/{execution_id}/timeline", response_class=HTMLResponse)
def timeline(request: Request, execution_id: str,
             who: Annotated[Caller, Depends(signed_in("get_timeline"))]) -> HTMLResponse:
    """The Timeline tab's chart (the API's SVG), read again when a step moves."""
    return HTMLResponse(_timeline(who, execution_id), headers={"Cache-Control": "no-store"})


@router.get("/executions/{execution_id}/logs", response_class=HTMLResponse)
def logs(request: Request, execution_id: str,
         who: Annotated[Caller, Depends(signed_in("get_logs"))]) -> HTMLResponse:
    """The Logs tab's rows, read again when the tab is opened (logs are written apart from
    the ledger: the last ones of a run may come after its stream ended)."""
    return page(request, "logs.html", logs=who.app.logs(execution_id, 0, LOGS))


@router.get("/executions/{execution_id}/waits", response_class=HTMLResponse)
def waits(request: Request, execution_id: str,
          who: Annotated[Caller, Depends(signed_in("get_execution_status"))]) -> HTMLResponse:
    """The Signals & waits tab's content, read again when the tab is opened or a step
    moves."""
    found = who.app.execution(execution_id)
    return page(request, "waits.html", report=who.app.status(found.id), e=found,
                signals=received(who, found.id))


@router.get("/executions/{execution_id}/state", response_class=HTMLResponse)
def state(request: Request, execution_id: str,
          who: Annotated[Caller, Depends(signed_in("get_state_diff"))],
          version: Annotated[int | None, Query(ge=1)] = None,
          compare: Annotated[int | None, Query(ge=1)] = None) -> HTMLResponse:
    """The State tab's content: the current version, or ``version``, and what changed from
    version ``compare`` to it; read again when the tab is opened."""
    current = who.app.state(execution_id)
    shown = current if version in (None, current.version) else who.app.state(
        execution_id, version)
    changes = None
    if compare is not None:
        changes = diffs.changes(who.app.state(execution_id, compare).state, shown.state)
    return page(request, "state.html", state=shown.state, state_version=shown.version,
                latest=current.version, compare=compare, changes=changes,
                execution_id=current.execution_id, fresh=True)
