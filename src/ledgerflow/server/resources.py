"""The execution resource ``E`` and its list entries, built from the engine's read models
(pure: no request, no database), and the opaque cursor of a list page."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime

from ledgerflow import errors
from ledgerflow.engine.reports.history import HistoryEntry
from ledgerflow.engine.reports.records import ExecutionSummary
from ledgerflow.engine.reports.status import ExecutionReport
from ledgerflow.server.problems import Problem
from ledgerflow.server.schemas import executions as s

API = "/api/v1"
# what an operator action asked again finds done already: no change and no error
DONE_ALREADY = {"pause": frozenset({"paused"}),
                "resume": frozenset({"pending", "running", "waiting"}),
                "cancel": frozenset({"cancelled"})}


def done_already(action: str, status: str | None) -> bool:
    return status in DONE_ALREADY.get(action, frozenset())


def commanded(action: str, call: Callable[[], object]) -> tuple[bool, object]:
    """Run an operator command: whether it changed anything, and what it returned. Asking
    for what is done already (a second pause) is no change; any other refusal is raised."""
    try:
        result = call()
    except errors.InvalidTransition as exc:
        if not done_already(action, exc.current_status):
            raise
        return False, None
    return result is not False and result != [], result


def millis(seconds: float | None) -> int | None:
    """A duration in seconds as the API's integer ``*_ms``."""
    return None if seconds is None else round(seconds * 1000)


def millis_between(start: str | None, end: str | None) -> int | None:
    if start is None or end is None:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start))
                 .total_seconds() * 1000)


def last_control(entry: HistoryEntry | None) -> s.LastControl | None:
    """The newest operator entry of a ledger (pause, resume, cancel, retry, rerun, edit:
    ``App.last_control``) as the API shows it."""
    if entry is None:
        return None
    payload = entry.payload if isinstance(entry.payload, dict) else {}
    reason = payload.get("reason")
    return s.LastControl(action=entry.event_type, actor=entry.actor,
                         reason=reason if isinstance(reason, str) else None,
                         at=entry.occurred_at, seq=entry.seq)


def links(execution_id: str) -> dict[str, str]:
    base = f"{API}/executions/{execution_id}"
    return {"self": base, "status": f"{base}/status", "history": f"{base}/history",
            "state": f"{base}/state", "logs": f"{base}/logs", "routing": f"{base}/routing",
            "graph": f"{base}/graph", "timeline": f"{base}/timeline"}


def execution(summary: ExecutionSummary, report: ExecutionReport,
              last: HistoryEntry | None) -> s.Execution:
    p, t = report.progress, report.timing
    return s.Execution(
        id=summary.id,
        workflow=s.WorkflowRef(name=summary.workflow, version=summary.workflow_version,
                               definition_sha256=summary.definition_sha256),
        status=report.status, version=report.head_seq, input=summary.input,
        result=summary.result, error=summary.error, created_at=summary.created_at,
        started_at=summary.started_at, finished_at=summary.finished_at,
        duration_ms=None if t.duration_seconds is None else round(t.duration_seconds * 1000),
        expires_at=summary.expires_at,
        progress=s.Progress(total=p.total, completed=p.completed, failed=p.failed,
                            skipped=p.skipped, running=p.running, pending=p.pending,
                            percentage=p.percentage,
                            eta_ms=millis(t.eta_seconds)),
        running_steps=[s.RunningStep(step_id=st.id, attempt=st.attempts, agent=st.agent,
                                     started_at=st.started_at)
                       for st in report.steps if st.status == "running"],
        last_control=last_control(last), forked_from=summary.forked_from,
        forked_at_seq=summary.forked_at_seq, forks=list(report.forks),
        ledger=s.LedgerHead(head_seq=report.head_seq, head_hash=report.head_hash),
        links=links(summary.id))


def item(summary: ExecutionSummary) -> s.ExecutionItem:
    return s.ExecutionItem(
        id=summary.id, workflow=summary.workflow, workflow_version=summary.workflow_version,
        status=summary.status, version=summary.head_seq, created_at=summary.created_at,
        started_at=summary.started_at, finished_at=summary.finished_at,
        duration_ms=millis_between(summary.started_at, summary.finished_at),
        error=summary.error, expires_at=summary.expires_at)


# cursors ----------------------------------------------------------------------------------

def cursor(summary: ExecutionSummary) -> str:
    """The opaque cursor after ``summary``: its (created_at, id), base64url."""
    raw = json.dumps([summary.created_at, summary.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def after(given: str | None) -> tuple[str, str] | None:
    """A cursor back to (created_at, id); a cursor this server did not make is a 400."""
    if given is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(given + "=" * (-len(given) % 4))
        created_at, execution_id = json.loads(raw)
        if isinstance(created_at, str) and isinstance(execution_id, str):
            return created_at, execution_id
    except (ValueError, TypeError):
        pass
    raise Problem(400, "malformed", f"cursor {given[:40]!r} is not one this API gave: pass "
                  "the next_cursor of the page before, unchanged",
                  problems=[{"path": "query.cursor", "message": "not a cursor of this API"}])
