"""logs: an execution's telemetry — step logs, engine events, errors, routing decisions."""

from __future__ import annotations

import json
import time

import click
from rich.console import Console
from rich.text import Text

from ledgerflow import ExecutionStatus
from ledgerflow.cli.base import Env, full_id, handle_errors, json_option, pass_env

_STYLE = {"interaction": "", "telemetry": "cyan", "error": "red", "decision": "magenta",
          "transition": "yellow"}
FOLLOW_POLL = 0.5  # seconds between reads with --follow
PAGE = 1000


@click.command()
@click.argument("execution_id")
@click.option("--follow", "-f", is_flag=True,
              help="Keep printing new records until the execution finishes (Ctrl-C stops).")
@click.option("--kind", type=click.Choice(list(_STYLE)), multiple=True,
              help="Only these kinds (repeatable).")
@json_option
@pass_env
@handle_errors
def logs(env: Env, execution_id: str, follow: bool, kind: tuple[str, ...],
         as_json: bool) -> None:
    """An execution's telemetry: step logs (ctx.log), engine events, errors and routing
    decisions, oldest first. `--json` prints one JSON object per line.

    Telemetry is buffered and may drop records under a flood (counted by the worker); the
    ledger (`ledgerflow history`) never does.
    """
    app = env.app()
    execution_id = full_id(app, execution_id)
    console = Console(highlight=False, soft_wrap=True, emoji=False)
    after = 0
    try:
        while True:
            rows = app.logs(execution_id, after, PAGE)
            for r in rows:
                after = max(after, r.id or 0)
                if kind and r.kind not in kind:
                    continue
                if as_json:
                    click.echo(json.dumps(r.to_dict()))
                    continue
                line = Text(f"{r.at[11:23]} {r.kind:<11} {r.step_id or '-':<16} ",
                            style=_STYLE.get(r.kind, ""))
                line.append(r.message)
                if r.fields:
                    line.append(f"  {json.dumps(r.fields)}", style="dim")
                console.print(line)
            if len(rows) >= PAGE:
                continue  # more to read now
            if not follow:
                break
            if not rows and ExecutionStatus(app.execution(execution_id).status).terminal:
                break
            time.sleep(FOLLOW_POLL)
    except KeyboardInterrupt:
        pass


COMMANDS = [logs]
