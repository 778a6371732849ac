"""The parts of one execution's page that are read a page at a time or on demand: the
graph (drawn again when steps move, if the page shows the collapsed view whose boxes count
steps by status), the Ledger tab's earlier entries, the Steps tab's next steps, and one
step's details (each attempt's agent, input, output or error, its routing decision with
every candidate's score or why it was excluded, and its logs). Big runs are never rendered
whole."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from ledgerflow import errors
from ledgerflow.dashboard.render import UiRoute, page
from ledgerflow.dashboard.session import may, signed_in
from ledgerflow.engine.reports.history import HistoryEntry
from ledgerflow.engine.reports.status import ExecutionReport
from ledgerflow.server import graph_svg
from ledgerflow.server.security import Caller

router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)
LEDGER_PAGE = 200  # ledger entries the Ledger tab shows (the newest), and reads per click
STEPS_PAGE = 200  # steps the Steps tab shows, and reads per click
STEP_LOGS = 200  # log records a step's details show (its newest)


def first_pages(who: Caller, report: ExecutionReport) -> dict[str, Any]:
    """What the execution page shows first: the newest ``LEDGER_PAGE`` entries up to the
    head the report saw (the page's stream goes on from there) and how many are before
    them, the first ``STEPS_PAGE`` steps."""
    entries, after = _page_upto(who, report.id, report.head_seq)
    return {"entries": entries, "earlier": after, "ledger_page": LEDGER_PAGE,
            "steps_shown": STEPS_PAGE, "steps_page": STEPS_PAGE}


def _page_upto(who: Caller, execution_id: str, last: int) -> tuple[list[HistoryEntry], int]:
    """The ``LEDGER_PAGE`` entries up to seq ``last``, and the seq before the first."""
    after = max(last - LEDGER_PAGE, 0)
    return (who.app.history(execution_id, after, last - after) if last > after else []), after


def graph_of(who: Caller, report: ExecutionReport, show_all: bool) -> str:
    """The execution's graph as SVG, coloured by status; above ``graph_svg.LIMIT`` steps
    the collapsed view unless ``show_all``."""
    spec = who.app.definition(report.workflow, report.workflow_version).spec
    return graph_svg.render_for_page(
        graph_svg.nodes_of(spec, {st.id: st.status for st in report.steps}),
        f"execution {report.id}: {report.status}", show_all=show_all)


@router.get("/executions/{execution_id}/graph", response_class=HTMLResponse)
def graph(request: Request, execution_id: str,
          who: Annotated[Caller, Depends(signed_in("get_graph"))],
          view: Annotated[str | None, Query(alias="graph", max_length=10)] = None
          ) -> HTMLResponse:
    """The Graph tab's picture as it is now (``?graph=all``: every step)."""
    svg = graph_of(who, who.app.status(execution_id), view == "all")
    return HTMLResponse(svg, headers={"Cache-Control": "no-store"})


@router.get("/executions/{execution_id}/ledger", response_class=HTMLResponse)
def ledger_rows(request: Request, execution_id: str,
                who: Annotated[Caller, Depends(signed_in("get_history"))],
                before: Annotated[int, Query(ge=2)]) -> HTMLResponse:
    """The Ledger tab's ``LEDGER_PAGE`` entries before entry ``before`` (and the button
    for the ones before them)."""
    summary = who.app.execution(execution_id)
    entries, after = _page_upto(who, summary.id, before - 1)
    return page(request, "ledger_rows.html", e=summary, entries=entries, earlier=after,
                ledger_page=LEDGER_PAGE, can_fork=may(who, "fork_execution"))


@router.get("/executions/{execution_id}/steps", response_class=HTMLResponse)
def steps(request: Request, execution_id: str,
          who: Annotated[Caller, Depends(signed_in("get_execution_status"))],
          shown: Annotated[int | None, Query(ge=1, le=1_000_000)] = None) -> HTMLResponse:
    """The Steps tab's content (attempts, agents, durations) for the first ``shown`` steps
    (default ``STEPS_PAGE``), read again when the tab is opened; the stream moves its status
    badges meanwhile."""
    return page(request, "steps.html", report=who.app.status(execution_id),
                steps_shown=shown or STEPS_PAGE, steps_page=STEPS_PAGE)


# how an attempt ended, by the entry that ended it (where its step's status says less)
ENDED_AS = {"step.retry_scheduled": "failed", "step.completed": "completed",
            "step.failed": "failed"}


def attempts_of(history: list[HistoryEntry], step_id: str) -> list[dict[str, Any]]:
    """Each attempt of a step from its ledger entries, in order: when it started, with which
    agent and input, and how it ended (output, error or what moved it)."""
    found: list[dict[str, Any]] = []
    for h in history:
        if h.step_id != step_id:
            continue
        payload = h.payload if isinstance(h.payload, dict) else {}
        if h.event_type == "step.started" or not found:
            found.append({"attempt": h.attempt, "started_at": None, "agent": None,
                          "input": None, "has_input": False, "ended": None})
        one = found[-1]
        if h.event_type == "step.started":
            one.update(started_at=h.occurred_at, agent=payload.get("agent"),
                       input=payload.get("input"), has_input="input" in payload)
        else:
            one["ended"] = {"event": h.event_type, "at": h.occurred_at,
                            "status": ENDED_AS.get(h.event_type, h.to_state or "ended"),
                            "output": payload.get("output"), "has_output": "output" in payload,
                            "error": payload.get("error")}
    return found


@router.get("/executions/{execution_id}/steps/{step_id}", response_class=HTMLResponse)
def step_detail(request: Request, execution_id: str, step_id: str,
                who: Annotated[Caller, Depends(signed_in("get_routing"))]) -> HTMLResponse:
    """One step's attempts, routing decisions and logs (the Steps tab's details)."""
    report = who.app.status(execution_id)
    step = next((st for st in report.steps if st.id == step_id), None)
    if step is None:
        raise errors.NotFound(f"execution {report.id} has no step {step_id!r}", kind="step",
                              id=step_id, execution_id=report.id)
    decisions = [d for d in who.app.routing(report.id) if d.step_id == step_id]
    logs = [r for r in who.app.logs(report.id, 0, 100_000) if r.step_id == step_id]
    return page(request, "step_detail.html", report=report, step=step,
                attempts=attempts_of(who.app.history(report.id), step_id),
                decisions=decisions, logs=logs[-STEP_LOGS:], logs_total=len(logs))
