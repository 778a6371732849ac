"""Numbered, forward-only SQL migrations, one folder per dialect.

A migration file is ``NNNN_name.sql``. Each is applied in one transaction together with its
row in ``schema_migrations``; the row keeps the file's SHA-256, so a migration edited after
it was applied is caught (``errors.MigrationError``) instead of silently diverging.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ledgerflow import errors

# the SQL files beside this module (read as files: importing importlib.resources costs a
# command's start-up more than reading them)
HERE = Path(__file__).parent

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

TRACKING_TABLE = "schema_migrations"


@dataclass(frozen=True, kw_only=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str
    checksum: str


@cache
def discover(dialect: str) -> tuple[Migration, ...]:
    """All migrations of a dialect, in version order, numbered 1, 2, 3... without gaps."""
    folder = HERE / dialect
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if not match:
            continue
        sql = entry.read_text("utf-8")
        found.append(
            Migration(
                version=int(match.group(1)),
                name=match.group(2),
                sql=sql,
                checksum=hashlib.sha256(sql.encode()).hexdigest(),
            )
        )
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise errors.MigrationError(
                f"{dialect} migrations are not numbered 1..N: expected {expected:04d}, "
                f"found {migration.version:04d}_{migration.name}.sql"
            )
    return tuple(found)


def check_applied(dialect: str, applied: dict[int, str]) -> list[Migration]:
    """Compare applied (version -> checksum) with the files; return the pending ones.

    Raises ``MigrationError`` for an applied migration that was edited or is unknown.
    """
    known = {m.version: m for m in discover(dialect)}
    for version, checksum in sorted(applied.items()):
        migration = known.get(version)
        if migration is None:
            raise errors.MigrationError(
                f"the database has migration {version:04d}, which this ledgerflow does not "
                "know: it was migrated by a newer version; upgrade ledgerflow"
            )
        if migration.checksum != checksum:
            raise errors.MigrationError(
                f"migration {version:04d}_{migration.name}.sql changed after it was applied "
                f"(applied sha256 {checksum[:12]}…, file {migration.checksum[:12]}…); "
                "migrations are forward-only: restore the file and add a new one"
            )
    return [m for v, m in sorted(known.items()) if v not in applied]


def split_statements(sql: str) -> list[str]:
    """Split an SQLite script into complete statements (trigger bodies keep their semicolons)."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise errors.MigrationError(f"incomplete SQL statement at the end: {buffer[:60]!r}")
    return statements
