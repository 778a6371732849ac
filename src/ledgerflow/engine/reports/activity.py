"""The public read model of what happened around executions: routing decisions, logs and
circuit breaker moves. Frozen values with ``to_dict()``, like ``reports.records``; apart
from them so the commands that read executions (``status``, ``list``) never define these.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ledgerflow.storage.rows import DecisionRow, parse_column

if TYPE_CHECKING:  # annotations only: the rows load on first use (``rows``)
    from ledgerflow.storage.agent_rows import BreakerTransitionRow, TelemetryRow


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
                                       json.loads),  # old records may hold NaN
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
