"""``LISTEN``/``NOTIFY`` on PostgreSQL: idle workers wake the moment work appears.

Writers send ``NOTIFY ledgerflow`` in the transaction that makes work (a new execution
nobody holds, a change made outside a worker, leases handed back); PostgreSQL delivers it
on commit. Each worker keeps one connection listening in a background thread. When that
connection drops (a restart, a failover) the worker says so once, keeps polling, and
listens again as soon as the server is back; after every (re)connection it is told to
look at once, since notifications sent meanwhile are lost.

The server listens the same way on ``ledgerflow_ledger`` for ledger commits (one connection
per server process, whatever the number of clients waiting).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg

from ledgerflow.storage.notices import CHANNEL, LEDGER_CHANNEL

NOTIFY = f"SELECT pg_notify('{CHANNEL}', %s)"
NOTIFY_LEDGER = f"SELECT pg_notify('{LEDGER_CHANNEL}', %s)"
log = logging.getLogger("ledgerflow.worker")


class NotificationListener:
    def __init__(self, conninfo: str, describe: str,
                 on_message: Callable[[str | None], None], retry_seconds: float = 1.0,
                 *, channel: str = CHANNEL, what: str = "work",
                 meanwhile: str = "polling for work until it is back",
                 announce_first: bool = True) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._what = what
        self._meanwhile = meanwhile
        # False: no None after the first connection (the caller waits for ``listening``
        # and misses nothing), only after a reconnection
        self.announce_first = announce_first
        self.listening = threading.Event()  # LISTEN has run once
        self._describe = describe
        self._on_message = on_message
        self._retry = retry_seconds
        self._stop = threading.Event()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._thread = threading.Thread(target=self._run, name="ledgerflow-listen",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        lost = False
        while not self._stop.is_set():
            try:
                with psycopg.Connection.connect(self._conninfo, autocommit=True,
                                                connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {self._channel}")
                    if lost:
                        log.warning("listening for %s on %s again", self._what,
                                    self._describe)
                    announce = lost or self.announce_first or self.listening.is_set()
                    lost = False
                    self.listening.set()
                    if announce:
                        self._on_message(None)
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._on_message(note.payload)
            except psycopg.Error as exc:
                if not lost:
                    log.warning("lost the LISTEN connection to %s (%s); %s", self._describe,
                                " ".join(str(exc).split()), self._meanwhile)
                lost = True
                self._stop.wait(self._retry)
