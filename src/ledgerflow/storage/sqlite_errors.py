"""SQLite's errors as errors a user can act on: a full disk, a lock held too long, a file
that is not a database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ledgerflow import errors

_FULL = "database or disk is full"


def _disk_full(exc: sqlite3.Error, path: Path) -> bool:
    """SQLITE_FULL, or an I/O error on a disk with no space left (SQLite reports a file it
    could not create or grow, such as the -wal or -shm file, as an I/O error)."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return True
    if code != sqlite3.SQLITE_IOERR:
        return False
    import shutil  # only here, on an error: its import is a tenth of a read's start-up

    try:
        return shutil.disk_usage(path.absolute().parent).free == 0
    except OSError:
        return False


def full(path: Path, doing: str) -> errors.DatabaseFull:
    return errors.DatabaseFull(
        f"{_FULL}: {path} (while trying to {doing}); free space and try again (a worker "
        "retries by itself)")


def translate(exc: sqlite3.Error, path: Path, doing: str, busy_ms: int) -> errors.StorageError:
    text = str(exc)
    if _disk_full(exc, path):
        return full(path, doing)
    if "locked" in text or "busy" in text:
        return errors.StorageError(
            f"{path}: database stayed locked for {busy_ms} ms while trying to {doing}; "
            "another process holds a long write transaction"
        )
    return errors.StorageError(f"{path}: failed to {doing}: {text}")


def unopenable(exc: sqlite3.DatabaseError, path: Path) -> errors.StorageError:
    """The file could not be opened as a database."""
    if _disk_full(exc, path):
        return full(path, "open it")
    if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_NOTADB:
        return errors.StorageError(
            f"{path} is not an SQLite database (it holds something else); point the "
            "database URL at a ledgerflow database, or at a new file")
    return errors.StorageError(f"cannot open {path} as a ledgerflow database: {exc}")
