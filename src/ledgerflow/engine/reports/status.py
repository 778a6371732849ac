"""The status report of an execution: progress, timing and per-step detail. Pure."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ledgerflow.engine.model.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.rows import ExecutionRow, StepRow, parse_column

if TYPE_CHECKING:  # annotations only: a status never loads the definition model
    from ledgerflow.definition.model import Definition


@dataclass(frozen=True, kw_only=True, slots=True)
class Progress:
    """How far an execution's graph is: its steps by status (``progress_of``)."""

    total: int
    done: int  # completed + skipped: what a progress bar shows, done of total
    completed: int
    failed: int  # failed or interrupted
    skipped: int
    cancelled: int
    running: int
    pending: int
    percentage: float  # done of total


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
    heartbeat_at: str | None = None  # the running attempt's last heartbeat
    heartbeat: Any = None  # ... and its details
    waiting_for_agent: str | None = None  # pending: no worker routing it offered this
    waiting: str | None = None  # why a pending step whose needs are met has not started


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
    pending_steps: tuple[str, ...] = ()  # the stack: what runs next once it may
    waiting_for: tuple[dict[str, Any], ...] = ()  # running waits/sleeps: step, signal, until
    state: Any = None  # the state document (the memory), shown while paused
    expires_at: str | None = None
    forked_from: str | None = None
    forked_at_seq: int | None = None
    forks: tuple[str, ...] = ()
    signals_pending: int = 0  # received, not yet taken by a wait step
    # steps no worker could route: step, capability, offered_by (live workers), message
    waiting_for_agents: tuple[dict[str, Any], ...] = ()
    # a worker set it aside, able neither to move it on nor to fail it: reason, since
    quarantined: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def seconds_between(start: str | None, end: str | None, now: datetime) -> float | None:
    if start is None:
        return None
    stop = parse_time(end) if end is not None else now
    return round((stop - parse_time(start)).total_seconds(), 6)


def graph_steps(definition: Definition) -> frozenset[str]:
    """The ids of a definition's steps: what progress counts."""
    return frozenset(step.id for step in definition.steps)


def progress_of(steps: Iterable[StepRow], graph: Collection[str]) -> Progress:
    """The one definition of progress, for every face (status, bars, ``list --metrics``).

    It counts the steps of the graph (``graph``: ``graph_steps`` of the definition); the
    runs of signal handlers (``on.*``) are not steps of the graph and count nowhere here.
    Done is completed or skipped: ``done`` of ``total`` is what a bar shows and
    ``percentage`` measures. A failed, interrupted or cancelled step is settled but not
    done, so a run cancelled before any step ran stays at 0 %.
    """
    count = {s: 0 for s in StepStatus}
    for step in steps:
        if step.step_id in graph:
            count[StepStatus(step.status)] += 1
    total = sum(count.values())
    done = count[StepStatus.COMPLETED] + count[StepStatus.SKIPPED]
    return Progress(
        total=total,
        done=done,
        completed=count[StepStatus.COMPLETED],
        failed=count[StepStatus.FAILED] + count[StepStatus.INTERRUPTED],
        skipped=count[StepStatus.SKIPPED],
        cancelled=count[StepStatus.CANCELLED],
        running=count[StepStatus.RUNNING],
        pending=count[StepStatus.PENDING],
        percentage=round(100.0 * done / total, 1) if total else 100.0,
    )


def expected_duration(history: Sequence[tuple[str, str]]) -> float | None:
    """Median duration of earlier runs, given their (started_at, finished_at)."""
    durations = [(parse_time(end) - parse_time(start)).total_seconds() for start, end in history]
    return round(_median(durations), 6) if durations else None


def eta(status: ExecutionStatus, elapsed: float | None, expected: float | None) -> float | None:
    if expected is None or status.terminal:
        return None
    return round(max(expected - (elapsed or 0.0), 0.0), 6)


@dataclass(frozen=True, kw_only=True, slots=True)
class Extras:
    """What a report shows beyond the execution and step rows."""

    waits: Mapping[str, str]  # step id -> signal name ("" for a sleep), for wait steps
    forks: Sequence[str] = ()
    signals_pending: int = 0
    offered_by: Mapping[str, Sequence[str]] = field(default_factory=dict)  # live workers
    needs: Mapping[str, Sequence[str]] = field(default_factory=dict)  # step id -> its needs
    # step id -> (its capability, the limit of it in the worker holding the execution)
    limited: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    quarantined: Mapping[str, Any] | None = None  # a worker set it aside: reason, since


READY = "ready, waiting for a free slot"


