"""Errors of the database and of the ledger (the tree: ``ledgerflow.errors``)."""

from __future__ import annotations

from collections.abc import Sequence

from ledgerflow.errors.core import LedgerflowError


class StorageError(LedgerflowError):
    """The database failed or holds something unexpected."""


class ConnectionLost(StorageError):
    """The database could not be reached or dropped the connection (a restart, a network
    failure): nothing is wrong with the data; try again."""

    retryable = True


class DatabaseFull(ConnectionLost):
    """The database cannot grow (its disk is full): nothing was written by the refused
    call, nothing is wrong with the data; free space and try again."""


class CorruptedRow(StorageError):
    """A stored row is not what ledgerflow wrote (it was changed outside ledgerflow);
    ``what`` names it. Verifying the ledgers tells which executions are affected."""

    def __init__(self, message: str, *, what: str | None = None) -> None:
        self.what = what
        super().__init__(message)


class MigrationRequired(StorageError):
    """The database exists but has ``pending`` migrations (``0003_name``); ``url`` is the
    database's URL (without its password)."""

    def __init__(self, message: str, *, url: str | None = None,
                 pending: Sequence[str] = ()) -> None:
        self.url = url
        self.pending = tuple(pending)
        super().__init__(message)


class MigrationError(StorageError):
    """A migration failed, or an applied migration was edited afterwards."""


class WorkerLockHeld(StorageError):
    """Another worker process (pid ``holder``; None: several workers of single tenants)
    already drives the embedded database at ``path``, in the scope a worker of ``tenant``
    (None: of every tenant) needs."""

    def __init__(self, message: str, *, path: str | None = None,
                 holder: str | None = None, tenant: str | None = None) -> None:
        self.path = path
        self.holder = holder
        self.tenant = tenant
        super().__init__(message)


class CopyFailed(StorageError):
    """A database copy stopped; its transaction was rolled back (the message says so)."""


class LedgerError(LedgerflowError):
    """An operation on the ledger was refused."""


class UnstorableValue(LedgerError):
    """A value the ledger cannot hold (``ledger.values.encode``); ``reason`` is the one line
    naming its path (``output.n: integer 2^60 is outside ±2^53``)."""

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)
