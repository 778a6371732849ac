"""``ledgerflow``: the command group and its global options."""

from __future__ import annotations

import sys

import click

from ledgerflow import __version__, errors
from ledgerflow.cli.lazy import LazyGroup, Placeholder
from ledgerflow.settings import DEFAULT_DB_URL

# every command: where it lives and the first sentence of its help, which is what
# ``ledgerflow --help`` lists; a command's module is imported only when it runs
LAZY_COMMANDS = [
    Placeholder("agents", "ledgerflow.cli.agents",
                "Agents offered by live workers, with their circuit breakers and statistics."),
    Placeholder("apply", "ledgerflow.cli.defs",
                "Store workflow definitions from YAML or JSON FILES."),
    Placeholder("cancel", "ledgerflow.cli.control",
                "Cancel an execution: pending steps are cancelled, running handlers see "
                "`ctx.cancelled`, and it ends `cancelled`."),
    Placeholder("cleanup", "ledgerflow.cli.cleanup",
                "Remove finished executions that ended before now minus --older-than."),
    Placeholder("db", "ledgerflow.cli.db", "Whole-database operations."),
    Placeholder("demo", "ledgerflow.cli.demo",
                "Run the client-onboarding demo: several cases, live progress, verified "
                "ledgers."),
    Placeholder("fork", "ledgerflow.cli.control",
                "Start a new execution from the state of EXECUTION_ID as of ledger entry SEQ."),
    Placeholder("history", "ledgerflow.cli.executions",
                "The execution's ledger: every state change, hash-chained."),
    Placeholder("init", "ledgerflow.cli.defs",
                "Create the database (if new) and apply every migration."),
    Placeholder("list", "ledgerflow.cli.executions:list_",
                "List executions, newest first (`--status waiting --metrics`: open sessions)."),
    Placeholder("logs", "ledgerflow.cli.logs",
                "An execution's telemetry: step logs (ctx.log), engine events, errors and "
                "routing decisions, oldest first."),
    Placeholder("migrate", "ledgerflow.cli.defs",
                "Apply pending migrations to an existing database."),
    Placeholder("pause", "ledgerflow.cli.control",
                "Pause an execution: from now on no new step is dispatched."),
    Placeholder("rerun", "ledgerflow.cli.control",
                "Run a finished (completed or failed) execution again from STEP."),
    Placeholder("resume", "ledgerflow.cli.control",
                "Resume a paused execution where it stopped (a worker picks it up)."),
    Placeholder("retry", "ledgerflow.cli.control",
                "Run the failed steps of a failed execution again; completed outputs are "
                "kept."),
    Placeholder("routing", "ledgerflow.cli.agents",
                "The routing decisions of an execution: for every attempt, the chosen agent, "
                "every candidate's score (or why it was excluded), the reason, and how the "
                "attempt ended."),
    Placeholder("run", "ledgerflow.cli.run",
                "Start WORKFLOW and work until done, showing live progress; prints the final "
                "status."),
    Placeholder("serve", "ledgerflow.cli.serve",
                "Serve the REST API under /api/v1 (OpenAPI at /api/v1/openapi.json, docs at "
                "/api/v1/docs), the dashboard under /ui/, /healthz and /readyz."),
    Placeholder("signal", "ledgerflow.cli.control", "Send signal NAME to an execution."),
    Placeholder("start", "ledgerflow.cli.executions",
                "Start an execution of WORKFLOW; a worker runs it."),
    Placeholder("state", "ledgerflow.cli.state",
                "The execution's state document: `state ID` shows it (`--version N`, "
                "`--diff A B`); `state set` and `state patch` edit it while the execution "
                "is paused."),
    Placeholder("status", "ledgerflow.cli.executions",
                "Status, progress, timing and steps of an execution."),
    Placeholder("tenants", "ledgerflow.cli.access",
                "Tenants: each owns its definitions, executions and tokens; the API shows a "
                "token only its own tenant's."),
    Placeholder("tokens", "ledgerflow.cli.access",
                "API tokens: made with a role, shown once, stored as a hash, revoked at once."),
    Placeholder("verify", "ledgerflow.cli.verify",
                "Recompute the hash chain of an execution's ledger (or --all)."),
    Placeholder("worker", "ledgerflow.cli.run",
                "Run step handlers: claim unfinished executions nobody holds, drive them, "
                "take new ones."),
    Placeholder("workers", "ledgerflow.cli.workers",
                "Workers sharing this database: alive or not, what each holds and runs, "
                "since when."),
    Placeholder("workflows", "ledgerflow.cli.defs",
                "List stored workflows (latest version of each)."),
]


def _not_utf8(arg: str) -> str | None:
    """``arg`` shown with its undecodable bytes as ``\\xNN``, if it has any."""
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return None


class Ledgerflow(LazyGroup):
    """The root group: every argument must be UTF-8 text (an id, a name or a file name in
    another encoding is refused here, before it reaches a command)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for arg in args:
            shown = _not_utf8(arg)
            if shown is not None:
                raise click.UsageError(
                    f"argument '{shown}' is not valid UTF-8; ledgerflow takes ids, names, "
                    "URLs and file names as UTF-8 text (rename the file, or re-type the "
                    "argument)", ctx)
        return super().parse_args(ctx, args)


@click.group(cls=Ledgerflow, commands=LAZY_COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    # here, not at the top: --version and --help exit before this and need none of it
    from ledgerflow.cli.base import Env

    if not db_url.strip():
        raise click.BadParameter("the database URL is empty; give one such as "
                                 f"{DEFAULT_DB_URL}", param_hint="--db")
    env = Env(db_url)
    ctx.obj = env
    ctx.call_on_close(env.close)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except errors.LedgerflowError as exc:  # raised while closing, outside a command
        from ledgerflow.cli.base import fail

        fail(exc)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
