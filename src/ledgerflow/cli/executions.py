"""start, status, list, history, state."""

from __future__ import annotations

import difflib
import json

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledgerflow.cli import render
from ledgerflow.cli.base import Env, emit_json, handle_errors, json_option, parse_json_arg, pass_env
from ledgerflow.engine.lifecycle import ExecutionStatus
from ledgerflow.storage.rows import parse_column

STATUS_CHOICE = click.Choice([s.value for s in ExecutionStatus])


@click.command()
@click.argument("workflow")
@click.option("--input", "input_", default=None, metavar="JSON|@FILE",
              help="Execution input as JSON, or @path to a JSON file.")
@click.option("--id", "execution_id", default=None,
              help="Client-chosen execution id: starting again with the same id and input "
                   "returns the same execution.")
@click.option("--version", type=click.IntRange(min=1), default=None,
              help="Definition version (default: latest).")
@json_option
@pass_env
@handle_errors
def start(env: Env, workflow: str, input_: str | None, execution_id: str | None,
          version: int | None, as_json: bool) -> None:
    """Start an execution of WORKFLOW; a worker runs it."""
    value = parse_json_arg(input_, "--input") if input_ is not None else {}
    new_id = env.app().start(workflow, value, execution_id=execution_id, version=version)
    if as_json:
        emit_json({"id": new_id, "workflow": workflow})
    else:
        click.echo(new_id)


@click.command()
@click.argument("execution_id")
@json_option
@pass_env
@handle_errors
def status(env: Env, execution_id: str, as_json: bool) -> None:
    """Status, progress, timing and steps of an execution."""
    report = env.app().status(execution_id)
    if as_json:
        emit_json(report.to_dict())
    else:
        render.status(Console(), report)


@click.command(name="list")
@click.option("--status", "status_", type=STATUS_CHOICE, default=None, help="Only this status.")
@click.option("--workflow", default=None, help="Only this workflow.")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=50, show_default=True)
@json_option
@pass_env
@handle_errors
def list_(env: Env, status_: str | None, workflow: str | None, limit: int,
          as_json: bool) -> None:
    """List executions, newest first."""
    rows = env.app().list(status=status_, workflow=workflow, limit=limit)
    if as_json:
        emit_json([render.execution_summary(r) for r in rows])
        return
    if not rows:
        click.echo("no executions match")
        return
    table = Table("id", "workflow", "status", "created", "finished")
    for r in rows:
        table.add_row(r.id, f"{r.workflow} v{r.workflow_version}", render.styled(r.status),
                      r.created_at, r.finished_at or "")
    Console().print(table)


@click.command()
@click.argument("execution_id")
@json_option
@pass_env
@handle_errors
def history(env: Env, execution_id: str, as_json: bool) -> None:
    """The execution's ledger: every state change, hash-chained."""
    entries = env.app().history(execution_id)
    if as_json:
        emit_json([e.to_dict() for e in entries])
        return
    table = Table("seq", "event", "step", "from → to", "try", "state", "at (UTC)", "hash",
                  box=box.SIMPLE_HEAD)
    for column in table.columns:
        column.no_wrap = True
    for e in entries:
        table.add_row(
            str(e.seq), e.event_type, e.step_id or "",
            f"{e.from_state or '∅'} → {e.to_state or '∅'}",
            str(e.attempt or ""), f"v{e.state_version}" if e.state_version else "",
            e.occurred_at[11:23], e.entry_hash[:10],
        )
    console = Console()
    console.width = max(console.width, 120)  # a ledger reads badly folded; pipes get 80
    console.print(table)


@click.command()
@click.argument("execution_id")
@click.option("--version", type=click.IntRange(min=1), default=None,
              help="A state version (default: the current one).")
@click.option("--diff", nargs=2, type=click.IntRange(min=1), default=None, metavar="A B",
              help="Show what changed from version A to version B instead.")
@json_option
@pass_env
@handle_errors
def state(env: Env, execution_id: str, version: int | None, diff: tuple[int, int] | None,
          as_json: bool) -> None:
    """The execution's state document, now or as of any earlier version.

    Every change of the state document makes a version; `history` shows which ledger
    entry made which one.
    """
    if diff is not None:
        if version is not None:
            raise click.UsageError("give --version or --diff, not both")
        _state_diff(env, execution_id, *diff, as_json=as_json)
        return
    found = env.app().state(execution_id, version)
    document = parse_column(found.state, f"state version {found.version}")
    if as_json:
        emit_json({"execution_id": found.execution_id, "version": found.version,
                   "seq": found.seq, "sha256": found.sha256, "created_at": found.created_at,
                   "state": document})
        return
    console = Console()
    console.print(f"[bold]state version {found.version}[/] (made by ledger entry "
                  f"{found.seq}, sha256 {found.sha256[:12]}…, {found.created_at})")
    console.print_json(json.dumps(document))


def _state_diff(env: Env, execution_id: str, old: int, new: int, *, as_json: bool) -> None:
    app = env.app()
    patch = app.state_diff(execution_id, old, new)
    if as_json:
        emit_json({"execution_id": execution_id, "from": old, "to": new, "patch": patch})
        return
    before = json.dumps(parse_column(app.state(execution_id, old).state, "state"), indent=2)
    after = json.dumps(parse_column(app.state(execution_id, new).state, "state"), indent=2)
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(),
                                 f"state v{old}", f"state v{new}", lineterm="")
    console = Console(highlight=False, soft_wrap=True)
    shown = False
    for line in lines:
        shown = True
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        console.print(Text(line, style=style))
    if not shown:
        console.print(f"no change between state v{old} and v{new}")


COMMANDS = [start, status, list_, history, state]
