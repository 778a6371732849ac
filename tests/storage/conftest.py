"""Builders for the storage tests: real engine changes computed from what a store holds.

No row is written by hand: ``new_execution``, ``Transition`` and the graph rules make every
``Change``, exactly as the worker does, so the contract is checked with the shapes the engine
really commits. Every method goes through the ``Store`` protocol (no SQL), so the same
builders serve every backend.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledgerflow.definition import Definition, from_mapping
from ledgerflow.engine.model.transition import Built, Transition, text
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.engine.rules import flow, starting
from ledgerflow.ledger.canonical import canonical_json, format_timestamp
from ledgerflow.ledger.chain import Actor
from ledgerflow.storage import queries
from ledgerflow.storage.base import Change, Store
from ledgerflow.storage.rows import (
    DecisionRow,
    DefinitionRow,
    ExecutionRow,
    LedgerRow,
    StateVersionRow,
    StepRow,
)
from tests.conftest import PgServer

T0 = datetime(2026, 11, 22, 7, 33, tzinfo=UTC)
ACTOR = Actor(kind="test", id="storage-contract")
TENANT = "tenant-a"
OTHER_TENANT = "tenant-b"

# two steps in a row; the first writes its output into the state document
PAIR: dict[str, Any] = {"name": "pair", "steps": [
    {"id": "first", "agent": "t.work", "output": "first"},
    {"id": "second", "agent": "t.work", "needs": ["first"]},
]}
SOLO: dict[str, Any] = {"name": "solo", "steps": [{"id": "only", "agent": "t.work"}]}


def at(seconds: float) -> datetime:
    """A fixed instant ``seconds`` after T0 (the tests never read the wall clock)."""
    return T0 + timedelta(seconds=seconds)


def choose(capability: str, avoid: str | None = None) -> flow.Choice:
    return flow.Choice(agent="a", candidates=[], reason="test")


@dataclass(frozen=True, kw_only=True, slots=True)
class Snapshot:
    """Everything a store holds about one execution, to prove a change wrote nothing."""

    execution: ExecutionRow | None
    steps: list[StepRow]
    ledger: list[LedgerRow]
    state_versions: list[StateVersionRow]
    decisions: list[DecisionRow]


def snapshot(store: Store, tenant: str, execution_id: str) -> Snapshot:
    return Snapshot(
        execution=store.load_execution(tenant, execution_id),
        steps=store.load_steps(execution_id),
        ledger=store.load_ledger(execution_id),
        state_versions=store.list_state_versions(execution_id),
        decisions=store.load_decisions(execution_id),
    )


class Changes:
    """Makes the changes the engine would make, against one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def definition(self, spec: dict[str, Any], tenant: str = TENANT
                   ) -> tuple[DefinitionRow, Definition]:
        definition = from_mapping(spec)
        spec_text = canonical_json(definition.spec).decode("utf-8")
        row, _ = self.store.put_definition(tenant, definition.name, definition.sha256,
                                           spec_text, format_timestamp(T0))
        return row, definition

    def new(self, execution_id: str, *, tenant: str = TENANT, spec: dict[str, Any] = PAIR,
            input: Any = None, now: datetime = T0) -> Change:
        """The change that inserts a new pending execution (its definition is stored)."""
        row, definition = self.definition(spec, tenant)
        return starting.new_execution(
            tenant_id=tenant, execution_id=execution_id, row=row, definition=definition,
            input={} if input is None else input, now=now, actor=ACTOR,
        )

    def view_of_new(self, change: Change) -> ExecutionView:
        """The view a not yet committed new-execution change leaves behind."""
        return ExecutionView.from_rows(change.execution, self._compiled(change.execution),
                                       change.new_steps)

    def view(self, execution_id: str, tenant: str = TENANT) -> ExecutionView:
        """The view of a committed execution, read back from the store."""
        row = self.store.load_execution(tenant, execution_id)
        assert row is not None, f"execution {execution_id} is not stored"
        return ExecutionView.from_rows(row, self._compiled(row),
                                       self.store.load_steps(execution_id))

    def _compiled(self, row: ExecutionRow) -> Definition:
        stored = self.store.get_definition(row.tenant_id, row.workflow, row.workflow_version)
        assert stored is not None
        return from_mapping(json.loads(stored.spec))


def activation(view: ExecutionView, now: datetime = T0) -> Built:
    """Pending → running, dispatching the first runnable step (with a routing decision)."""
    tr = Transition.begin(view, now, ACTOR)
    flow.activate(tr, choose)
    assert tr.changed
    return tr.build()


def completion(view: ExecutionView, step_id: str, output: Any, now: datetime = T0) -> Built:
    """The running attempt of ``step_id`` completes with ``output``."""
    tr = Transition.begin(view, now, ACTOR)
    epoch = view.steps[step_id].epoch
    assert flow.complete_step(tr, step_id, epoch, output, text(output), choose)
    return tr.build()


Execute = Callable[[str, list[dict[str, Any]]], None]  # (named SQL, rows) on a database


def sqlite_execute(path: Path) -> Execute:
    """Plain statements on an SQLite file, outside any store (an older schema's rows)."""
    def execute(sql: str, rows: list[dict[str, Any]]) -> None:
        with closing(sqlite3.connect(path)) as conn, conn:
            conn.executemany(sql, rows)
    return execute


def postgres_execute(url: str) -> Execute:
    """Plain statements on a PostgreSQL database, outside any store."""
    def execute(sql: str, rows: list[dict[str, Any]]) -> None:
        with psycopg.connect(url) as conn:
            conn.cursor().executemany(queries.to_pyformat(sql), rows)
    return execute


def write_as_before(execute: Execute, changes: Sequence[Change]) -> None:
    """Write what ``changes`` leave behind with plain INSERTs of their rows' fields: what an
    earlier version of the schema held, for a test that migrates it (today's store writes
    columns an earlier schema does not have). The changes are one execution's, in order."""
    latest: dict[str, dict[str, Any]] = {}
    steps: dict[tuple[str, str], dict[str, Any]] = {}
    tables: dict[str, list[dict[str, Any]]] = {"ledger_entries": [], "routing_decisions": []}
    for change in changes:
        latest[change.execution.id] = dataclasses.asdict(change.execution)
        for step in (*change.new_steps, *change.steps):
            steps[(step.execution_id, step.step_id)] = dataclasses.asdict(step)
        tables["ledger_entries"] += [dataclasses.asdict(e) for e in change.ledger]
        tables["routing_decisions"] += [dataclasses.asdict(d) for d in change.decisions]
    for table, rows in (("executions", list(latest.values())),
                        ("step_runs", list(steps.values())), *tables.items()):
        if rows:
            columns = list(rows[0])
            execute(f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join(':' + c for c in columns)})", rows)


@pytest.fixture
def changes(store: Store) -> Changes:
    return Changes(store)


# the four ways a copy goes (``storage.copy``): (source URL, target URL), empty databases
@pytest.fixture(params=["sqlite->postgres", "postgres->sqlite", "sqlite->sqlite",
                        "postgres->postgres"])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    kinds = request.param.split("->")
    made: list[str] = []

    def url(kind: str, name: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / name}"
        server: PgServer = request.getfixturevalue("pg_server")
        made.append(server.create())
        return server.url(made[-1])

    yield url(kinds[0], "source.db"), url(kinds[1], "target.db")
    for name in made:
        request.getfixturevalue("pg_server").drop(name)
