"""Copy a whole deployment from one database to another (SQLite or PostgreSQL, any way round).

Tables and columns come from the schemas, not from a list here: every table of the target
but the migrations bookkeeping is copied (the columns it shares with the source), parents
before children by their foreign keys, so a table or column a later migration adds is
copied too. Rows are streamed a page at a time from one consistent snapshot of the source
into ONE transaction on the target: a failed copy leaves the target as empty as it was.
Identity sequences (PostgreSQL) are moved past the copied ids. Triggers stay as they are:
plain INSERTs are all a copy needs, and the append-only triggers allow those.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from typing import Any

from ledgerflow import errors
from ledgerflow.storage import copy_sqlite, migrations, open_store
from ledgerflow.storage.copy_tables import Side, TableInfo
from ledgerflow.storage.sqlite import SqliteStore
from ledgerflow.storage.sqlite_url import parse_url

PAGE = 1000
# the order of tables without foreign keys between them (then any other table, by name)
PREFERRED = ("workflow_definitions", "executions", "step_runs", "state_versions",
             "ledger_entries", "routing_decisions", "signals", "tombstones", "wakeups",
             "agents", "breakers", "breaker_transitions", "agent_stats", "telemetry")
SKIPPED = frozenset({migrations.TRACKING_TABLE})

Progress = Callable[[str, int, int], None]  # (table, rows copied so far, rows in the table)


@dataclass(kw_only=True, slots=True)
class CopyReport:
    source: str  # URLs safe to print (no password)
    target: str
    tables: dict[str, int] = field(default_factory=dict)
    tenants: list[str] = field(default_factory=list)
    seconds: float = 0.0


def order_tables(tables: Mapping[str, TableInfo]) -> list[str]:
    """Every table after the tables it references; otherwise in ``PREFERRED`` order, then by
    name. A cycle of foreign keys (none in the schema) is broken in the same order."""
    rank = {name: i for i, name in enumerate(PREFERRED)}

    def key(name: str) -> tuple[int, str]:
        return rank.get(name, len(rank)), name

    waiting = {n: {r for r in t.references if r in tables and r != n}
               for n, t in tables.items()}
    ordered: list[str] = []
    while waiting:
        ready = [n for n, needs in waiting.items() if not needs] or list(waiting)
        first = min(ready, key=key)
        ordered.append(first)
        del waiting[first]
        for needs in waiting.values():
            needs.discard(first)
    return ordered


def same_database(source_url: str, target_url: str) -> bool:
    """Whether two URLs name one database (by file, or by server, port, database, options)."""
    if source_url == target_url:
        return True
    if source_url.startswith("sqlite:") and target_url.startswith("sqlite:"):
        a, b = parse_url(source_url).path, parse_url(target_url).path
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    schemes = ("postgresql:", "postgres:")
    if not (source_url.startswith(schemes) and target_url.startswith(schemes)):
        return False
    from ledgerflow.storage.copy_postgres import database_key  # psycopg only when used

    return database_key(source_url) == database_key(target_url)


def open_source(url: str) -> Any:
    """The source store, never created nor migrated: a missing file is an error."""
    try:
        if url.startswith("sqlite:"):
            return SqliteStore(url, migrate=False, create=False)
        return open_store(url, migrate=False)
    except errors.MigrationRequired as exc:
        raise exc.prefixed("the source is not up to date: ") from exc
    except (errors.ConfigurationError, errors.NotFound, errors.StorageError) as exc:
        raise exc.prefixed("source: ") from exc


def open_target(url: str) -> Any:
    """The target store, created (SQLite) and migrated to the latest schema."""
    try:
        return open_store(url, migrate=True)
    except (errors.ConfigurationError, errors.NotFound, errors.StorageError) as exc:
        raise exc.prefixed("target: ") from exc


def copy_deployment(source_url: str, target_url: str, *,
                    progress: Progress | None = None) -> CopyReport:
    """Copy the whole database at ``source_url`` into the empty one at ``target_url``
    (created and migrated; SQLite and PostgreSQL either way), in one target transaction."""
    if same_database(source_url, target_url):
        raise errors.ConfigurationError(
            f"source and target are the same database ({source_url}); copy into another one")
    source = open_source(source_url)
    try:
        target = open_target(target_url)
        try:
            return copy_database(source, target, progress=progress)
        finally:
            target.close()
    finally:
        source.close()


def _sides(source: Any, target: Any) -> tuple[AbstractContextManager[Side],
                                               AbstractContextManager[Side]]:
    def side(store: Any, *, write: bool) -> AbstractContextManager[Side]:
        if store.dialect == "sqlite":
            return copy_sqlite.writer(store) if write else copy_sqlite.snapshot(store)
        from ledgerflow.storage import copy_postgres  # psycopg only when used

        return copy_postgres.writer(store) if write else copy_postgres.snapshot(store)

    return side(source, write=False), side(target, write=True)


def shown(store: Any) -> str:
    """A store's URL without its password."""
    target = getattr(store, "target", None)
    return str(target.url) if target is not None else str(store.url)


