"""A process-wide lock file beside an embedded database: one worker drives it at a time.

The kernel releases an ``flock`` when its process dies, however it dies, so a worker
restarted after SIGKILL takes the lock at once and knows every running step is orphaned.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ledgerflow import errors


class WorkerLock:
    exclusive = True  # holding it means no other worker drives the database

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            database = self.path.with_name(self.path.name.removesuffix(".worker.lock"))
            raise errors.WorkerLockHeld(
                f"another worker (pid {holder}) already drives {database}; an embedded SQLite "
                "database runs one worker at a time (give that worker a higher concurrency "
                "instead, or use PostgreSQL for several workers)", path=str(database),
                holder=holder,
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WorkerLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
