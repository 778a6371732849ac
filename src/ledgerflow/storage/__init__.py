"""Storage: the ``Store`` protocol and its backends. The only package that knows SQL."""

from __future__ import annotations

from ledgerflow import errors
from ledgerflow.storage.base import Change, ExecutionFilter, Store
from ledgerflow.storage.sqlite import SqliteStore

__all__ = ["Change", "ExecutionFilter", "SqliteStore", "Store", "open_store"]


def open_store(url: str, *, migrate: bool = False) -> SqliteStore:
    """Open the store named by ``url``; a new embedded database is created and migrated."""
    if url.startswith("sqlite:"):
        return SqliteStore(url, migrate=migrate)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise errors.ConfigurationError(
        f"unsupported database URL scheme {scheme!r} in {url!r}: use sqlite:///path/to/file.db"
    )