def _waiting(step: StepRow, done: set[str], extra: Extras, status: ExecutionStatus,
             now: str) -> str | None:
    """A pending step whose needs are met in a live execution waits for a handler slot
    (a worker's admission queue; of its capability too, where that worker limits it), or
    until its retry time."""
    if step.status != StepStatus.PENDING or status not in (ExecutionStatus.RUNNING,
                                                           ExecutionStatus.WAITING):
        return None
    if not all(n in done for n in extra.needs.get(step.step_id, ())):
        return None
    if step.ready_at is not None and step.ready_at > now:
        return f"waiting until {step.ready_at} (retry backoff or open breakers)"
    if step.step_id in extra.limited:
        capability, limit = extra.limited[step.step_id]
        return f"{READY} of {capability} ({limit} at a time in its worker)"
    return READY


def report(row: ExecutionRow, steps: Sequence[StepRow], graph: Collection[str],
           now: datetime, expected: float | None = None,
           extras: Extras | None = None) -> ExecutionReport:
    """The report of an execution from its rows; ``graph`` as ``progress_of`` takes it."""
    status = ExecutionStatus(row.status)
    extra = extras or Extras(waits={})
    waiting = tuple(
        {"step": s.step_id, "signal": extra.waits[s.step_id] or None, "until": s.ready_at}
        for s in steps if s.status == StepStatus.RUNNING and s.step_id in extra.waits
    )
    elapsed = seconds_between(row.started_at, row.finished_at, now)
    done = {s.step_id for s in steps if s.status in (StepStatus.COMPLETED, StepStatus.SKIPPED)}
    now_text = format_timestamp(now)
    return ExecutionReport(
        id=row.id,
        workflow=row.workflow,
        workflow_version=row.workflow_version,
        status=row.status,
        active=status.active,
        progress=progress_of(steps, graph),
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
                waiting_for_agent=s.waiting_for if s.status == StepStatus.PENDING else None,
                waiting=_waiting(s, done, extra, status, now_text) if extra.needs else None,
                **_heartbeat(s),
            )
            for s in steps
        ),
        error=row.error,
        result=parse_column(row.result, f"result of execution {row.id}"),
        state_version=row.state_version,
        recoveries=row.recoveries,
        head_seq=row.head_seq,
        head_hash=row.head_hash,
        pending_steps=tuple(s.step_id for s in steps if s.status == StepStatus.PENDING),
        waiting_for=waiting,
        state=parse_column(row.state, f"state of execution {row.id}")
        if status is ExecutionStatus.PAUSED else None,
        expires_at=row.expires_at,
        forked_from=row.forked_from,
        forked_at_seq=row.forked_at_seq,
        forks=tuple(extra.forks),
        signals_pending=extra.signals_pending,
        quarantined=dict(extra.quarantined) if extra.quarantined else None,
        waiting_for_agents=tuple(_agent_wait(s.step_id, s.waiting_for, extra.offered_by)
                                 for s in steps
                                 if s.status == StepStatus.PENDING and s.waiting_for),
    )


def _agent_wait(step_id: str, capability: str,
                offered_by: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    workers = list(offered_by.get(capability, ()))
    who = f"offered by worker {', '.join(workers)}" if workers else "none running"
    return {"step": step_id, "capability": capability, "offered_by": workers,
            "message": f"waiting for an agent offering {capability} ({who})"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Metrics:
    """Counts and ages of one execution, for ``list --metrics``."""

    steps_done: int
    steps_total: int
    running: int
    state_versions: int
    signals: int
    ledger_entries: int
    age_seconds: float
    idle_seconds: float  # since its last change
    expires_in_seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def metrics(row: ExecutionRow, steps: Sequence[StepRow], graph: Collection[str],
            signals: int, now: datetime) -> Metrics:
    """Counts and ages of an execution; its steps done of total as ``progress_of`` says."""
    progress = progress_of(steps, graph)
    expires = (parse_time(row.expires_at) - now).total_seconds() if row.expires_at else None
    return Metrics(
        steps_done=progress.done, steps_total=progress.total, running=progress.running,
        state_versions=row.state_version, signals=signals, ledger_entries=row.head_seq,
        age_seconds=round((now - parse_time(row.created_at)).total_seconds(), 3),
        idle_seconds=round((now - parse_time(row.updated_at)).total_seconds(), 3),
        expires_in_seconds=round(expires, 3) if expires is not None else None,
    )


def _heartbeat(step: StepRow) -> dict[str, Any]:
    """The last heartbeat of the step's current attempt, if it is running and sent one."""
    if step.status != StepStatus.RUNNING or step.heartbeat is None:
        return {}
    beat = parse_column(step.heartbeat, f"heartbeat of step {step.step_id!r}")
    if not isinstance(beat, dict) or beat.get("epoch") != step.epoch:
        return {}
    return {"heartbeat_at": step.heartbeat_at, "heartbeat": beat.get("details")}


def _median(values: Sequence[float]) -> float:
    """``statistics.median`` (whose module a status would load for this alone)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
