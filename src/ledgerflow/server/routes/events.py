"""Routes: live events (FACES.md §2 "live", §3). Server-sent events woken by commits (the
server's one ``Feed``), never by reading the database per client between commits.

``GET /api/v1/executions/{id}/events``: ``retry``, then each ledger entry once as an
``entry`` event (``id:`` = its seq, data = the entry as ``history`` gives it), followed by a
``step`` event when the entry moved a step (``{step_id, status, attempt, seq}``), a
``progress`` event after each change, each telemetry record (step logs, errors, decisions)
once as a ``log`` event, a keep-alive comment when idle, and ``end`` (data: the final
status) once the execution has ended and every entry was sent. A client resumes after the
``Last-Event-ID`` it sends (or ``after_seq``): no gap, no duplicate of entries; logs resume
after ``logs_after`` (a resumed stream without it sends only new logs). Logs are written
apart from the ledger: they arrive with the next change or at the next keep-alive.

``GET /api/v1/events``: an ``execution`` event each time one of the tenant's executions
changes (for list pages); ``resync`` when changes may have been missed (read the list again).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import TypeAdapter

from ledgerflow import errors
from ledgerflow.engine.reports.history import HistoryEntry
from ledgerflow.server import resources, sse
from ledgerflow.server.feed import Feed, async_wake, feed_of
from ledgerflow.server.security import Caller, caller
from ledgerflow.server.waiters import Waiter

if TYPE_CHECKING:
    from ledgerflow import App
    from ledgerflow.engine.reports.records import ExecutionSummary

router = APIRouter(prefix="/api/v1", tags=["events"])
Who = Annotated[Caller, Depends(caller)]
PAGE = 500  # entries read at once; a longer ledger is sent in several reads
ENTRY = TypeAdapter(HistoryEntry)
STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {"description": "A stream of server-sent events",
          "content": {sse.MEDIA_TYPE: {"schema": {"type": "string"}}}},
    429: {"description": "This token has its most open streams already (Retry-After)"}}


@dataclass(frozen=True, kw_only=True)
class Batch:
    """What one read of an execution found after the last entry sent."""

    entries: list[HistoryEntry]
    logs: list[dict[str, Any]]  # telemetry after the last record sent
    progress: dict[str, Any]  # as of the execution's head when read (its "version")
    active: bool
    more: bool  # more entries than a page: read again at once

    def ended(self, sent: int) -> bool:
        return not self.active and sent >= self.progress["version"]


def read_batch(app: App, execution_id: str, after: int, logs_after: int) -> Batch:
    """The execution's status, then its entries after ``after`` (read second, they reach
    at least the head the status saw), then its telemetry after ``logs_after``."""
    report = app.status(execution_id)
    newer = app.history(execution_id, after, PAGE + 1)
    p = report.progress
    progress = {"status": report.status, "version": report.head_seq, "total": p.total,
                "completed": p.completed, "failed": p.failed, "skipped": p.skipped,
                "running": p.running, "pending": p.pending, "percentage": p.percentage,
                "eta_ms": resources.millis(report.timing.eta_seconds)}
    logs = read_logs(app, execution_id, logs_after)
    return Batch(entries=newer[:PAGE], logs=logs, progress=progress, active=report.active,
                 more=len(newer) > PAGE or len(logs) == PAGE)


def step_event(entry: HistoryEntry) -> dict[str, Any] | None:
    """What an entry did to a step, if it moved one."""
    if entry.step_id is None or entry.to_state is None:
        return None
    return {"step_id": entry.step_id, "status": entry.to_state, "attempt": entry.attempt,
            "seq": entry.seq}


def read_logs(app: App, execution_id: str, logs_after: int) -> list[dict[str, Any]]:
    return [r.to_dict() for r in app.logs(execution_id, logs_after, PAGE)]


def execution_event(found: ExecutionSummary) -> dict[str, Any]:
    return {"id": found.id, "status": found.status, "version": found.head_seq,
            "head_seq": found.head_seq, "workflow": found.workflow,
            "workflow_version": found.workflow_version}


def read_changed(app: App, changed: dict[str, int]) -> list[dict[str, Any]]:
    """The executions that changed, as they are now (one removed meanwhile is left out)."""
    found = []
    for execution_id in changed:
        try:
            found.append(execution_event(app.execution(execution_id)))
        except errors.NotFound:
            continue
    return found


async def _joined(feed: Feed, waiter: Waiter) -> bool:
    """Whether ``waiter`` waits on the feed now (False: the database is away; the stream
    ends and its client comes back)."""
    try:
        await anyio.to_thread.run_sync(feed.join, waiter)
    except errors.LedgerflowError:
        return False
    return True


async def still_allowed(app: App, slot: sse.Slot) -> bool:
    """Whether the stream's token may still read: not revoked through this server (which
    wakes it), nor elsewhere (seen at its keep-alives) nor expired."""
    if slot.revoked:
        return False
    try:
        return await anyio.to_thread.run_sync(app.access.usable, slot.token_id)
    except errors.LedgerflowError:  # the database is away: the client comes back
        return False


async def execution_events(app: App, execution_id: str, after: int, logs_after: int | None,
                           feed: Feed, keepalive: float,
                           slot: sse.Slot) -> AsyncGenerator[str, None]:
    woke = asyncio.Event()
    slot.wake = async_wake(woke)
    waiter = Waiter(tenant=app.tenant, execution_id=execution_id, after_seq=after,
                    wake=slot.wake)
    try:
        if not await _joined(feed, waiter):  # before the first read
            return
        if logs_after is None:  # a fresh stream sends every log, a resumed one new ones
            try:
                logs_after = 0 if after == 0 else await anyio.to_thread.run_sync(
                    app.newest_log_id, execution_id)
            except errors.LedgerflowError:
                return
        yield sse.retry()
        shown = -1  # the version of the last progress sent
        while True:
            woke.clear()  # a commit from now on wakes the next wait
            if slot.revoked:
                return
            try:
                batch = await anyio.to_thread.run_sync(read_batch, app, execution_id, after,
                                                       logs_after)
            except errors.NotFound:  # retention removed it
                yield sse.frame("end", {"status": "removed", "version": after})
                return
            except errors.LedgerflowError:  # the database is away: the client comes back
                return
            for entry in batch.entries:
                yield sse.frame("entry", ENTRY.dump_python(entry, mode="json"), entry.seq)
                after = entry.seq
                moved = step_event(entry)
                if moved is not None:
                    yield sse.frame("step", moved)
            for log in batch.logs:
                yield sse.frame("log", log)
                logs_after = log["id"]
            if batch.progress["version"] != shown:  # progress after each change, once
                shown = batch.progress["version"]
                yield sse.frame("progress", batch.progress)
            feed.take(waiter, after)
            if batch.more:
                continue
            if batch.ended(after):
                yield sse.frame("end", {"status": batch.progress["status"], "version": shown})
                return
            try:
                await asyncio.wait_for(woke.wait(), keepalive)
            except TimeoutError:
                if not await still_allowed(app, slot):
                    return
                try:  # logs are not commits to the ledger: look for them while idle
                    logs = await anyio.to_thread.run_sync(read_logs, app, execution_id,
                                                          logs_after)
                except errors.LedgerflowError:
                    return
                for log in logs:
                    yield sse.frame("log", log)
                    logs_after = log["id"]
                if not logs:
                    yield sse.comment("keep-alive")
    finally:
        feed.leave(waiter)


async def tenant_events(app: App, feed: Feed, keepalive: float,
                        slot: sse.Slot) -> AsyncGenerator[str, None]:
    woke = asyncio.Event()
    slot.wake = async_wake(woke)
    waiter = Waiter(tenant=app.tenant, execution_id=None, wake=slot.wake)
    try:
        if not await _joined(feed, waiter):
            return
        yield sse.retry()
        while True:
            try:
                await asyncio.wait_for(woke.wait(), keepalive)
            except TimeoutError:
                if not await still_allowed(app, slot):
                    return
                yield sse.comment("keep-alive")
                continue
            woke.clear()
            if slot.revoked:
                return
            news = feed.take(waiter)
            if news.look_again:
                yield sse.frame("resync", {})
            try:
                changed = await anyio.to_thread.run_sync(read_changed, app, news.changed)
            except errors.LedgerflowError:  # the database is away: the client comes back
                return
            for event in changed:
                yield sse.frame("execution", event)
    finally:
        feed.leave(waiter)


def slots_of(request: Request) -> sse.StreamSlots:
    found: sse.StreamSlots = request.app.state.streams
    return found


def _stream(request: Request, slot: sse.Slot,
            events: AsyncGenerator[str, None]) -> sse.EventStream:
    slots = slots_of(request)
    return sse.EventStream(events, on_close=lambda: slots.release(slot))


def keepalive_of(request: Request) -> float:
    found: float = request.app.state.sse_keepalive
    return found


@router.get("/executions/{execution_id}/events", operation_id="stream_execution_events",
            status_code=200, response_class=sse.EventStream, responses=STREAM_DOC)
def stream_execution_events(
        who: Who, execution_id: str, request: Request,
        after_seq: Annotated[int | None, Query(ge=0)] = None,
        last_event_id: Annotated[str | None, Header(max_length=20)] = None,
        logs_after: Annotated[int | None, Query(ge=0)] = None,
) -> sse.EventStream:
    """Server-sent events of one execution: ``entry`` (``id:`` = ledger seq), ``step``,
    ``progress``, ``log``, keep-alive comments, ``end``. Resumes after ``Last-Event-ID`` or
    ``after_seq`` (logs after ``logs_after``: the ``id`` of the last ``log`` event seen)."""
    return execution_stream(request, who, execution_id,
                            sse.resume_point(last_event_id, after_seq), logs_after)


def execution_stream(request: Request, who: Caller, execution_id: str, after: int,
                     logs_after: int | None = None) -> sse.EventStream:
    """The event stream of one execution for ``who`` (the API's, the dashboard's)."""
    found = who.app.execution(execution_id)  # another tenant's: 404 like a missing one
    slot = slots_of(request).take(who.principal.token_id)  # 429 when it has none left
    events = execution_events(who.app, found.id, after, logs_after, feed_of(request),
                              keepalive_of(request), slot)
    return _stream(request, slot, events)


@router.get("/events", operation_id="stream_tenant_events", status_code=200,
            response_class=sse.EventStream, responses=STREAM_DOC)
def stream_tenant_events(who: Who, request: Request) -> sse.EventStream:
    """Server-sent ``execution`` events (id, status, version, workflow) whenever one of the
    tenant's executions changes; ``resync`` when some may have been missed."""
    slot = slots_of(request).take(who.principal.token_id)  # 429 when it has none left
    return _stream(request, slot, tenant_events(who.app, feed_of(request),
                                                keepalive_of(request), slot))
