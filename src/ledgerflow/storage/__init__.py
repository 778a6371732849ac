"""Storage: the ``Store`` protocol and its backends. The only package that knows SQL."""

from __future__ import annotations

from ledgerflow import errors
from ledgerflow.storage.base import Change, ExecutionFilter, Store
from ledgerflow.storage.sqlite import SqliteStore

__all__ = ["Change", "ExecutionFilter", "SqliteStore", "Store", "open_store"]


def open_store(url: str, *, migrate: bool = False) -> Store:
    """Open the store named by ``url``.

    ``sqlite:///path.db``: a new embedded database is created and migrated, in a folder
    that exists (a missing folder is an ``errors.ConfigurationError`` naming it).
    ``postgresql://user@host:5432/db`` (or ``postgres://``): the database must exist; its
    schema is created or upgraded only with ``migrate`` (else ``MigrationRequired``).
    """
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        shown = url.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise errors.ConfigurationError(
            f"database URL '{shown}' is not valid UTF-8; name a file or database in UTF-8"
        ) from None
    if url.startswith("sqlite:"):
        return SqliteStore(url, migrate=migrate)
    if url.startswith(("postgresql:", "postgres:")):
        from ledgerflow.storage.postgres import PostgresStore  # psycopg only when used

        return PostgresStore(url, migrate=migrate)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise errors.ConfigurationError(
        f"unsupported database URL scheme {scheme!r} in {url!r}: use sqlite:///path/to/file.db "
        "or postgresql://user@host:5432/database"
    )
