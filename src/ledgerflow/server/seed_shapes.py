"""The origin notes' response shapes (seed 004), built from the engine's read models (pure):
``{success, data}`` with camelCase members, and ``{success: false, error: {code,
message}}`` for every error on those routes.

A *thread* is a parallel branch of the workflow's graph: a chain of steps where each step
needs the one before and is the only step that needs it. A straight chain is one thread; a
fan-out starts one thread per branch, and a join starts a new one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ledgerflow.engine.reports.status import ExecutionReport

SETTLED_DONE = frozenset({"completed", "skipped"})


def branches(steps: Sequence[tuple[str, Sequence[str]]]) -> list[list[str]]:
    """The graph's threads, in definition order, from (step id, its needs) pairs."""
    dependents = Counter(n for _, needs in steps for n in needs)
    thread_of: dict[str, int] = {}
    threads: list[list[str]] = []
    for step_id, needs in steps:
        if len(needs) == 1 and dependents[needs[0]] == 1 and needs[0] in thread_of:
            index = thread_of[needs[0]]
        else:
            index = len(threads)
            threads.append([])
        thread_of[step_id] = index
        threads[index].append(step_id)
    return threads


def ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "data": data}


def failure(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}}


def status(report: ExecutionReport, steps: Sequence[tuple[str, Sequence[str]]]) -> dict[str, Any]:
    p, t = report.progress, report.timing
    done = {st.id for st in report.steps if st.status in SETTLED_DONE}
    return {
        "executionID": report.id,
        "processID": report.workflow,
        "status": report.status,
        "isActive": report.active,
        "progress": {"totalNodes": p.total, "completedNodes": p.done,
                     "failedNodes": p.failed, "percentage": p.percentage},
        "timing": {"startedAt": t.started_at, "stoppedAt": t.finished_at,
                   "durationMs": None if t.duration_seconds is None
                   else round(t.duration_seconds * 1000)},
        "threads": [{"threadExecutionID": f"{report.id}.{i}", "processThreadID": i,
                     "completedNodes": sum(1 for sid in thread if sid in done),
                     "totalNodes": len(thread)}
                    for i, thread in enumerate(branches(steps), start=1)],
    }


def paused(report: ExecutionReport, at: str | None) -> dict[str, Any]:
    return {"executionID": report.id, "status": report.status,
            "completedNodes": report.progress.done, "totalNodes": report.progress.total,
            "pausedAt": at}


def resumed(report: ExecutionReport, at: str | None) -> dict[str, Any]:
    return {"executionID": report.id, "status": report.status, "resumedAt": at,
            "pendingNodes": report.progress.pending}


def cancelled(report: ExecutionReport, at: str | None) -> dict[str, Any]:
    return {"executionID": report.id, "status": report.status, "cancelledAt": at}

