"""The status report of an execution: progress, timing and per-step detail. Pure."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ledgerflow.engine.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.storage.rows import ExecutionRow, StepRow, parse_column


@dataclass(frozen=True, kw_only=True, slots=True)
class Progress:
    total: int
    completed: int
    failed: int
    skipped: int
    running: int
    pending: int
    percentage: float


@dataclass(frozen=True, kw_only=True, slots=True)
class Timing:
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration_seconds: float | None
    expected_duration_seconds: float | None  # median of recent completed runs, if any
    eta_seconds: float | None  # time left by that median; None when finished or unknown


@dataclass(frozen=True, kw_only=True, slots=True)
class StepReport:
    id: str
    status: str
    attempts: int
    agent: str | None
    error: str | None
    started_at: str | None
    finished_at: str | None
    duration_seconds: float | None


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionReport:
    id: str
    workflow: str
    workflow_version: int
    status: str
    active: bool
    progress: Progress
    timing: Timing
    steps: tuple[StepReport, ...]
    error: str | None
    result: Any
    state_version: int
    recoveries: int
    head_seq: int
    head_hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def seconds_between(start: str | None, end: str | None, now: datetime) -> float | None:
    if start is None:
        return None
    stop = parse_time(end) if end is not None else now
    return round((stop - parse_time(start)).total_seconds(), 6)


def progress_of(statuses: Sequence[str]) -> Progress:
    count = {s: 0 for s in StepStatus}
    for status in statuses:
        count[StepStatus(status)] += 1
    total = len(statuses)
    failed = count[StepStatus.FAILED] + count[StepStatus.INTERRUPTED]
    done = count[StepStatus.COMPLETED] + count[StepStatus.SKIPPED] + failed \
        + count[StepStatus.CANCELLED]
    return Progress(
        total=total,
        completed=count[StepStatus.COMPLETED],
        failed=failed,
        skipped=count[StepStatus.SKIPPED],
        running=count[StepStatus.RUNNING],
        pending=count[StepStatus.PENDING],
        percentage=round(100.0 * done / total, 1) if total else 100.0,
    )


def expected_duration(history: Sequence[tuple[str, str]]) -> float | None:
    """Median duration of earlier runs, given their (started_at, finished_at)."""
    durations = [(parse_time(end) - parse_time(start)).total_seconds() for start, end in history]
    return round(statistics.median(durations), 6) if durations else None


def eta(status: ExecutionStatus, elapsed: float | None, expected: float | None) -> float | None:
    if expected is None or status.terminal:
        return None
    return round(max(expected - (elapsed or 0.0), 0.0), 6)


def report(row: ExecutionRow, steps: Sequence[StepRow], now: datetime,
           expected: float | None = None) -> ExecutionReport:
    status = ExecutionStatus(row.status)
    elapsed = seconds_between(row.started_at, row.finished_at, now)
    return ExecutionReport(
        id=row.id,
        workflow=row.workflow,
        workflow_version=row.workflow_version,
        status=row.status,
        active=status.active,
        progress=progress_of([s.status for s in steps]),
        timing=Timing(
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            duration_seconds=elapsed,
            expected_duration_seconds=expected,
            eta_seconds=eta(status, elapsed, expected),
        ),
        steps=tuple(
            StepReport(
                id=s.step_id,
                status=s.status,
                attempts=s.attempt,
                agent=s.agent,
                error=s.error,
                started_at=s.started_at,
                finished_at=s.finished_at,
                duration_seconds=seconds_between(s.started_at, s.finished_at, now)
                if s.status != StepStatus.PENDING else None,
            )
            for s in steps
        ),
        error=row.error,
        result=parse_column(row.result, f"result of execution {row.id}"),
        state_version=row.state_version,
        recoveries=row.recoveries,
        head_seq=row.head_seq,
        head_hash=row.head_hash,
    )
