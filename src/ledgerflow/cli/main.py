"""``ledgerflow``: the command group and its global options."""

from __future__ import annotations

import sys

import click

from ledgerflow import __version__, errors
from ledgerflow.cli import (
    agents,
    cleanup,
    control,
    db,
    defs,
    demo,
    executions,
    logs,
    run,
    state,
    verify,
    workers,
)
from ledgerflow.cli.base import Env, fail
from ledgerflow.settings import DEFAULT_DB_URL


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", "db_url", envvar="LEDGERFLOW_DB", default=DEFAULT_DB_URL,
              show_default=True, metavar="URL",
              help="Database URL (env LEDGERFLOW_DB): sqlite:///file.db, sqlite:////abs.db "
                   "(the file is created on first use, in a folder that must exist), or "
                   "postgresql://user@host:5432/db (any number of workers).")
@click.version_option(__version__, prog_name="ledgerflow")
@click.pass_context
def cli(ctx: click.Context, db_url: str) -> None:
    """Durable workflows with a verifiable ledger.

    \b
    Quick start:
      ledgerflow demo                          run the onboarding demo
      ledgerflow apply workflow.yaml           store a definition (a new version if changed)
      ledgerflow start NAME --input '{...}'    start an execution
      ledgerflow worker --agents my.agents     run handlers until stopped
      ledgerflow status ID                     progress of one execution
      ledgerflow verify --all                  check every ledger's hash chain

    Wherever a command takes an execution ID, an unambiguous prefix of 8 or more
    characters will do.
    """
    env = Env(db_url)
    ctx.obj = env
    ctx.call_on_close(env.close)


for module in (defs, executions, state, control, run, verify, agents, workers, logs, demo,
               cleanup, db):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except errors.LedgerflowError as exc:  # raised while closing, outside a command
        fail(exc)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
