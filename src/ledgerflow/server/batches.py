"""Batch control: one action over many executions, run in the background, each execution
on its own (one refusal does not stop the others), followed by its id.

Batches live in the server process's memory, per tenant, for an hour after they end (a
restarted server forgets them; every action is in each execution's ledger regardless)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request

from ledgerflow import errors
from ledgerflow.engine.reports import listing
from ledgerflow.engine.reports.listing import Listing
from ledgerflow.server.problems import from_error
from ledgerflow.server.resources import commanded, done_already
from ledgerflow.server.schemas import executions as s
from ledgerflow.server.security import Caller

if TYPE_CHECKING:
    from ledgerflow import App

MOST = 500
KEEP_SECONDS = 3600.0


@dataclass
class Running:
    tenant: str
    batch: s.Batch
    ended_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Batches:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: dict[str, Running] = {}

    def start(self, who: Caller, body: s.BatchRequest) -> s.Batch:
        ids = self._targets(who.app, body)
        batch = s.Batch(batch_id="batch_" + secrets.token_hex(8), action=body.action,
                        state="running", total=len(ids), done=0, failed=0, items=[])
        running = Running(tenant=who.app.tenant, batch=batch)
        with self._lock:
            self._forget_old(who.app.clock.now().timestamp())
            self._batches[batch.batch_id] = running
        threading.Thread(target=self._run, args=(who.app, running, ids, body),
                         name=f"ledgerflow-{batch.batch_id}", daemon=True).start()
        return self._copy(running)

    def get(self, who: Caller, batch_id: str) -> s.Batch:
        with self._lock:
            running = self._batches.get(batch_id)
        if running is None or running.tenant != who.app.tenant:
            raise errors.NotFound(f"batch {batch_id} not found (batches are kept for an hour "
                                  "after they end, by the server that ran them)",
                                  kind="batch", id=batch_id)
        return self._copy(running)

    @staticmethod
    def _targets(app: App, body: s.BatchRequest) -> list[str]:
        if (body.ids is None) == (body.status is None):
            raise errors.HttpProblem(422, "invalid-request", "a batch names its executions "
                                     "by ids or by status (and workflow), one of the two",
                                     problems=[{"path": "body.ids",
                                                "message": "give ids or status"}])
        if body.ids is not None:
            return list(dict.fromkeys(body.ids))
        page = app.page(Listing(statuses=listing.statuses(",".join(body.status or ())),
                                workflow=body.workflow, limit=MOST))
        return [e.id for e in page]

    @staticmethod
    def _copy(running: Running) -> s.Batch:
        with running.lock:
            return running.batch.model_copy(deep=True)

    def _run(self, app: App, running: Running, ids: list[str], body: s.BatchRequest) -> None:
        for execution_id in ids:
            item = self._one(app, body, execution_id)
            with running.lock:
                running.batch.items.append(item)
                running.batch.done += 1
                running.batch.failed += 0 if item.ok else 1
        with running.lock:
            running.batch.state = "done"
            running.ended_at = app.clock.now().timestamp()

    @staticmethod
    def _one(app: App, body: s.BatchRequest, execution_id: str) -> s.BatchItem:
        commands: dict[str, Callable[[], object]] = {
            "pause": lambda: app.pause(execution_id, body.reason),
            "resume": lambda: app.resume(execution_id, body.reason),
            "cancel": lambda: app.cancel(execution_id, body.reason),
            "retry": lambda: app.retry(execution_id, body.reason)}
        try:
            changed, _ = commanded(body.action, commands[body.action])
            return s.BatchItem(execution_id=execution_id, ok=True, changed=changed,
                               status=app.execution(execution_id).status, problem=None,
                               detail=None)
        except errors.LedgerflowError as exc:
            problem = from_error(exc)
            current = getattr(exc, "current_status", None)
            if done_already(body.action, current):
                return s.BatchItem(execution_id=execution_id, ok=True, changed=False,
                                   status=current, problem=None, detail=None)
            return s.BatchItem(execution_id=execution_id, ok=False, changed=False,
                               status=current, problem=problem.code, detail=str(problem))

    def _forget_old(self, now: float) -> None:
        for batch_id, running in list(self._batches.items()):
            if running.ended_at is not None and now - running.ended_at > KEEP_SECONDS:
                del self._batches[batch_id]


def of(request: Request) -> Batches:
    """The server's batches (made with the app)."""
    found = request.app.state.batches
    assert isinstance(found, Batches)
    return found
