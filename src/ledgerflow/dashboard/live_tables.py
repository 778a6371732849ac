"""The agents and workers pages, live: a server-sent event stream per page that sends the
page's table again (as HTML, rendered here) when what it shows changed, read at most once a
``TICK``. Agents, breakers and workers are not ledger commits, so nothing wakes these
streams: the server looks, the browser does not poll. A stream holds one of its token's
stream slots (FACES.md §2), ends when the token is revoked or expires, and ends when the
database is away (the browser comes back, then falls back to reading every 10 s)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request

from ledgerflow import errors
from ledgerflow.dashboard import catalog
from ledgerflow.dashboard.render import ENV, UiRoute, read_at
from ledgerflow.dashboard.session import signed_in
from ledgerflow.server import sse
from ledgerflow.server.feed import async_wake
from ledgerflow.server.routes import agents
from ledgerflow.server.routes.events import keepalive_of, slots_of, still_allowed
from ledgerflow.server.security import Caller

router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)
TICK = 1.0  # seconds between two reads of a live table (``api.state.ui_tick`` in tests)

Read = Callable[[], dict[str, Any]]  # what the table shows now (without its "updated")


def tick_of(request: Request) -> float:
    found: float = getattr(request.app.state, "ui_tick", TICK)
    return found


async def table_events(read: Read, template: str, who: Caller, slot: sse.Slot, tick: float,
                       keepalive: float, csrf: str | None) -> AsyncGenerator[str, None]:
    """``html`` (the table as it is now) first and whenever what it shows changed, else
    ``same`` (``{"at": ...}``: read again, nothing changed) at each keep-alive."""
    woke = asyncio.Event()
    slot.wake = async_wake(woke)  # a revocation through this server ends it at once
    shown: str | None = None
    quiet = 0.0
    yield sse.retry()
    while not slot.revoked:
        try:
            now = await anyio.to_thread.run_sync(read)
        except errors.LedgerflowError:  # the database is away: the browser comes back
            return
        at = read_at(who)  # the engine's clock: no I/O
        seen = repr(sorted(now.items(), key=lambda kv: kv[0]))
        if seen != shown:
            shown, quiet = seen, 0.0
            html = ENV.get_template(template).render(updated=at, csrf=csrf, **now)
            yield sse.frame("html", html)
        elif quiet >= keepalive:
            if not await still_allowed(who.app, slot):
                return
            quiet = 0.0
            yield sse.frame("same", {"at": at.isoformat()})
        try:
            await asyncio.wait_for(woke.wait(), tick)
        except TimeoutError:
            quiet += tick


def _stream(request: Request, who: Caller, read: Read, template: str) -> sse.EventStream:
    slots = slots_of(request)
    slot = slots.take(who.principal.token_id)  # 429 when the token has none left
    events = table_events(read, template, who, slot, tick_of(request), keepalive_of(request),
                          getattr(request.state, "csrf", None))
    return sse.EventStream(events, on_close=lambda: slots.release(slot))


@router.get("/agents/stream")
def agents_stream(request: Request,
                  who: Annotated[Caller, Depends(signed_in("list_agents"))]) -> sse.EventStream:
    """The agents page's table and breaker history, sent again when they change."""
    return _stream(request, who, lambda: catalog.agents_context(who, with_time=False),
                   "agents_live.html")


@router.get("/workers/stream")
def workers_stream(request: Request,
                   who: Annotated[Caller, Depends(signed_in("list_workers"))]
                   ) -> sse.EventStream:
    """The workers page's list, sent again when it changes (heartbeat ages included)."""
    return _stream(request, who, lambda: {"items": agents.list_workers(who).items},
                   "workers_live.html")
