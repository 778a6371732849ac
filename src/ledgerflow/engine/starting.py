"""Building the first change of a new execution: rows, first ledger entry, state version 1."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jsonschema

from ledgerflow import errors
from ledgerflow.definition.model import Definition
from ledgerflow.engine.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.engine.transition import ledger_rows, sha256_text, text
from ledgerflow.ledger import chain
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import Change
from ledgerflow.storage.rows import DefinitionRow, ExecutionRow, StateVersionRow, StepRow

INITIAL_STATE: dict[str, Any] = {}


def validate_input(definition: Definition, value: Any) -> None:
    """Raise ``InputValidationError`` listing every mismatch with the input schema."""
    schema = definition.input_schema
    if schema is None:
        return
    validator_cls = jsonschema.validators.validator_for(schema)
    problems = sorted(
        validator_cls(schema).iter_errors(value), key=lambda e: list(e.absolute_path)
    )
    if problems:
        lines = "; ".join(
            f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in problems
        )
        raise errors.InputValidationError(
            f"input does not match the input_schema of {definition.name!r}: {lines}"
        )


def new_execution(*, tenant_id: str, execution_id: str, row: DefinitionRow,
                  definition: Definition, input: Any, now: datetime,
                  actor: chain.Actor) -> Change:
    now_text = format_timestamp(now)
    input_text = text(input)
    state_text = text(INITIAL_STATE)
    header = chain.ChainHeader(
        tenant_id=tenant_id, execution_id=execution_id, workflow_id=row.name,
        workflow_version=row.version, definition_sha256=row.sha256,
    )
    event = chain.EventSpec(event_type="execution.created", from_state=None,
                            to_state=str(ExecutionStatus.PENDING), actor=actor,
                            payload={"input": input})
    entries = ledger_rows(chain.append(header, 0, chain.GENESIS_HASH, [event], now))
    state_sha = sha256_text(state_text)
    execution = ExecutionRow(
        id=execution_id, tenant_id=tenant_id, workflow=row.name, workflow_version=row.version,
        definition_sha256=row.sha256, status=str(ExecutionStatus.PENDING), input=input_text,
        input_sha256=sha256_text(input_text), result=None, error=None, state=state_text,
        state_sha256=state_sha, state_version=1, head_seq=entries[-1].seq,
        head_hash=entries[-1].entry_hash, version=1, recoveries=0, created_at=now_text,
        started_at=None, finished_at=None, updated_at=now_text,
    )
    steps = tuple(
        StepRow(execution_id=execution_id, step_id=s.id, status=str(StepStatus.PENDING))
        for s in definition.steps
    )
    return Change(
        execution=execution, expected_version=None, new_steps=steps,
        state_version=StateVersionRow(execution_id=execution_id, version=1, seq=1,
                                      state=state_text, sha256=state_sha, created_at=now_text),
        ledger=tuple(entries),
    )
