"""workers: who is alive, what each holds and runs, since when."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click
from rich import box
from rich.table import Table
from rich.text import Text

from ledgerflow import WorkerInfo
from ledgerflow.cli import render
from ledgerflow.cli.base import Env, emit_json, handle_errors, json_option, pass_env

if TYPE_CHECKING:
    from rich.console import Console

SHOWN = 5  # running steps listed per worker under the table
_STATE_STYLE = {"alive": "green", "stopping": "yellow", "stopped": "dim", "dead": "red"}


def _since(at: str | None) -> str:
    if at is None:
        return "-"
    started = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return render.age((datetime.now(UTC) - started).total_seconds())


def _offers(w: WorkerInfo) -> str:
    return ", ".join(f"{c} ({w.limits[c]} at a time)" if c in w.limits else c
                     for c in w.capabilities) or "-"


def scope_of(w: WorkerInfo) -> str:
    """The tenant a worker works, or "all tenants" (no tenant id has a space)."""
    return "all tenants" if w.tenant is None else w.tenant


def _row(w: WorkerInfo) -> list[str | Text]:
    style = _STATE_STYLE.get(w.state, "")
    return [Text(w.id), f"[{style}]{w.state}[/{style}]", Text(scope_of(w)),
            _since(w.started_at),
            f"{render.age(w.heartbeat_age_s)} ago", str(w.executions),
            f"{w.running} ({w.concurrency} at a time)", _since(w.running_since),
            Text(_offers(w))]


def _listed(console: Console, w: WorkerInfo) -> None:
    """Under the table: a worker's steps out, then the handlers stuck past their timeout."""
    for step in w.steps[:SHOWN]:
        console.print(Text(f"  {w.id} has {step['execution']} {step['step']} "
                           f"({step['agent']}) since {_since(step['since'])}"))
    if len(w.steps) > SHOWN:
        console.print(Text(f"  {w.id}: {len(w.steps) - SHOWN} more (--json lists them)"))
    for late in w.stuck:
        console.print(Text(f"  {w.id} is stuck in {late['execution']} {late['step']} "
                           f"({late['agent']}): timed out {_since(late['since'])} ago, its "
                           "handler thread still runs"), style="yellow", soft_wrap=True)


@click.command()
@click.option("--all", "everyone", is_flag=True,
              help="Also list stopped workers and dead ones (heartbeats stopped).")
@json_option
@pass_env
@handle_errors
def workers(env: Env, everyone: bool, as_json: bool) -> None:
    """Workers sharing this database: alive or not, what each holds and runs, since when.

    \b
    state        alive; stopping (SIGTERM: finishing its steps); stopped; dead (no
                 heartbeat for a whole lease: other workers take its executions over)
    tenant       the tenant whose executions it works (worker --tenant), or "all
                 tenants" (worker --all-tenants; --json: null)
    executions   unfinished executions it holds under a lease
    steps        steps dispatched to it (its --concurrency run at a time, the rest wait
                 for a slot); "oldest" is how long the oldest of them has been out; the
                 steps are listed under the table
    capabilities what its agents offer, with its --limit of steps at once where set

    Handlers stuck past their timeout are listed under the table too: their step was
    failed or retried and their slot given back, but their thread cannot be stopped and
    still runs (until it returns, or the worker's process exits).
    """
    found = env.app().workers(everyone=everyone)
    if as_json:
        emit_json([w.to_dict() for w in found])
        return
    if not found:
        click.echo("no live workers" + ("" if everyone else " (--all lists stopped ones)")
                   + "; start one with: ledgerflow worker --agents MODULE")
        return
    table = Table("worker", "state", "tenant", "up", "heartbeat", "executions", "steps", "oldest",
                  "capabilities", box=box.SIMPLE_HEAD)
    for w in found:
        table.add_row(*_row(w))
    console = render.console(piped_width=120)
    render.print_table(console, table, "worker")
    for w in found:
        _listed(console, w)


COMMANDS = [workers]
