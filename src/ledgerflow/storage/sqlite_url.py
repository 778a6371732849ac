"""SQLite database URLs: ``sqlite:///relative.db``, ``sqlite:////abs.db``, options in the query."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ledgerflow import errors

_SYNC_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")
_LONGEST_BUSY_MS = 2**31 - 1  # what SQLite's busy timeout holds


@dataclass(frozen=True, kw_only=True, slots=True)
class SqliteOptions:
    path: Path
    synchronous: str = "FULL"
    busy_timeout_ms: int = 10_000


def parse_url(url: str) -> SqliteOptions:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``?synchronous=NORMAL``."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or not parts.path.startswith("/") or parts.netloc:
        raise errors.ConfigurationError(
            f"bad SQLite URL {url!r}: use sqlite:///relative/file.db or sqlite:////absolute.db"
        )
    raw_path = parts.path[1:]
    if not raw_path or raw_path == ":memory:":
        raise errors.ConfigurationError(
            f"bad SQLite URL {url!r}: name a database file (in-memory databases cannot be "
            "shared by the engine's threads)"
        )
    params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(params) - {"synchronous", "busy_timeout_ms"}
    if unknown:
        raise errors.ConfigurationError(
            f"bad SQLite URL {url!r}: unknown option(s) {', '.join(sorted(unknown))}; "
            "known: synchronous, busy_timeout_ms"
        )
    sync = params.get("synchronous", "FULL").upper()
    if sync not in _SYNC_LEVELS:
        raise errors.ConfigurationError(
            f"bad SQLite URL {url!r}: synchronous must be one of {', '.join(_SYNC_LEVELS)}"
        )
    raw_busy = params.get("busy_timeout_ms", "10000")
    if not (raw_busy.isascii() and raw_busy.isdigit() and int(raw_busy) <= _LONGEST_BUSY_MS):
        raise errors.ConfigurationError(
            f"bad SQLite URL {url!r}: busy_timeout_ms must be a whole number of milliseconds "
            f"from 0 to {_LONGEST_BUSY_MS}"
        )
    if raw_path.endswith("/"):
        raise errors.ConfigurationError(
            f"bad SQLite URL {url!r}: it names a folder; name a database file in it "
            f"(sqlite:///{raw_path}ledgerflow.db)"
        )
    return SqliteOptions(path=Path(raw_path), synchronous=sync, busy_timeout_ms=int(raw_busy))
