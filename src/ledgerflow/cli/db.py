"""db copy: move a whole deployment to another database (SQLite and PostgreSQL, any way)."""

from __future__ import annotations

import shlex
import sys
from types import TracebackType
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from ledgerflow import App, copy_deployment
from ledgerflow.cli.base import emit_json, handle_errors, json_option
from ledgerflow.cli.verify import describe


@click.group()
def db() -> None:
    """Whole-database operations."""


class TableProgress:
    """Rows copied of each table on stderr: bars on a terminal, a line per table otherwise."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self._live = self.console.is_terminal
        self._progress = Progress(TextColumn("{task.description:<22}"), BarColumn(),
                                  MofNCompleteColumn(), console=self.console)
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, table: str, done: int, total: int) -> None:
        if not self._live:
            if done == total:
                click.echo(f"copied {table}: {done}/{total} rows", err=True)
            return
        task = self._tasks.get(table)
        if task is None:
            task = self._tasks[table] = self._progress.add_task(table, total=total)
        self._progress.update(task, completed=done)

    def __enter__(self) -> TableProgress:
        if self._live:
            self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._live:
            self._progress.stop()


@db.command(name="copy")
@click.argument("source_url", metavar="SOURCE_URL")
@click.argument("target_url", metavar="TARGET_URL")
@click.option("--verify", "verify_after", is_flag=True,
              help="Verify every ledger of every tenant on the target afterwards "
                   "(exit 1 if any fails).")
@json_option
@handle_errors
def copy_command(source_url: str, target_url: str, verify_after: bool, as_json: bool) -> None:
    """Copy every table of SOURCE_URL into the empty TARGET_URL.

    \b
    ledgerflow db copy sqlite:///ledgerflow.db postgresql://user@host:5432/ledgerflow

    The source must be up to date (ledgerflow --db SOURCE_URL migrate) and is only read,
    from one consistent snapshot; a missing SQLite source is an error, never created. The
    target is created (SQLite) and migrated, and must hold nothing yet. The copy is one
    transaction on the target: if it fails, nothing of it stays. The global --db is not
    used.
    """
    with TableProgress() as progress:
        report = copy_deployment(source_url, target_url, progress=progress)
    checks = _verify(target_url, report.tenants) if verify_after else None
    if as_json:
        out: dict[str, Any] = {"source": report.source, "target": report.target,
                               "tables": report.tables, "seconds": report.seconds}
        if checks is not None:
            out["verify"] = checks
        emit_json(out)
    else:
        rows = sum(report.tables.values())
        click.echo(f"copied {rows} rows in {len(report.tables)} tables from {report.source} "
                   f"to {report.target} in {report.seconds:.2f} s")
        for name, count in report.tables.items():
            click.echo(f"  {name:<22} {count:>10}")
        if checks is not None:
            _print_checks(checks)
        click.echo(f"next: ledgerflow --db {shlex.quote(report.target)} verify --all")
    if checks is not None and not all(c["ok"] for c in checks.values()):
        sys.exit(1)


def _verify(target_url: str, tenants: list[str]) -> dict[str, dict[str, Any]]:
    """verify --all on the target for every tenant it holds."""
    checks: dict[str, dict[str, Any]] = {}
    for tenant in tenants:
        with App(target_url, tenant=tenant, actor="cli") as app:
            results = list(app.verify_all())
            removed = len(app.tombstones())
        bad = [r for r in results if not r.ok]
        checks[tenant] = {"ok": not bad, "checked": len(results),
                          "entries": sum(r.entries for r in results), "removed": removed,
                          "failures": [describe(r) for r in bad]}
    return checks


def _print_checks(checks: dict[str, dict[str, Any]]) -> None:
    if not checks:
        click.echo("verify: no executions to check")
    for tenant, c in checks.items():
        for failure in c["failures"]:
            click.echo(f"FAIL tenant {tenant}: {failure}")
        outcome = (f"ok: {c['checked']} execution(s), {c['entries']} ledger entries intact"
                   if c["ok"] else
                   f"{len(c['failures'])} of {c['checked']} execution(s) failed verification")
        gone = f"; {c['removed']} removed by retention" if c["removed"] else ""
        click.echo(f"verify tenant {tenant}: {outcome}{gone}")


COMMANDS = [db]