def copy_database(source: Any, target: Any, *, page: int = PAGE,
                  progress: Progress | None = None) -> CopyReport:
    """Copy every row of ``source`` into the empty ``target`` (both open stores)."""
    started = time.monotonic()
    report = CopyReport(source=shown(source), target=shown(target))
    read, write = _sides(source, target)
    try:
        with ExitStack() as stack:
            src = stack.enter_context(read)
            dst = stack.enter_context(write)
            wanted = {n: t for n, t in dst.tables().items() if n not in SKIPPED}
            _refuse_non_empty(dst, wanted, report.target)
            have = src.tables()
            copied: list[TableInfo] = []
            for name in order_tables(wanted):
                if name not in have:  # not in the source's schema: nothing to copy
                    report.tables[name] = 0
                    continue
                columns = [c for c in wanted[name].columns if c in have[name].columns]
                report.tables[name] = _copy_table(src, dst, have[name], wanted[name],
                                                  columns, page, progress, report.target)
                copied.append(wanted[name])
            dst.finish(copied)
            report.tenants.extend(dst.tenants())
    except (errors.CopyFailed, errors.Conflict):
        raise
    except errors.StorageError as exc:
        raise errors.CopyFailed(f"{exc}; nothing was committed to {report.target} (the copy "
                                "is one transaction)") from exc
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _refuse_non_empty(dst: Side, tables: Mapping[str, TableInfo], target: str) -> None:
    held = [(n, dst.count(n)) for n in order_tables(tables)]
    held = [(n, rows) for n, rows in held if rows]
    if held:
        what = ", ".join(f"{rows} {name}" for name, rows in held[:5])
        if len(held) > 5:
            what += f" and rows in {len(held) - 5} more table(s)"
        raise errors.Conflict(
            f"target {target} is not empty: it holds {what}; copy into a new, empty database")


def _copy_table(src: Side, dst: Side, source: TableInfo, table: TableInfo,
                columns: Sequence[str], page: int, progress: Progress | None,
                target: str) -> int:
    done = 0
    total = src.count(table.name)
    if progress:
        progress(table.name, 0, total)
    pages = src.pages(source, columns, page)
    try:
        for rows in pages:
            try:
                dst.insert(table.name, columns, rows)
            except errors.CopyFailed as exc:
                _find_refused(dst, table, columns, rows, done, target)
                raise errors.CopyFailed(
                    f"copy failed at {table.name} rows {done + 1}-{done + len(rows)}: {exc}; "
                    f"nothing was committed to {target} (the copy is one transaction)"
                ) from exc
            done += len(rows)
            if progress:
                progress(table.name, done, total)
    finally:
        pages.close()  # its cursor closes now, inside the snapshot's transaction
    return done


def _find_refused(dst: Side, table: TableInfo, columns: Sequence[str],
                  rows: Sequence[tuple[Any, ...]], done: int, target: str) -> None:
    """Insert a refused page's rows one by one to name the row the target refuses."""
    for number, row in enumerate(rows, start=done + 1):
        try:
            dst.insert(table.name, columns, [row])
        except errors.CopyFailed as exc:
            values = dict(zip(columns, row, strict=True))
            key = ", ".join(f"{c}={values[c]!r}" for c in table.primary_key if c in values)
            raise errors.CopyFailed(
                f"copy failed at {table.name} row {number} ({key or 'no key'}): {exc}; "
                f"nothing was committed to {target} (the copy is one transaction)") from exc

