"""The executions a worker holds, under leases (``storage.lease_tables``).

A worker claims unfinished executions nobody holds (or whose holder's lease lapsed),
renews every lease it holds with one statement per heartbeat, and hands them back when it
stops. Every write it makes carries its (owner, epoch): once another worker has taken an
execution over, the old holder's writes fail their guard instead of landing.
Only the worker's writer thread uses it.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

from ledgerflow.clock import Clock
from ledgerflow.engine.model.lifecycle import ExecutionStatus
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import Change, Store
from ledgerflow.storage.rows import ClaimRow, WorkerRow

log = logging.getLogger("ledgerflow.worker")


@dataclass(frozen=True, kw_only=True, slots=True)
class LeaseOptions:
    seconds: float = 10.0  # a lease lapses this long after its last renewal
    claim_batch: int = 64  # executions claimed per look


class Leases:
    def __init__(self, store: Store, owner: str, clock: Clock, options: LeaseOptions, *,
                 steal: bool, tenant: str | None = None) -> None:
        self._store = store
        self.owner = owner
        self.tenant = tenant  # it claims this tenant's executions only (None: every tenant's)
        self._clock = clock
        self._options = options
        self.steal = steal  # an embedded database's worker lock is held: others are dead
        self.batch = options.claim_batch
        self.held: dict[str, int] = {}  # execution id -> lease epoch
        self._renewed = 0.0
        self._capabilities: list[str] = []

    # leases -------------------------------------------------------------------------------
    def _expires(self) -> str:
        return format_timestamp(self._clock.now() + timedelta(seconds=self._options.seconds))

    def claim(self, limit: int | None = None) -> list[ClaimRow]:
        """Claim executions of its tenant nobody holds; each is held from now on."""
        now = self._clock.now()
        claims = self._store.claim_executions(
            self.owner, now=format_timestamp(now), expires_at=self._expires(),
            limit=limit or self.batch, steal=self.steal, capabilities=self._capabilities,
            tenant_id=self.tenant)
        for claim in claims:
            self.held[claim.execution_id] = claim.lease_epoch
            if claim.previous_owner not in (None, self.owner):
                log.info("took over execution %s from %s (its lease lapsed)",
                         claim.execution_id, claim.previous_owner)
        return claims

    def lease_new(self, change: Change) -> Change:
        """A new execution's insert, leased to this worker (epoch 1)."""
        row = replace(change.execution, lease_owner=self.owner, lease_epoch=1,
                      lease_expires_at=self._expires())
        return replace(change, execution=row)

    def guard(self, change: Change, execution_id: str) -> Change:
        """The change with this worker's lease as part of its guard (not on an embedded
        database: its lock already keeps every other worker out)."""
        epoch = None if self.steal else self.held.get(execution_id)
        return change if epoch is None else replace(change, lease=(self.owner, epoch))

    def renew_due(self) -> bool:
        return self._clock.monotonic() - self._renewed >= self._options.seconds / 4

    def renew(self, stuck: list[dict[str, str]]) -> list[str]:
        """Extend every lease held, with a heartbeat that publishes the handlers ``stuck``
        past their timeout; returns the executions no longer held (taken over, or ended
        while held here), for the caller to ``let_go``."""
        self._renewed = self._clock.monotonic()
        still = self._store.renew_leases(self.owner, expires_at=self._expires(),
                                         at=format_timestamp(self._clock.now()),
                                         stuck=json.dumps(stuck, separators=(",", ":")))
        return [eid for eid, epoch in self.held.items() if still.get(eid) != epoch]

    def let_go(self, execution_id: str, why: str) -> None:
        """Forget an execution no longer held here. Taken over by another worker (which
        claims it under a new lease epoch): a warning saying ``why``. Ended while held here
        under the same epoch (an operator cancelled it, its session expired, retention
        removed it): nothing was lost, so it is only noted."""
        row = self._store.load_execution_any_tenant(execution_id)
        epoch = self.held.pop(execution_id, None)
        if row is None or (ExecutionStatus(row.status).terminal and row.lease_epoch == epoch):
            log.info("execution %s ended while held here (%s)", execution_id,
                     row.status if row is not None else "removed")
        else:
            log.warning("execution %s: lease lost (%s)", execution_id, why)

    def hand_over(self, execution_id: str, capability: str) -> None:
        """Release an execution to the workers offering ``capability`` (this one does not):
        only they claim it, however long that takes (until a change made outside a worker,
        a signal or an operator's, lets any worker claim it again)."""
        self.held.pop(execution_id, None)
        self._store.release_leases(self.owner, [execution_id], needs=capability)
        log.info("handed execution %s over to a worker offering %s", execution_id,
                 capability)

    def forget(self, execution_id: str) -> None:
        self.held.pop(execution_id, None)

    def release_all(self) -> None:
        count = self._store.release_leases(self.owner)
        if count:
            log.info("handed back %d lease(s)", count)
        self.held.clear()

    # the registry -------------------------------------------------------------------------
    def register(self, capabilities: list[str], concurrency: int,
                 limits: Mapping[str, int]) -> None:
        self._capabilities = list(capabilities)
        host, _, pid = self.owner.rpartition(":")
        at = format_timestamp(self._clock.now())
        self._store.register_worker(WorkerRow(
            id=self.owner, host=host or socket.gethostname(),
            pid=int(pid) if pid.isdigit() else 0, status="running",
            capabilities=json.dumps(capabilities), concurrency=concurrency,
            limits=json.dumps(dict(limits), sort_keys=True),
            lease_seconds=self._options.seconds, started_at=at, heartbeat_at=at,
            tenant_scope=self.tenant))
        self._renewed = self._clock.monotonic()

    def set_status(self, status: str) -> None:
        self._store.set_worker_status(self.owner, status, format_timestamp(self._clock.now()))
