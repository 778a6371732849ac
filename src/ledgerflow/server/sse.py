"""Server-sent events: the text of each frame (pure), the response that streams them and
lets go of its waiter and its slot when the client leaves, and the per-token limit on open
streams (FACES.md §2: at most 4)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ledgerflow.server.problems import Problem

RETRY_MS = 3000  # how long a browser waits before it reconnects
KEEPALIVE = 15.0  # seconds between two keep-alive comments of an idle stream
MAX_STREAMS = 4  # open streams per token
MEDIA_TYPE = "text/event-stream"


def frame(event: str, data: Any, event_id: int | None = None) -> str:
    """One event: ``data`` as one line of JSON."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def retry(ms: int = RETRY_MS) -> str:
    return f"retry: {ms}\n\n"


def comment(text: str) -> str:
    return f": {text}\n\n"


def resume_point(last_event_id: str | None, after_seq: int | None) -> int:
    """Where a stream starts: after the ``Last-Event-ID`` a reconnecting browser sends (it
    wins), else after ``after_seq``, else from the first entry."""
    if last_event_id is not None and last_event_id.strip():
        text = last_event_id.strip()
        if not text.isdigit():
            raise Problem(400, "malformed", f"Last-Event-ID {last_event_id!r} is not a ledger "
                          "seq: send the id of the last event received, a number")
        return int(text)
    return after_seq or 0


class EventStream(StreamingResponse):
    """A ``StreamingResponse`` of server-sent events that always notices the client leaving
    (whatever ASGI version the server speaks), closes its generator at once (its ``finally``
    lets go of its waiter) and then calls ``on_close`` (which frees its slot)."""

    media_type = MEDIA_TYPE

    def __init__(self, content: AsyncGenerator[str, None], on_close: Callable[[], None]) -> None:
        super().__init__(content, headers={"Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
        self._events = content
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    with contextlib.suppress(OSError):  # the client went away as we wrote
                        await self.stream_response(send)
                    group.cancel_scope.cancel()

                async def left() -> None:
                    await self.listen_for_disconnect(receive)
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                group.start_soon(left)
        finally:
            with anyio.CancelScope(shield=True):
                await self._events.aclose()
            self._on_close()


@dataclass(eq=False)
class Slot:
    """One open stream of a token. ``wake`` is set by the stream (to be told of a
    revocation); ``revoked`` says the stream must end now."""

    token_id: str
    wake: Callable[[], None] = lambda: None
    revoked: bool = False


class StreamSlots:
    """Open streams per token: a fifth one is refused with 429 until one closes; a token
    revoked through this server ends its streams at once."""

    def __init__(self, limit: int = MAX_STREAMS) -> None:
        self._limit = limit
        self._open: dict[str, list[Slot]] = {}
        self._lock = threading.Lock()

    def take(self, token_id: str) -> Slot:
        """A slot for ``token_id`` (429 when it has ``limit`` open); ``release`` frees it."""
        with self._lock:
            held = self._open.setdefault(token_id, [])
            if len(held) >= self._limit:
                raise Problem(429, "too-many-streams",
                              f"this token has {self._limit} event streams open already, the "
                              "most it may: close one (or use another token) and try again",
                              retryable=True, headers={"Retry-After": "5"})
            slot = Slot(token_id)
            held.append(slot)
            return slot

    def release(self, slot: Slot) -> None:
        """Free ``slot`` (harmless twice)."""
        with self._lock:
            held = self._open.get(slot.token_id, [])
            if slot in held:
                held.remove(slot)
                if not held:
                    del self._open[slot.token_id]

    def revoke(self, token_id: str) -> None:
        """End every stream of ``token_id`` now."""
        with self._lock:
            held = list(self._open.get(token_id, []))
        for slot in held:
            slot.revoked = True
            slot.wake()

    def open(self) -> int:
        with self._lock:
            return sum(map(len, self._open.values()))
