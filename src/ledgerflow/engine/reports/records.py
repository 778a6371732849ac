"""The public read model: what ``App`` hands out, built from stored rows at this edge.

Every type is a frozen value with ``to_dict()``, the JSON shape a face shows (the CLI's
``--json`` prints exactly these dictionaries). Stored JSON columns are parsed here, so a
caller never sees storage text.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.reports.status import graph_steps, progress_of
from ledgerflow.storage.rows import (
    BreakerTransitionRow,
    DecisionRow,
    DefinitionRow,
    ExecutionRow,
    StateVersionRow,
    TelemetryRow,
    parse_column,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionSummary:
    """One execution as a list shows it, plus the counters and links a program asks for.

    ``to_dict()`` is the list entry: id, workflow, version, status, times, error."""

    id: str
    workflow: str
    workflow_version: int
    definition_sha256: str
    status: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: str | None
    input: Any
    result: Any
    version: int  # bumped by every committed change (the optimistic guard)
    state_version: int
    head_seq: int
    head_hash: str
    recoveries: int
    updated_at: str
    expires_at: str | None
    forked_from: str | None
    forked_at_seq: int | None

    @classmethod
    def from_row(cls, row: ExecutionRow) -> ExecutionSummary:
        where = f"execution {row.id}"
        return cls(
            id=row.id, workflow=row.workflow, workflow_version=row.workflow_version,
            definition_sha256=row.definition_sha256, status=row.status,
            created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
            error=row.error, input=parse_column(row.input, f"input of {where}"),
            result=parse_column(row.result, f"result of {where}"), version=row.version,
            state_version=row.state_version, head_seq=row.head_seq, head_hash=row.head_hash,
            recoveries=row.recoveries, updated_at=row.updated_at, expires_at=row.expires_at,
            forked_from=row.forked_from, forked_at_seq=row.forked_at_seq,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "workflow": self.workflow, "workflow_version": self.workflow_version,
            "status": self.status, "created_at": self.created_at,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "error": self.error,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class DefinitionInfo:
    """A stored definition version (the latest of each name in a listing)."""

    name: str
    version: int
    sha256: str
    created_at: str
    spec: Any  # the definition as stored (its canonical form)

    @classmethod
    def from_row(cls, row: DefinitionRow) -> DefinitionInfo:
        return cls(name=row.name, version=row.version, sha256=row.sha256,
                   created_at=row.created_at,
                   spec=parse_column(row.spec, f"definition {row.name} v{row.version}"))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256,
                "created_at": self.created_at}


@dataclass(frozen=True, kw_only=True, slots=True)
class StateVersion:
    """The state document as of one version, and the ledger entry that made it."""

    execution_id: str
    version: int
    seq: int
    sha256: str
    created_at: str
    state: Any

    @classmethod
    def from_row(cls, row: StateVersionRow) -> StateVersion:
        return cls(execution_id=row.execution_id, version=row.version, seq=row.seq,
                   sha256=row.sha256, created_at=row.created_at,
                   state=parse_column(row.state, f"state version {row.version}"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class RoutingDecision:
    """How one attempt was routed: the chosen agent, every candidate's score, the outcome."""

    execution_id: str
    step_id: str
    epoch: int
    attempt: int
    capability: str
    agent: str
    candidates: list[dict[str, Any]]
    reason: str
    decided_at: str
    outcome: str | None  # "success" | "failure", once the attempt ended
    duration_ms: float | None
    finished_at: str | None

    @classmethod
    def from_row(cls, row: DecisionRow) -> RoutingDecision:
        candidates = parse_column(row.candidates, f"candidates of step {row.step_id!r}")
        return cls(execution_id=row.execution_id, step_id=row.step_id, epoch=row.epoch,
                   attempt=row.attempt, capability=row.capability, agent=row.agent,
                   candidates=candidates, reason=row.reason, decided_at=row.decided_at,
                   outcome=row.outcome, duration_ms=row.duration_ms,
                   finished_at=row.finished_at)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class LogRecord:
    """One telemetry record of an execution: a step log, an engine event, an error."""

    id: int | None
    kind: str
    step_id: str | None
    message: str
    fields: Any
    at: str

    @classmethod
    def from_row(cls, row: TelemetryRow) -> LogRecord:
        return cls(id=row.id, kind=row.kind, step_id=row.step_id, message=row.message,
                   fields=parse_column(row.fields, f"fields of log record {row.id}",
                                       json.loads),
                   at=row.occurred_at)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class BreakerTransition:
    """A circuit breaker moving from one state to another, and who or what moved it."""

    capability: str
    agent: str
    from_state: str
    to_state: str
    reason: str
    actor: str
    occurred_at: str
    id: int | None

    @classmethod
    def from_row(cls, row: BreakerTransitionRow) -> BreakerTransition:
        return cls(**asdict(row))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionUpdate:
    """What a worker's listener hears after each commit that changed an execution."""

    id: str
    workflow: str
    workflow_version: int
    status: str
    terminal: bool
    error: str | None
    steps_total: int  # the graph's steps, as the status report's progress counts them
    steps_done: int  # completed or skipped: the report's ``progress.done``

    @classmethod
    def from_view(cls, view: ExecutionView) -> ExecutionUpdate:
        progress = progress_of(view.steps.values(), graph_steps(view.definition))
        return cls(id=view.id, workflow=view.row.workflow,
                   workflow_version=view.row.workflow_version, status=view.row.status,
                   terminal=view.status.terminal, error=view.row.error,
                   steps_total=progress.total, steps_done=progress.done)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
