"""cleanup: retention — remove old finished executions, keeping a tombstone of each."""

from __future__ import annotations

import click
from rich import box
from rich.table import Table
from rich.text import Text

from ledgerflow import errors
from ledgerflow.cli import render
from ledgerflow.cli.base import Env, emit_json, handle_errors, json_option, pass_env
from ledgerflow.definition.durations import DurationError, parse_duration


@click.command()
@click.option("--older-than", "older_than", required=True, metavar="DURATION",
              help="Remove executions that finished longer ago than this: '30d', '12h', "
                   "'10m', '0s' (every finished one).")
@click.option("--dry-run", is_flag=True, help="Only show what would be removed.")
@json_option
@pass_env
@handle_errors
def cleanup(env: Env, older_than: str, dry_run: bool, as_json: bool) -> None:
    """Remove finished executions that ended before now minus --older-than.

    \b
    Removed: completed, failed, cancelled and expired executions (their ledger, steps,
    state versions, routing decisions and signals), oldest first, in batches of one
    transaction each.
    Kept: every pending, running, waiting and paused execution, however old, and anything
    that changes while cleanup runs. Workflow definitions are never removed.

    \b
    Each removed execution leaves a tombstone: its id, workflow and version, final status,
    last ledger seq and head hash, when it was created and finished, and when and by whom
    it was removed. `ledgerflow verify --all` lists them; `verify ID` of a removed id
    prints its tombstone. A removed id cannot be used for a new execution.
    """
    try:
        seconds = parse_duration(older_than, longest=None)  # looks back: any length
    except DurationError as exc:
        raise errors.ConfigurationError(f"--older-than: {exc}") from None
    report = env.app().cleanup(seconds, dry_run=dry_run)
    if as_json:
        emit_json(report.to_dict())
        return
    stones = report.tombstones
    verb = "would remove" if dry_run else "removed"
    if stones:
        table = Table("id", "workflow", "final status", "finished (UTC)", "last seq",
                      "head hash", box=box.SIMPLE_HEAD)
        for t in stones:
            table.add_row(Text(t.execution_id), Text(f"{t.workflow} v{t.workflow_version}"),
                          render.styled(t.final_status), t.finished_at or "",
                          str(t.head_seq), t.head_hash[:16] + "…")
        # ids and hashes read badly folded: pipes get 140 columns
        render.print_table(render.console(piped_width=140), table, "id", "head hash")
    click.echo(f"{verb} {len(stones)} execution(s) finished before {report.cutoff}"
               + (" (dry run: nothing removed)" if dry_run else ""))
    if report.skipped:
        click.echo(f"kept {len(report.skipped)} execution(s) that changed while cleanup ran: "
                   + ", ".join(report.skipped))


COMMANDS = [cleanup]
