"""Reads and writes that are the same named queries on every backend: a mixin of the
stores, built on each store's ``_read`` (named query -> dict rows), ``_transaction`` and
``_executemany``. Only what differs between dialects stays in the stores themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledgerflow.storage import binding, unstorable
from ledgerflow.storage.base import Change, ExecutionFilter
from ledgerflow.storage.rows import (
    DecisionRow,
    DefinitionRow,
    ExecutionRow,
    ExecutionRows,
    LedgerRow,
    SignalRow,
    StateVersionRow,
    StepRow,
    TombstoneRow,
    rebuilt_version,
)
from ledgerflow.storage.sql_mixin import SqlMixin
from ledgerflow.storage.sqlite_rows import build

HIGHEST = "\U0010ffff"  # the highest code point: after a prefix, above every id that has it


# (named insert, row type, [(row, its execution's tenant)]) of a batch's new rows
Appended = list[tuple[str, type, list[tuple[Any, str]]]]


def appended_rows(applied: Sequence[Change]) -> Appended:
    """The new rows of the changes whose guards passed, per insert statement, in the order
    they are written."""
    return [
        ("insert_step", StepRow,
         [(s, c.execution.tenant_id) for c in applied for s in c.new_steps]),
        ("insert_state_version", StateVersionRow,
         [(c.state_version, c.execution.tenant_id) for c in applied
          if c.state_version is not None]),
        ("insert_decision", DecisionRow,
         [(d, c.execution.tenant_id) for c in applied for d in c.decisions]),
        ("insert_ledger_entry", LedgerRow,
         [(e, c.execution.tenant_id) for c in applied for e in c.ledger]),
        ("insert_signal", SignalRow,
         [(g, c.execution.tenant_id) for c in applied for g in c.signals]),
    ]


class SharedReads(SqlMixin):
    def _write_rows(self, conn: Any, applied: Sequence[Change]) -> None:
        """Every row of the changes whose guards passed, one batch per statement, each row
        bound by position; a new row is written with its execution's tenant."""
        for name, row, owned in appended_rows(applied):
            if owned:
                bound = binding.statement(self.dialect, name, row, ("tenant_id",))
                self._executemany(conn, bound.sql, [bound.values(o, t) for o, t in owned])
        self._write_updates(conn, applied)

    def _write_updates(self, conn: Any, applied: Sequence[Change]) -> None:
        """The rows of the changes whose guards passed that are not new (step runs and
        signals updated) and their wake-ups."""
        steps = [s for c in applied for s in c.steps]
        if steps:
            self._write_steps(conn, steps)
        signals = [g for c in applied for g in c.signal_updates]
        if signals:
            bound = binding.statement(self.dialect, "update_signal", SignalRow)
            self._executemany(conn, bound.sql, [bound.values(g) for g in signals])
        wakes = [(c.execution.id, c.wake, c.execution.updated_at, c.execution.tenant_id)
                 for c in applied if c.wake]
        if wakes:
            self._executemany(conn, self._q["insert_wakeup"], wakes)

    def _write_steps(self, conn: Any, steps: Sequence[StepRow]) -> None:
        """Step runs updated by a batch, one bound row each."""
        bound = binding.statement(self.dialect, "update_step", StepRow)
        self._executemany(conn, bound.sql, [bound.values(s) for s in steps])

    def get_definition(
        self, tenant_id: str, name: str, version: int | None = None
    ) -> DefinitionRow | None:
        if version is None:
            rows = self._read("definition_latest", (tenant_id, name))
        else:
            rows = self._read("definition_version", (tenant_id, name, version))
        return build(DefinitionRow, rows[0]) if rows else None

    def load_execution(self, tenant_id: str, execution_id: str) -> ExecutionRow | None:
        rows = self._read("execution_by_id", (tenant_id, execution_id))
        return build(ExecutionRow, rows[0]) if rows else None

    def load_execution_any_tenant(self, execution_id: str) -> ExecutionRow | None:
        rows = self._read("execution_by_id_any_tenant", (execution_id,))
        return build(ExecutionRow, rows[0]) if rows else None

    def load_whole_executions(self, ids: Sequence[str]) -> dict[str, ExecutionRows]:
        """Each execution of ``ids`` (any tenant) with its steps and signals, read in one
        snapshot (on PostgreSQL in one round trip); an unknown id is absent."""
        known = [i for i in dict.fromkeys(ids) if unstorable.for_read([i]) is not None]
        if not known:
            return {}
        found = {"ids": self._ids(known)}
        executions, steps, signals = self._read_together([
            ("executions_of_ids", found), ("steps_of_executions", found),
            ("signals_of_executions", found)])
        whole = {r["id"]: ExecutionRows(execution=build(ExecutionRow, r), steps=[],
                                        signals=[]) for r in executions}
        for r in steps:
            whole[r["execution_id"]].steps.append(build(StepRow, r))
        for r in signals:
            whole[r["execution_id"]].signals.append(build(SignalRow, r))
        return whole

    def execution_ids_by_prefix(self, tenant_id: str, prefix: str, limit: int) -> list[str]:
        rows = self._read("execution_ids_by_prefix", {
            "low": prefix, "high": prefix + HIGHEST, "tenant_id": tenant_id, "limit": limit})
        return [r["id"] for r in rows]

    def load_steps(self, execution_id: str) -> list[StepRow]:
        return [build(StepRow, r) for r in self._read("steps_of_execution", (execution_id,))]

    def list_executions(self, flt: ExecutionFilter) -> list[ExecutionRow]:
        after = flt.after or (None, None)
        rows = self._read(
            "executions_filtered_oldest" if flt.oldest_first else "executions_filtered",
            {**self._filtered(flt), "after_created": after[0], "after_id": after[1],
             "limit": flt.limit})
        return [build(ExecutionRow, r) for r in rows]

    def count_executions(self, flt: ExecutionFilter) -> dict[str, int]:
        return {r["status"]: int(r["n"]) for r in self._read("executions_counted",
                                                              self._filtered(flt))}

    def _filtered(self, flt: ExecutionFilter) -> dict[str, Any]:
        statuses = [*flt.statuses, *([flt.status] if flt.status is not None else [])]
        prefix = flt.id_prefix or None
        return {"tenant_id": flt.tenant_id,
                "statuses": self._ids(statuses) if statuses else None,
                "workflow": flt.workflow, "created_after": flt.created_after,
                "created_before": flt.created_before, "id_low": prefix,
                "id_high": prefix + HIGHEST if prefix is not None else None}

    def load_ledger(self, execution_id: str) -> list[LedgerRow]:
        return [build(LedgerRow, r) for r in self._read("ledger_of_execution", (execution_id,))]

    def ledger_page(self, execution_id: str, after_seq: int, limit: int) -> list[LedgerRow]:
        rows = self._read("ledger_page_of_execution", (execution_id, after_seq, limit))
        return [build(LedgerRow, r) for r in rows]

    def ledger_of_types(self, execution_id: str, event_types: Sequence[str],
                        newest: int) -> list[LedgerRow]:
        rows = self._read("ledger_entries_of_types", {
            "execution_id": execution_id, "types": self._ids(list(event_types)),
            "newest": newest})
        return [build(LedgerRow, r) for r in reversed(rows)]

    def versions_made(self, execution_id: str, after_seq: int, upto_seq: int) -> dict[int, int]:
        rows = self._read("versions_made_between", (execution_id, after_seq, upto_seq))
        return {r["seq"]: r["version"] for r in rows}

    def load_state_version(self, execution_id: str, version: int) -> StateVersionRow | None:
        rows = [build(StateVersionRow, r) for r in self._read(
            "state_version_from_snapshot", {"execution_id": execution_id, "version": version})]
        return rebuilt_version(rows) if rows and rows[-1].version == version else None

    def list_state_versions(self, execution_id: str) -> list[StateVersionRow]:
        rows = self._read("state_versions_of_execution", (execution_id,))
        return [build(StateVersionRow, r) for r in rows]

    def load_decisions(self, execution_id: str) -> list[DecisionRow]:
        rows = self._read("decisions_of_execution", (execution_id,))
        return [build(DecisionRow, r) for r in rows]

    def durations(self, tenant_id: str, workflow: str, limit: int) -> list[tuple[str, str]]:
        rows = self._read("completed_durations", (tenant_id, workflow, limit))
        return [(r["started_at"], r["finished_at"]) for r in rows]

    def load_signals(self, execution_id: str) -> list[SignalRow]:
        return [build(SignalRow, r) for r in self._read("signals_of_execution", (execution_id,))]

    def list_forks(self, execution_id: str) -> list[str]:
        return [r["id"] for r in self._read("forks_of_execution", (execution_id,))]

    def last_wakeup(self) -> int:
        return int(self._read("last_wakeup", ())[0]["id"])

    def wakeups_after(self, after: int, limit: int = 1000) -> list[tuple[int, str]]:
        return [(r["id"], r["execution_id"]) for r in self._read("wakeups_after", (after, limit))]

    def prune_wakeups(self, before: str) -> int:
        with self._transaction() as conn:
            return int(conn.execute(self._q["prune_wakeups"], (before,)).rowcount)

    def expired_executions(self, now: str, limit: int = 500,
                           tenant_id: str | None = None) -> list[ExecutionRow]:
        rows = self._read("executions_expired",
                          {"now": now, "limit": limit, "tenant_id": tenant_id})
        return [build(ExecutionRow, r) for r in rows]

    def finished_before(self, tenant_id: str, before: str, limit: int,
                        after: tuple[str, str] | None = None) -> list[ExecutionRow]:
        after_at, after_id = after if after is not None else (None, None)
        rows = self._read("executions_finished_before", {
            "tenant_id": tenant_id, "before": before, "limit": limit,
            "after_at": after_at, "after_id": after_id})
        return [build(ExecutionRow, r) for r in rows]

    def list_tombstones(self, tenant_id: str) -> list[TombstoneRow]:
        return [build(TombstoneRow, r) for r in self._read("tombstones_of_tenant", (tenant_id,))]

    def load_tombstone(self, tenant_id: str, execution_id: str) -> TombstoneRow | None:
        rows = self._read("tombstone_by_id", (tenant_id, execution_id))
        return build(TombstoneRow, rows[0]) if rows else None


    def waiting_for_agents(self) -> list[tuple[str, str, int]]:
        return [(r["tenant_id"], r["waiting_for"], int(r["n"]))
                for r in self._read("waiting_for_agents", ())]

    def execution_counts(self) -> list[tuple[str, str, str, int]]:
        return [(r["tenant_id"], r["workflow"], r["status"], int(r["n"]))
                for r in self._read("execution_counts", ())]
