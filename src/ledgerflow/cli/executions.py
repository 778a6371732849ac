"""start, status, list, history, state."""

from __future__ import annotations

import click

from ledgerflow import ExecutionStatus
from ledgerflow.cli import plain
from ledgerflow.cli.base import (
    POSITION,
    Env,
    emit_json,
    handle_errors,
    json_option,
    parse_duration_option,
    parse_json_arg,
    pass_env,
)

STATUS_CHOICE = click.Choice([s.value for s in ExecutionStatus])


@click.command()
@click.argument("workflow")
@click.option("--input", "input_", default=None, metavar="JSON|@FILE",
              help="Execution input as JSON, or @path to a JSON file.")
@click.option("--id", "execution_id", default=None,
              help="Client-chosen execution id: starting again with the same id and input "
                   "returns the same execution.")
@click.option("--version", type=POSITION, default=None,
              help="Definition version (default: latest).")
@click.option("--ttl", default=None, metavar="DURATION",
              help="Session lifetime such as 24h (default: the definition's ttl, if any); "
                   "unfinished past it, the execution ends expired.")
@json_option
@pass_env
@handle_errors
def start(env: Env, workflow: str, input_: str | None, execution_id: str | None,
          version: int | None, ttl: str | None, as_json: bool) -> None:
    """Start an execution of WORKFLOW; a worker runs it."""
    value = parse_json_arg(input_, "--input") if input_ is not None else {}
    lifetime = parse_duration_option(ttl, "--ttl") if ttl is not None else None
    new_id = env.app().start(workflow, value, execution_id=execution_id, version=version,
                             ttl=lifetime)
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
        return
    columns = plain.width()
    text = plain.status(report, columns) if columns is not None else None
    if text is not None:  # the same bytes rich prints here, without loading it
        click.echo(text, nl=False)
        return
    from ledgerflow.cli import render

    render.status(render.console(), report)


@click.command(name="list")
@click.option("--status", "status_", type=STATUS_CHOICE, default=None, help="Only this status.")
@click.option("--workflow", default=None, help="Only this workflow.")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=50, show_default=True)
@click.option("--metrics", "with_metrics", is_flag=True,
              help="Add counts and ages: steps done, state versions, signals, ledger "
                   "entries, age, idle time, and time left before a session expires.")
@json_option
@pass_env
@handle_errors
def list_(env: Env, status_: str | None, workflow: str | None, limit: int,
          with_metrics: bool, as_json: bool) -> None:
    """List executions, newest first (`--status waiting --metrics`: open sessions)."""
    from rich.table import Table
    from rich.text import Text

    from ledgerflow.cli import render

    app = env.app()
    rows = app.list(status=status_, workflow=workflow, limit=limit)
    found = {r.id: app.metrics(r.id) for r in rows} if with_metrics else {}
    if as_json:
        emit_json([{**r.to_dict(),
                    **({"metrics": found[r.id].to_dict()} if with_metrics else {})}
                   for r in rows])
        return
    if not rows:
        click.echo("no executions match")
        return
    columns = ["id", "workflow", "status", "created", "finished"]
    if with_metrics:
        columns[3:] = ["steps", "versions", "signals", "entries", "age", "idle", "expires in"]
    table = Table(*columns)
    for r in rows:
        cells: list[str | Text] = [Text(r.id), Text(f"{r.workflow} v{r.workflow_version}"),
                                   render.styled(r.status)]
        if with_metrics:
            m = found[r.id]
            cells += [f"{m.steps_done}/{m.steps_total}", str(m.state_versions), str(m.signals),
                      str(m.ledger_entries), render.age(m.age_seconds),
                      render.age(m.idle_seconds),
                      render.age(m.expires_in_seconds) if m.expires_in_seconds is not None
                      else ""]
        else:
            cells += [r.created_at, r.finished_at or ""]
        table.add_row(*cells)
    render.print_table(render.console(piped_width=150 if with_metrics else 120), table, "id")


@click.command()
@click.argument("execution_id")
@json_option
@pass_env
@handle_errors
def history(env: Env, execution_id: str, as_json: bool) -> None:
    """The execution's ledger: every state change, hash-chained."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ledgerflow.cli import render

    entries = env.app().history(execution_id)
    if as_json:
        emit_json([e.to_dict() for e in entries])
        return
    table = Table("seq", "event", "step", "from → to", "try", "state", "at (UTC)", "hash",
                  box=box.SIMPLE_HEAD)
    for e in entries:
        table.add_row(
            str(e.seq), e.event_type, Text(e.step_id or ""),
            f"{e.from_state or '∅'} → {e.to_state or '∅'}",
            str(e.attempt or ""), f"v{e.state_version}" if e.state_version else "",
            e.occurred_at[11:23], e.entry_hash[:10],
        )
    # a ledger reads badly folded: pipes get 120 columns, not 80
    render.print_table(render.console(piped_width=120), table, "step", "event")


COMMANDS = [start, status, list_, history]
