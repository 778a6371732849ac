"""Rows as the storage layer reads and writes them.

Value columns (inputs, outputs, state, signal data, results, payloads) travel as the text
``ledger.values.encode`` wrote: the engine already produced it, so storage never
re-serialises, and ``parse_column`` (``values.decode``) gives the value back exactly. Values
are text in both dialects, never ``jsonb`` (which would reorder keys and drop ``2.0``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ledgerflow import errors
from ledgerflow.ledger import state_patches, values

# the rows of workers and agents live in ``agent_rows``: each name here loads it on first use
# (PEP 562), so reading an execution defines none of them
_EXPORTS = {name: "ledgerflow.storage.agent_rows" for name in (
    "AgentRow", "BreakerRow", "BreakerTransitionRow", "ClaimRow", "HeartbeatRow", "OutcomeRow",
    "RemovedOutcomesRow", "StatsRow", "StatsSnapshot", "TelemetryRow", "WorkerRow")}

if TYPE_CHECKING:  # the same names, for type checkers and readers (a test holds them equal)
    from ledgerflow.storage.agent_rows import (
        AgentRow,
        BreakerRow,
        BreakerTransitionRow,
        ClaimRow,
        HeartbeatRow,
        OutcomeRow,
        RemovedOutcomesRow,
        StatsRow,
        StatsSnapshot,
        TelemetryRow,
        WorkerRow,
    )
else:
    from ledgerflow import _lazy

    __getattr__, __dir__ = _lazy.exports(__name__, _EXPORTS)


def parse_column(text: str | None, what: str,
                 read: Callable[[str], Any] = values.decode) -> Any:
    """The value of a stored text column; a corrupted one is a ``CorruptedRow`` naming
    ``what``. ``read``: ``json.loads`` for a column that holds no value of an execution
    (log fields, written leniently, may hold NaN)."""
    if text is None:
        return None
    try:
        return read(text)
    except ValueError as exc:
        raise errors.CorruptedRow(
            f"{what} is not valid JSON in the database ({exc}); the row was changed outside "
            "ledgerflow: verify the ledgers to see which executions it affects", what=what,
        ) from exc


@dataclass(frozen=True, kw_only=True, slots=True)
class DefinitionRow:
    tenant_id: str
    name: str
    version: int
    sha256: str
    spec: str
    created_at: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionRow:
    id: str
    tenant_id: str
    workflow: str
    workflow_version: int
    definition_sha256: str
    status: str
    input: str
    input_sha256: str
    result: str | None
    error: str | None
    state: str
    state_sha256: str
    state_version: int
    head_seq: int
    head_hash: str
    version: int
    recoveries: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    updated_at: str
    expires_at: str | None = None  # a session's deadline (TTL); past it, it expires
    forked_from: str | None = None  # the execution this one was forked from
    forked_at_seq: int | None = None  # ... as of that ledger entry
    lease_owner: str | None = None  # the worker driving it (``storage.leases``)
    lease_epoch: int = 0  # bumped by every claim: a takeover makes older writes stale
    lease_expires_at: str | None = None  # when the lease lapses unless renewed


@dataclass(frozen=True, kw_only=True, slots=True)
class StepRow:
    execution_id: str
    step_id: str
    status: str
    attempt: int = 0
    epoch: int = 0
    agent: str | None = None
    output: str | None = None
    error: str | None = None
    ready_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    heartbeat_at: str | None = None  # written apart from the engine's step updates
    heartbeat: str | None = None  # JSON {"epoch": N, "details": ...}
    waiting_for: str | None = None  # pending: the capability no worker routing it offered


@dataclass(frozen=True, kw_only=True, slots=True)
class StateVersionRow:
    """A state version as stored: ``kind`` says whether ``state`` is the document's text
    or the patch from the previous version's (``ledger.state_patches``); ``sha256`` is
    always the full document's."""

    execution_id: str
    version: int
    seq: int
    state: str
    sha256: str
    created_at: str
    kind: str = state_patches.FULL


def rebuilt_version(rows: list[StateVersionRow]) -> StateVersionRow:
    """The last of ``rows`` (consecutive versions of one execution from a full one, as
    stored) holding its whole document's text. A document that cannot be rebuilt is a
    ``CorruptedRow``; a full one is returned as it is (its text is read where used)."""
    last = rows[-1]
    if last.kind == state_patches.FULL:
        return last
    try:
        text = state_patches.latest_text(rows)
    except (ValueError, errors.LedgerError) as exc:
        what = f"state version {last.version}"
        raise errors.CorruptedRow(
            f"{what} cannot be rebuilt from the database ({exc}); the rows were changed "
            "outside ledgerflow: verify the ledgers to see which executions it affects",
            what=what,
        ) from exc
    return replace(last, kind=state_patches.FULL, state=text)


@dataclass(frozen=True, kw_only=True, slots=True)
class LedgerRow:
    execution_id: str
    seq: int
    event_type: str
    step_id: str | None
    occurred_at: str
    prev_hash: str
    entry_hash: str
    body: str  # the exact canonical bytes that were hashed
    payload: str | None  # canonical payload text; None once erased


@dataclass(frozen=True, kw_only=True, slots=True)
class DecisionRow:
    execution_id: str
    step_id: str
    epoch: int
    attempt: int
    capability: str
    agent: str
    candidates: str
    reason: str
    decided_at: str
    outcome: str | None = None  # "success" | "failure", once the attempt ended
    duration_ms: float | None = None
    finished_at: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SignalRow:
    execution_id: str
    seq: int  # the ledger entry that recorded it
    name: str
    data: str  # stored text (``values.encode``)
    received_at: str
    consumed_by: str | None = None  # the wait step that took it
    consumed_at: str | None = None
    handled: int = 0  # 1 once its handler runs were created


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionRows:
    """An execution's row with its steps and signals, as ``load_steps`` and ``load_signals``
    give them: what the worker builds its view from."""

    execution: ExecutionRow
    steps: list[StepRow]
    signals: list[SignalRow]


@dataclass(frozen=True, kw_only=True, slots=True)
class TombstoneRow:
    execution_id: str
    tenant_id: str
    workflow: str
    workflow_version: int
    final_status: str
    head_seq: int
    head_hash: str
    created_at: str
    finished_at: str | None
    removed_at: str
    removed_by: str


__all__ = [  # with the agent rows, which load on first use
    "AgentRow",
    "BreakerRow",
    "BreakerTransitionRow",
    "ClaimRow",
    "DecisionRow",
    "DefinitionRow",
    "ExecutionRow",
    "ExecutionRows",
    "HeartbeatRow",
    "LedgerRow",
    "OutcomeRow",
    "RemovedOutcomesRow",
    "SignalRow",
    "StateVersionRow",
    "StatsRow",
    "StatsSnapshot",
    "StepRow",
    "TelemetryRow",
    "TombstoneRow",
    "WorkerRow",
    "parse_column",
    "rebuilt_version",
]
