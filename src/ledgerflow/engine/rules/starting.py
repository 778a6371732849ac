"""Building the first change of a new execution: rows, first ledger entry, state version 1."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ledgerflow import errors
from ledgerflow.definition.model import Definition
from ledgerflow.engine.model.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.engine.model.transition import text, value_sha256
from ledgerflow.ledger import chain
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import Change
from ledgerflow.storage.rows import (
    DefinitionRow,
    ExecutionRow,
    LedgerRow,
    StateVersionRow,
    StepRow,
)

INITIAL_STATE: dict[str, Any] = {}
MAX_ID = 255  # characters of a client-chosen execution id
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def check_id(execution_id: str) -> None:
    """Refuse a client-chosen execution id no face could show or take back: longer than
    ``MAX_ID`` characters, or holding control characters (NUL, newlines)."""
    if len(execution_id) > MAX_ID:
        raise errors.InputValidationError(
            f"execution id of {len(execution_id)} characters is too long: ids take at most "
            f"{MAX_ID}", path="execution_id")
    if _CONTROL.search(execution_id):
        raise errors.InputValidationError(
            f"execution id {execution_id!r} holds a control character; use printable text",
            path="execution_id")


@dataclass(frozen=True, kw_only=True, slots=True)
class Origin:
    """Where a fork starts: the execution, the ledger entry, and what it had by then."""

    execution_id: str
    seq: int
    entry_hash: str
    state: Any
    steps: Mapping[str, tuple[StepStatus, str | None]]  # id -> (status, output text)


def new_execution(*, tenant_id: str, execution_id: str, row: DefinitionRow,
                  definition: Definition, input: Any, now: datetime,
                  actor: chain.Actor, ttl: float | None = None,
                  origin: Origin | None = None) -> Change:
    """The first change of an execution: pending, state version 1, its first ledger entry.

    ``ttl`` (else the definition's) sets ``expires_at``. ``origin`` makes it a fork: it
    starts with the origin's state and the steps it had completed or skipped by then."""
    now_text = format_timestamp(now)
    input_text = text(input)
    state = INITIAL_STATE if origin is None else origin.state
    state_text = text(state)
    lifetime = ttl if ttl is not None else definition.ttl
    expires_at = format_timestamp(now + timedelta(seconds=lifetime)) if lifetime else None
    payload: dict[str, Any] = {"input": input}
    if expires_at is not None:
        payload["expires_at"] = expires_at
    if origin is not None:
        payload["forked_from"] = {"execution_id": origin.execution_id, "seq": origin.seq,
                                  "entry_hash": origin.entry_hash}
        payload["steps"] = {sid: str(status) for sid, (status, _) in origin.steps.items()}
    header = chain.ChainHeader(
        tenant_id=tenant_id, execution_id=execution_id, workflow_id=row.name,
        workflow_version=row.version, definition_sha256=row.sha256,
    )
    event = chain.EventSpec(event_type="execution.created", from_state=None,
                            to_state=str(ExecutionStatus.PENDING), actor=actor,
                            payload=payload)
    entries = chain.append(header, 0, chain.GENESIS_HASH, [event], now, LedgerRow)
    state_sha = value_sha256(state)
    execution = ExecutionRow(
        id=execution_id, tenant_id=tenant_id, workflow=row.name, workflow_version=row.version,
        definition_sha256=row.sha256, status=str(ExecutionStatus.PENDING), input=input_text,
        input_sha256=value_sha256(input), result=None, error=None, state=state_text,
        state_sha256=state_sha, state_version=1, head_seq=entries[-1].seq,
        head_hash=entries[-1].entry_hash, version=1, recoveries=0, created_at=now_text,
        started_at=None, finished_at=None, updated_at=now_text, expires_at=expires_at,
        forked_from=origin.execution_id if origin else None,
        forked_at_seq=origin.seq if origin else None,
    )
    had = origin.steps if origin is not None else {}
    steps = tuple(
        StepRow(execution_id=execution_id, step_id=s.id,
                status=str(had.get(s.id, (StepStatus.PENDING, None))[0]),
                output=had.get(s.id, (StepStatus.PENDING, None))[1],
                finished_at=now_text if s.id in had else None)
        for s in definition.steps
    )
    return Change(
        execution=execution, expected_version=None, new_steps=steps,
        state_version=StateVersionRow(execution_id=execution_id, version=1, seq=1,
                                      state=state_text, sha256=state_sha, created_at=now_text),
        ledger=tuple(entries),
    )
