"""Wake-ups for clients waiting on the ledger: the long-poll of ``history`` and the event
streams (``routes.events``) share one feed per server process.

The feed is woken by commits, never by reading the database per client: one watcher per
process (``Store.watch_ledger``: ``LISTEN`` on PostgreSQL, a ``data_version`` watcher on
SQLite) hears which execution's ledger grew, and the feed wakes the waiters of that
execution and of its tenant (``server.waiters`` decides whom). The watcher starts with the
first waiter and stops with the server. When it says notices may have been missed (after
a reconnection to the database), every waiter reads again."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from fastapi import Request

from ledgerflow.server.waiters import Board, Key, News, Notice, Waiter

if TYPE_CHECKING:
    from ledgerflow import App


class Closer(Protocol):
    def close(self) -> None: ...


HeadOf = Callable[[Key], int | None]  # the newest ledger seq, None once the execution is gone
Heard = Callable[[Notice | None], None]
Watch = Callable[[Heard], Closer]  # ``Store.watch_ledger``


class Feed:
    def __init__(self, watch: Watch, head_of: HeadOf) -> None:
        self._watch = watch
        self._head_of = head_of
        self._lock = threading.Lock()
        self._board = Board()
        self._watcher: Closer | None = None
        self._closed = False

    # waiters ----------------------------------------------------------------------------
    def join(self, waiter: Waiter) -> None:
        """From now on ``waiter.wake`` is called after each commit that concerns it (the
        watcher is started first: a commit after ``join`` returns is never missed)."""
        with self._lock:
            if self._watcher is None and not self._closed:
                self._watcher = self._watch(self._heard)
            self._board.add(waiter)

    def leave(self, waiter: Waiter) -> None:
        with self._lock:
            self._board.remove(waiter)

    def take(self, waiter: Waiter, after_seq: int | None = None) -> News:
        """What ``waiter`` heard since it last asked; ``after_seq``: it has read that far
        (a later commit wakes it, an earlier one no more)."""
        with self._lock:
            return self._board.take(waiter, after_seq)

    def waiting(self) -> int:
        """How many clients wait now."""
        with self._lock:
            return self._board.count()

    def _heard(self, notice: Notice | None) -> None:
        """From the watcher's thread."""
        with self._lock:
            woken = self._board.missed() if notice is None else self._board.heard(notice)
        for waiter in woken:
            waiter.wake()

    # the long-poll ----------------------------------------------------------------------
    def wait(self, key: Key, after_seq: int, timeout: float) -> bool:
        """Block until ``key``'s ledger has an entry after ``after_seq`` (True; also once
        the execution is gone) or until ``timeout`` seconds pass (False)."""
        woke = threading.Event()
        waiter = Waiter(tenant=key[0], execution_id=key[1], after_seq=after_seq,
                        wake=woke.set)
        deadline = time.monotonic() + timeout
        self.join(waiter)
        try:
            look = True  # what was committed before the watcher listened: read it once
            while True:
                if look:
                    head = self._head_of(key)
                    if head is None or head > after_seq:
                        return True
                left = deadline - time.monotonic()
                if left <= 0 or not woke.wait(left):
                    return False
                woke.clear()
                news = self.take(waiter)
                if news.arrived:
                    return True
                look = news.look_again
        finally:
            self.leave(waiter)

    def close(self) -> None:
        with self._lock:
            watcher, self._watcher, self._closed = self._watcher, None, True
        if watcher is not None:
            watcher.close()


def async_wake(event: asyncio.Event) -> Callable[[], None]:
    """A ``Waiter.wake`` that sets ``event`` in its event loop (the caller's), from any
    thread; harmless once the loop has stopped."""
    loop = asyncio.get_running_loop()

    def wake() -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(event.set)

    return wake


def make_feed(engine: App) -> Feed:
    """The feed of a server around ``engine`` (any tenant's executions); it touches the
    store only with its first waiter."""

    def watch(heard: Heard) -> Closer:
        return engine.store.watch_ledger(heard)

    def head_of(key: Key) -> int | None:
        return engine.for_tenant(key[0]).head_seq(key[1])

    return Feed(watch, head_of)


def feed_of(request: Request) -> Feed:
    """The server's one feed."""
    found: Feed = request.app.state.feed
    return found
