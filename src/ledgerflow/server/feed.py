"""Wake-ups for clients waiting on an execution's ledger (the long-poll of ``history``;
server-sent events can wait on the same feed).

One watcher thread per server process, however many clients wait: it reads the newest
ledger seq of each execution someone waits on (one read per execution, not per client)
every ``interval`` seconds and wakes the waiters whose entry has arrived. It stops when
nobody waits and starts again with the next waiter. Commits made by other processes reach
it as they reach the database, which is why it reads rather than listens: the store's
notices tell workers about claimable work, not about every commit."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request

from ledgerflow import errors

if TYPE_CHECKING:
    from ledgerflow import App

log = logging.getLogger("ledgerflow.server.feed")
Key = tuple[str, str]  # (tenant, execution id)
HeadOf = Callable[[Key], int | None]  # the newest ledger seq, None once the execution is gone


class Feed:
    def __init__(self, head_of: HeadOf, interval: float = 0.2) -> None:
        self._head_of = head_of
        self._interval = interval
        self._changed = threading.Condition()
        self._waiting: Counter[Key] = Counter()
        self._heads: dict[Key, int | None] = {}
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()

    def wait(self, key: Key, after_seq: int, timeout: float) -> bool:
        """Block until ``key``'s ledger has an entry after ``after_seq`` (True) or until
        ``timeout`` seconds pass (False)."""
        with self._changed:
            self._waiting[key] += 1
            self._start()
            try:
                return self._changed.wait_for(lambda: self._arrived(key, after_seq), timeout)
            finally:
                self._waiting[key] -= 1
                if self._waiting[key] <= 0:
                    del self._waiting[key]
                    self._heads.pop(key, None)

    def waiting(self) -> int:
        """How many clients wait now."""
        with self._changed:
            return sum(self._waiting.values())

    def _arrived(self, key: Key, after_seq: int) -> bool:
        head = self._heads.get(key, -1)
        return head is None or head > after_seq

    def _start(self) -> None:
        if self._watcher is None or not self._watcher.is_alive():
            self._watcher = threading.Thread(target=self._watch, name="ledgerflow-feed",
                                             daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            with self._changed:
                keys = list(self._waiting)
                if not keys:
                    self._watcher = None
                    return
            heads = {}
            for key in keys:
                try:
                    heads[key] = self._head_of(key)
                except errors.LedgerflowError as exc:  # the database is away: try again
                    log.warning("feed: cannot read %s: %s", key[1], type(exc).__name__)
            with self._changed:
                self._heads.update({k: v for k, v in heads.items() if k in self._waiting})
                self._changed.notify_all()
            self._stop.wait(self._interval)

    def close(self) -> None:
        self._stop.set()


_made = threading.Lock()


def feed_of(request: Request) -> Feed:
    """The server's one feed (made with its first waiter)."""
    state = request.app.state
    with _made:
        found: Feed | None = getattr(state, "feed", None)
        if found is None:
            engine: App = state.engine

            def head_of(key: Key) -> int | None:
                return engine.for_tenant(key[0]).head_seq(key[1])

            found = Feed(head_of)
            state.feed = found
    return found
