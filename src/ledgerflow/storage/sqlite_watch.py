"""Ledger commits on SQLite, seen by one thread per watcher, whichever process made them.

SQLite has no notifications, and workers usually run in another process. The watcher keeps
one connection of its own and asks it ``PRAGMA data_version``, which changes when another
connection (of this process or another) has committed: a look at shared memory, no read of
the database. Only then does it read the ledger rows added since the last one it saw (by
rowid, one indexed range) and tells ``on_commit`` each execution's new head. A commit made
through the store in this process pokes it at once; others are seen within ``interval``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from ledgerflow.storage.notices import LedgerNotice

log = logging.getLogger("ledgerflow.server.feed")
INTERVAL = 0.1  # seconds between two looks at data_version when nothing pokes the watcher


class CommitWatcher:
    def __init__(self, conn: sqlite3.Connection, queries: dict[str, str],
                 on_commit: Callable[[LedgerNotice | None], None],
                 on_close: Callable[[CommitWatcher], None] = lambda _: None,
                 interval: float = INTERVAL) -> None:
        self._conn = conn
        self._q = queries
        self._on_commit = on_commit
        self._on_close = on_close
        self._interval = interval
        self._poke = threading.Event()
        self._stop = threading.Event()
        self._version = self._data_version()
        self._last = self._last_rowid()
        self._thread = threading.Thread(target=self._run, name="ledgerflow-ledger-watch",
                                        daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """Something committed in this process: look now."""
        self._poke.set()

    def close(self) -> None:
        self._stop.set()
        self._poke.set()
        self._thread.join(timeout=5)
        self._on_close(self)
        self._conn.close()

    def _data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()["data_version"])

    def _last_rowid(self) -> int:
        return int(self._conn.execute(self._q["ledger_last_rowid"]).fetchone()["last"])

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            self._poke.wait(self._interval)
            self._poke.clear()
            if self._stop.is_set():
                return
            try:
                self._look()
                if failing:
                    log.warning("watching ledger commits again")
                    self._on_commit(None)  # what was missed meanwhile: look again
                failing = False
            except sqlite3.Error as exc:
                if not failing:
                    log.warning("cannot watch ledger commits (%s); trying again", exc)
                failing = True

    def _look(self) -> None:
        version = self._data_version()
        if version == self._version:
            return
        self._version = version
        rows = self._conn.execute(self._q["ledger_heads_after"],
                                  {"after": self._last}).fetchall()
        for row in rows:
            self._last = max(self._last, int(row["last"]))
            self._on_commit(LedgerNotice(row["tenant_id"], row["execution_id"],
                                         int(row["head_seq"])))
        if not rows and self._last_rowid() < self._last:
            # retention removed the newest rows: their rowids will be used again
            self._last = self._last_rowid()
            self._on_commit(None)
