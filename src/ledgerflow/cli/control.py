"""Operator commands: pause, resume, cancel, retry, rerun, fork, signal.

Each is one ledger entry with the actor (user@host) and the reason. A command on an
execution in the wrong state says which state it is in and what is allowed there.
"""

from __future__ import annotations

from typing import Any

import click

from ledgerflow.cli import base
from ledgerflow.cli.base import (
    POSITION,
    Env,
    emit_json,
    handle_errors,
    json_option,
    parse_json_arg,
    pass_env,
)

reason_option = click.option("--reason", default=None, metavar="TEXT",
                             help="Why: recorded in the ledger entry with who did it.")


def _done(as_json: bool, execution_id: str, action: str, message: str, **extra: Any) -> None:
    if as_json:
        status = extra.pop("status", None)
        emit_json({"id": execution_id, "action": action, "status": status, **extra})
    else:
        click.echo(message)


@click.command()
@click.argument("execution_id")
@reason_option
@json_option
@pass_env
@handle_errors
def pause(env: Env, execution_id: str, reason: str | None, as_json: bool) -> None:
    """Pause an execution: from now on no new step is dispatched.

    Steps already running finish and record their results. `status` then shows the
    pending steps and the state document; `state set`/`state patch` may edit it.
    """
    app = env.app()
    execution_id = base.full_id(app, execution_id)
    app.pause(execution_id, reason)
    _done(as_json, execution_id, "pause", f"paused {execution_id}",
          status=app.execution(execution_id).status)


@click.command()
@click.argument("execution_id")
@click.option("--from", "from_step", default=None, metavar="STEP",
              help="Reset STEP and every step downstream of it, and continue from there.")
@reason_option
@json_option
@pass_env
@handle_errors
def resume(env: Env, execution_id: str, from_step: str | None, reason: str | None,
           as_json: bool) -> None:
    """Resume a paused execution where it stopped (a worker picks it up)."""
    app = env.app()
    execution_id = base.full_id(app, execution_id)
    app.resume(execution_id, reason, from_step)
    where = f" from step {from_step}" if from_step else ""
    _done(as_json, execution_id, "resume", f"resumed {execution_id}{where}",
          status=app.execution(execution_id).status, from_step=from_step)


@click.command()
@click.argument("execution_id")
@reason_option
@json_option
@pass_env
@handle_errors
def cancel(env: Env, execution_id: str, reason: str | None, as_json: bool) -> None:
    """Cancel an execution: pending steps are cancelled, running handlers see
    `ctx.cancelled`, and it ends `cancelled`. Cancelling twice is harmless."""
    app = env.app()
    execution_id = base.full_id(app, execution_id)
    changed = app.cancel(execution_id, reason)
    message = f"cancelled {execution_id}" if changed else f"{execution_id} was already cancelled"
    _done(as_json, execution_id, "cancel", message, status="cancelled", changed=changed)


@click.command()
@click.argument("execution_id")
@reason_option
@json_option
@pass_env
@handle_errors
def retry(env: Env, execution_id: str, reason: str | None, as_json: bool) -> None:
    """Run the failed steps of a failed execution again; completed outputs are kept."""
    app = env.app()
    execution_id = base.full_id(app, execution_id)
    steps = app.retry(execution_id, reason)
    _done(as_json, execution_id, "retry",
          f"retrying {execution_id}: {', '.join(steps) or 'no failed step'}",
          status="running", steps=steps)


@click.command()
@click.argument("execution_id")
@click.option("--from", "from_step", required=True, metavar="STEP",
              help="The step to run again; every step downstream of it runs again too.")
@reason_option
@json_option
@pass_env
@handle_errors
def rerun(env: Env, execution_id: str, from_step: str, reason: str | None,
          as_json: bool) -> None:
    """Run a finished (completed or failed) execution again from STEP."""
    app = env.app()
    execution_id = base.full_id(app, execution_id)
    steps = app.rerun(execution_id, from_step, reason)
    _done(as_json, execution_id, "rerun", f"rerunning {execution_id}: {', '.join(steps)}",
          status="running", steps=steps)


@click.command()
@click.argument("execution_id")
@click.option("--at", "at_seq", type=POSITION, default=None, metavar="SEQ",
              help="The ledger entry to fork at (see `history`); default: the latest.")
@click.option("--input-patch", default=None, metavar="JSON|@FILE",
              help="A JSON merge patch (RFC 7386) applied to the original input.")
@json_option
@pass_env
@handle_errors
def fork(env: Env, execution_id: str, at_seq: int | None, input_patch: str | None,
         as_json: bool) -> None:
    """Start a new execution from the state of EXECUTION_ID as of ledger entry SEQ.

    Steps completed or skipped by then keep their outputs; the rest run again. The fork
    records where it came from (`forked_from`) and the original lists it (`forks`); both
    ledgers record the fork.
    """
    patch = parse_json_arg(input_patch, "--input-patch") if input_patch is not None else None
    app = env.app()
    execution_id = base.full_id(app, execution_id)
    new_id = app.fork(execution_id, at_seq, patch)
    if as_json:
        emit_json({"id": new_id, "forked_from": execution_id, "at_seq": at_seq})
    else:
        click.echo(new_id)


@click.command()
@click.argument("execution_id")
@click.argument("name")
@click.option("--data", default=None, metavar="JSON|@FILE", help="The signal's data.")
@json_option
@pass_env
@handle_errors
def signal(env: Env, execution_id: str, name: str, data: str | None, as_json: bool) -> None:
    """Send signal NAME to an execution. It is stored durably: a `wait` step for NAME
    completes with its data (now, or when it begins), and the definition's `on: NAME`
    handlers run for it."""
    value = parse_json_arg(data, "--data") if data is not None else {}
    app = env.app()
    execution_id = base.full_id(app, execution_id)
    app.signal(execution_id, name, value)
    _done(as_json, execution_id, "signal", f"signal {name!r} stored for {execution_id}",
          status=app.execution(execution_id).status, signal=name)


COMMANDS = [pause, resume, cancel, retry, rerun, fork, signal]
