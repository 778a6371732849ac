"""Agents, circuit breakers, statistics, heartbeats and telemetry: the same named queries
on every backend. A mixin of the stores, built on each store's ``_read``, ``_transaction``
and ``_executemany`` (the one call whose shape differs between drivers).
``write_agent_rows`` also runs inside ``commit``'s transaction, so breaker and statistics
changes commit with the step results that caused them.

Rows shared by every worker (breakers, statistics) are written in one order, by agent and
bucket, so two workers' transactions never wait for each other in a cycle. Statistics are
kept in ``STATS_SLOTS`` rows per agent, summed when read: each transaction adds to one slot
picked at random, so workers committing at once seldom wait for each other's row lock. (With
one row per agent, each commit waits for the one before to be durable: 4 processes
committing increments to one agent on PostgreSQL made about a third fewer commits per
second than with one row each; with 8 slots, as many.)
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from ledgerflow.storage import binding, queries
from ledgerflow.storage import rows as row_types  # its agent rows: loaded on first use
from ledgerflow.storage.base import AgentWrites
from ledgerflow.storage.sql_mixin import SqlMixin
from ledgerflow.storage.sqlite_rows import build, params

if TYPE_CHECKING:  # annotations only: the rows load on first use (``rows``)
    from ledgerflow.storage.agent_rows import (
        AgentRow,
        BreakerRow,
        BreakerTransitionRow,
        HeartbeatRow,
        StatsRow,
        StatsSnapshot,
        TelemetryRow,
    )


def _without_id(row: Any) -> dict[str, Any]:
    """Named parameters of a row whose ``id`` the database assigns."""
    return {k: v for k, v in params(row).items() if k != "id"}


STATS_SLOTS = 8


@cache
def _add_buckets_sql(dialect: str) -> str:
    """``add_stat_buckets`` of ``dialect``, its placeholders positional (no row type: its
    values are built as tuples in this order)."""
    sql, order = binding.positional(queries.load(dialect)["add_stat_buckets"])
    assert order == ("capability", "agent", "slot", "bucket", "count"), order
    return sql


def _by_agent(row: BreakerRow | StatsRow) -> tuple[str, str]:
    return row.capability, row.agent


class AgentTables(SqlMixin):
    def write_agent_rows(self, conn: Any, writes: AgentWrites, slot: int | None = None,
                         ) -> None:
        """The agent rows of a batch, inside its transaction; those written at every step
        (statistics, histogram, decision outcomes) bound by position."""
        stats = sorted(writes.stats, key=_by_agent)
        if slot is None:
            slot = random.randrange(STATS_SLOTS)
        if writes.breakers:
            self._executemany(conn, self._q["upsert_breaker"],
                              [params(b) for b in sorted(writes.breakers, key=_by_agent)])
        if writes.transitions:
            self._executemany(conn, self._q["insert_breaker_transition"],
                              [_without_id(t) for t in writes.transitions])
        if stats:
            totals = binding.statement(self.dialect, "add_stats", row_types.StatsRow,
                                       ("slot",))
            self._executemany(conn, totals.sql, [totals.values(s, slot) for s in stats])
            buckets = [(s.capability, s.agent, slot, bucket, count)
                       for s in stats for bucket, count in s.buckets]
            if buckets:
                self._executemany(conn, _add_buckets_sql(self.dialect), buckets)
        if writes.outcomes:
            self._write_outcomes(conn, writes.outcomes)

    def _write_outcomes(self, conn: Any, outcomes: Sequence[row_types.OutcomeRow]) -> None:
        """How routed attempts ended, into their decisions, one bound row each."""
        outcome = binding.statement(self.dialect, "update_decision_outcome",
                                    row_types.OutcomeRow)
        self._executemany(conn, outcome.sql, [outcome.values(o) for o in outcomes])

    # agents of live workers ---------------------------------------------------------------
    def register_agents(self, worker_id: str, rows: Sequence[AgentRow]) -> None:
        with self._transaction() as conn:
            conn.execute(self._q["delete_agents_of_worker"], (worker_id,))
            if rows:
                self._executemany(conn, self._q["upsert_agent"], [params(r) for r in rows])

    def touch_agents(self, worker_id: str, seen_at: str) -> None:
        with self._transaction() as conn:
            conn.execute(self._q["touch_agents_of_worker"], (seen_at, worker_id))

    def unregister_agents(self, worker_id: str) -> None:
        with self._transaction() as conn:
            conn.execute(self._q["delete_agents_of_worker"], (worker_id,))

    def list_agents(self) -> list[AgentRow]:
        return [build(row_types.AgentRow, r) for r in self._read("agents_all", ())]

    # breakers and statistics --------------------------------------------------------------
    def write_agents(self, writes: AgentWrites) -> None:
        with self._transaction() as conn:
            self.write_agent_rows(conn, writes)

    def load_breakers(self) -> list[BreakerRow]:
        return [build(row_types.BreakerRow, r) for r in self._read("breakers_all", ())]

    def breaker_transitions(self, limit: int = 100) -> list[BreakerTransitionRow]:
        rows = self._read("breaker_transitions_recent", (limit,))
        return [build(row_types.BreakerTransitionRow, r) for r in reversed(rows)]

    def load_stats(self, *, histograms: bool = True) -> list[StatsRow]:
        with self._snapshot() as conn:
            return self._stats(conn, histograms)

    def stats_snapshot(self) -> StatsSnapshot:
        with self._snapshot() as conn:
            return self._stats_snapshot(conn)

    def replace_stats(self, rebuild: Callable[[StatsSnapshot], Sequence[StatsRow]],
                      ) -> StatsSnapshot:
        with self._transaction() as conn:
            self._hold_stats(conn)
            found = self._stats_snapshot(conn)
            rows = sorted(rebuild(found), key=_by_agent)
            conn.execute(self._q["delete_stat_buckets"], ())
            conn.execute(self._q["delete_stats"], ())
            if rows:
                self.write_agent_rows(conn, AgentWrites(stats=rows), slot=0)
        return found

    def _stats(self, conn: Any, histograms: bool = True) -> list[StatsRow]:
        buckets: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
        for r in conn.execute(self._q["stat_buckets_all"], ()).fetchall() if histograms \
                else ():
            buckets[(r["capability"], r["agent"])].append((r["bucket"], r["count"]))
        return [build(row_types.StatsRow,
                      {**r, "buckets": tuple(buckets[(r["capability"], r["agent"])])})
                for r in conn.execute(self._q["stats_all"], ()).fetchall()]

    def _stats_snapshot(self, conn: Any) -> StatsSnapshot:
        outcomes = tuple((r["capability"], r["agent"], r["outcome"], r["duration_ms"],
                          r["finished_at"])
                         for r in conn.execute(self._q["decision_outcomes"], ()).fetchall())
        removed = tuple(build(row_types.RemovedOutcomesRow, r) for r in
                        conn.execute(self._q["removed_outcomes_all"], ()).fetchall())
        return row_types.StatsSnapshot(stats=tuple(self._stats(conn)), outcomes=outcomes,
                             removed=removed)

    # heartbeats and telemetry -------------------------------------------------------------
    def record_heartbeats(self, rows: Sequence[HeartbeatRow]) -> None:
        """Store the last heartbeat of running attempts (ignored for an attempt that is
        no longer running under that epoch)."""
        if rows:
            with self._transaction() as conn:
                self._executemany(conn, self._q["update_heartbeat"], [params(r) for r in rows])

    def write_telemetry(self, rows: Sequence[TelemetryRow]) -> None:
        if rows:
            # bound by position: about one row a step comes through here (its decision)
            bound = binding.statement(self.dialect, "insert_telemetry", row_types.TelemetryRow)
            with self._transaction() as conn:
                self._executemany(conn, bound.sql, [bound.values(r) for r in rows])

    def last_telemetry(self, execution_id: str, kind: str,
                       message: str) -> TelemetryRow | None:
        rows = self._read("telemetry_last_of_execution", (execution_id, kind, message))
        return build(row_types.TelemetryRow, rows[0]) if rows else None

    def write_tenant_telemetry(self, tenant_id: str, row: TelemetryRow) -> None:
        with self._transaction() as conn:
            self._executemany(conn, self._q["insert_tenant_telemetry"], [{
                "kind": row.kind, "message": row.message, "fields": row.fields,
                "occurred_at": row.occurred_at, "tenant_id": tenant_id}])

    def last_tenant_telemetry(self, tenant_id: str, kind: str,
                              message: str) -> TelemetryRow | None:
        rows = self._read("telemetry_last_of_tenant", (tenant_id, kind, message))
        return build(row_types.TelemetryRow, rows[0]) if rows else None

    def newest_telemetry_id(self, execution_id: str) -> int:
        rows = self._read("telemetry_newest_of_execution", (execution_id,))
        return int(rows[0]["id"])

    def read_telemetry(self, execution_id: str | None, after: int = 0,
                       limit: int = 1000) -> list[TelemetryRow]:
        if execution_id is None:
            rows = self._read("telemetry_all", (after, limit))
        else:
            rows = self._read("telemetry_of_execution", (execution_id, after, limit))
        return [build(row_types.TelemetryRow, r) for r in rows]
