"""Lock files beside an embedded database: which workers may drive it at once.

A worker of one tenant holds ``<db>.worker.lock`` shared and ``<db>.worker.<tenant>.lock``
alone: workers of different tenants run side by side (SQLite serialises their commits, and
each claims only its tenant's executions), never two of one tenant. A worker of every tenant
holds ``<db>.worker.lock`` alone: nothing else runs beside it. A file held alone keeps its
holder's pid, for the message of whoever is refused.

The kernel releases an ``flock`` when its process dies, however it dies, so a worker
restarted after SIGKILL takes the lock at once and knows every running step in its scope
is orphaned.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from pathlib import Path
from types import TracebackType

from ledgerflow import errors

PLAIN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a tenant id that names a file as it is
ADVICE = "give that worker a higher concurrency instead, or use PostgreSQL for several workers"


class WorkerLock:
    exclusive = True  # holding it means no other worker drives the executions in its scope

    def __init__(self, database: Path, tenant: str | None = None) -> None:
        self.database = database
        self.tenant = tenant  # None: every tenant's executions
        self.path = database.with_name(database.name + ".worker.lock")
        self.tenant_path = None if tenant is None else \
            database.with_name(f"{database.name}.worker.{_file_part(tenant)}.lock")
        self._fds: list[int] = []

    def acquire(self) -> None:
        if self.tenant_path is None:
            self._take(self.path, fcntl.LOCK_EX)
            return
        self._take(self.path, fcntl.LOCK_SH)
        try:
            self._take(self.tenant_path, fcntl.LOCK_EX)
        except BaseException:
            self.release()
            raise

    def _take(self, path: Path, mode: int) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            if path == self.tenant_path:
                refused = self._same_tenant(holder)
            elif mode == fcntl.LOCK_SH or _held_alone(fd):
                refused = self._every_tenant(holder)
            else:
                refused = self._single_tenants()
            os.close(fd)
            raise refused from None
        if mode == fcntl.LOCK_EX:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        self._fds.append(fd)

    def _same_tenant(self, holder: str) -> errors.WorkerLockHeld:
        return errors.WorkerLockHeld(
            f"another worker (pid {holder}) already drives tenant {self.tenant!r} of "
            f"{self.database}; an embedded SQLite database runs one worker at a time for "
            f"each tenant ({ADVICE})", path=str(self.database), holder=holder,
            tenant=self.tenant)

    def _every_tenant(self, holder: str) -> errors.WorkerLockHeld:
        return errors.WorkerLockHeld(
            f"another worker (pid {holder}) already drives {self.database} for every "
            "tenant; an embedded SQLite database driven for every tenant runs one worker at "
            f"a time ({ADVICE})", path=str(self.database), holder=holder, tenant=self.tenant)

    def _single_tenants(self) -> errors.WorkerLockHeld:
        return errors.WorkerLockHeld(
            f"workers of single tenants already drive {self.database}; a worker of every "
            "tenant needs an embedded SQLite database to itself, one worker at a time (stop "
            "them first, or run a worker for each tenant instead, or use PostgreSQL for "
            "several workers)", path=str(self.database), tenant=self.tenant)

    def release(self) -> None:
        while self._fds:
            fd = self._fds.pop()
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> WorkerLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _held_alone(fd: int) -> bool:
    """Whether the file is held by one worker alone (a shared lock is refused too), rather
    than shared by workers of single tenants."""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False



def _file_part(tenant: str) -> str:
    """``tenant`` as part of a file name: as it is when plain (every tenant id made by
    ``ledgerflow.access`` is), else a digest of it."""
    if PLAIN.fullmatch(tenant):
        return tenant
    return "sha256-" + hashlib.sha256(tenant.encode()).hexdigest()[:16]
