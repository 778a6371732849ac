"""Execution leases and the worker registry: the same named queries on every backend, a
mixin of the stores (built on ``_read`` and ``_transaction``; only ``claim_executions``
differs, since SQLite has no ``SKIP LOCKED`` and needs none with its single writer).

A worker drives the executions it holds a lease on: it alone dispatches their steps and
commits their changes (``Change.lease`` makes a write of a lapsed lease fail its guard).
Heartbeats renew every lease a worker holds in one statement; a worker that stops renewing
loses them once they lapse, and the next claim of another worker takes the execution over
under a new epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ledgerflow.storage import rows as row_types  # its agent rows: loaded on first use
from ledgerflow.storage.notices import WORK
from ledgerflow.storage.sql_mixin import SqlMixin
from ledgerflow.storage.sqlite_rows import build, params

if TYPE_CHECKING:  # annotations only: the rows load on first use (``rows``)
    from ledgerflow.storage.agent_rows import ClaimRow, WorkerRow


class LeaseTables(SqlMixin):
    def claim_executions(self, owner: str, *, now: str, expires_at: str, limit: int,
                         steal: bool = False,
                         capabilities: Sequence[str] = (),
                         tenant_id: str | None = None) -> list[ClaimRow]:
        """Lease up to ``limit`` unfinished executions that nobody holds or whose lease
        lapsed before ``now``, oldest first (``steal``: also those of other owners, for a
        worker that holds an embedded database's lock), of ``tenant_id`` (None: of every
        tenant)."""
        raise NotImplementedError

    def renew_leases(self, owner: str, *, expires_at: str, at: str,
                     stuck: str = "[]") -> dict[str, int]:
        """Extend every lease ``owner`` holds on an unfinished execution and record its
        heartbeat with the handlers it reports ``stuck`` (a JSON list), in one transaction.
        Returns {execution id: lease epoch} still held."""
        with self._transaction() as conn:
            held = conn.execute(self._q["renew_leases"],
                                {"owner": owner, "expires_at": expires_at}).fetchall()
            conn.execute(self._q["worker_heartbeat"], {"id": owner, "at": at, "stuck": stuck})
        return {r["id"]: int(r["lease_epoch"]) for r in held}

    def release_leases(self, owner: str, ids: Sequence[str] | None = None, *,
                       needs: str | None = None, until: str | None = None) -> int:
        """Hand back ``owner``'s leases (all, or those of ``ids``): any worker may claim
        them at once. Returns how many."""
        with self._transaction() as conn:
            found: dict[str, Any] = {"owner": owner, "needs": needs, "until": until}
            if ids is None:
                cur = conn.execute(self._q["release_leases"], found)
            else:
                cur = conn.execute(self._q["release_leases_of"],
                                   {**found, "ids": self._ids(list(ids))})
            if cur.rowcount:
                self._notify(conn, [WORK])  # others may claim them at once
            return int(cur.rowcount)

    # the registry -------------------------------------------------------------------------
    def register_worker(self, row: WorkerRow) -> None:
        with self._transaction() as conn:
            conn.execute(self._q["upsert_worker"], params(row))

    def set_worker_status(self, worker_id: str, status: str, at: str) -> None:
        with self._transaction() as conn:
            conn.execute(self._q["worker_status"], {"id": worker_id, "status": status,
                                                   "at": at})

    def list_workers(self) -> list[WorkerRow]:
        return [build(row_types.WorkerRow, r) for r in self._read("list_workers", ())]

    def worker_load(self) -> dict[str, tuple[int, int, str | None]]:
        """{worker id: (unfinished executions held, steps running, oldest running start)}"""
        return {r["worker_id"]: (int(r["executions"]), int(r["running"]), r["oldest"])
                for r in self._read("worker_load", ())}

    def running_steps(self, limit: int = 1000) -> list[tuple[str, str, str, str | None, str]]:
        """(worker id, execution id, step id, agent, started at) of the steps running in
        held executions, oldest first."""
        return [(r["worker_id"], r["execution_id"], r["step_id"], r["agent"], r["started_at"])
                for r in self._read("running_steps_by_owner", (limit,))]
