"""worker and run: execute steps with the agents of the given modules."""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click
from rich.markup import escape

from ledgerflow import App, ExecutionUpdate, Prometheus, Worker, errors, load_agents
from ledgerflow.cli import render
from ledgerflow.cli.base import (
    Env,
    Seconds,
    emit_json,
    handle_errors,
    json_option,
    parse_json_arg,
    pass_env,
)
from ledgerflow.cli.progress import LiveProgress

agents_option = click.option(
    "--agents", "agents", default="", metavar="MODULE[,MODULE…]",
    help="Agents modules to import: dotted names (found in the current folder or on "
         "PYTHONPATH) or paths to .py files (which may import the modules beside them); "
         "their @ledgerflow.agent handlers become this worker's agents.")
concurrency_option = click.option(
    "--concurrency", type=click.IntRange(min=1, max=1024), default=None,
    help="Handlers running at once (default 8, env LEDGERFLOW_CONCURRENCY).")



def _limits(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
            ) -> dict[str, int]:
    """``--limit CAPABILITY=N`` options as {capability: N}."""
    limits: dict[str, int] = {}
    for value in values:
        capability, equals, number = (part.strip() for part in value.partition("="))
        if not equals or not capability or not number.isdigit() or int(number) < 1:
            raise click.BadParameter(
                f"{value!r}: write CAPABILITY=N, N a whole number from 1 (steps of "
                "CAPABILITY running at once), e.g. --limit llm.chat=2", ctx, param)
        if capability in limits:
            raise click.BadParameter(f"{capability!r} is limited twice; give it once",
                                     ctx, param)
        limits[capability] = int(number)
    return limits


limit_option = click.option(
    "--limit", "limits", multiple=True, metavar="CAPABILITY=N", callback=_limits,
    help="At most N steps of CAPABILITY run at once in this worker (within --concurrency); "
         "its other steps wait for a slot of it while other capabilities' steps run. "
         "Repeatable.")


@contextmanager
def graceful(worker: Worker) -> Iterator[None]:
    """SIGTERM/SIGINT: stop dispatching, let running handlers finish and commit within the
    worker's grace period, exit. A second signal exits at once."""

    def stop(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        worker.stop()
        click.echo("stopping: finishing running steps (signal again to exit at once)",
                   err=True)

    old_int = signal.signal(signal.SIGINT, stop)
    old_term = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def _split(agents: str) -> list[str]:
    return [m for m in agents.split(",") if m.strip()]


@click.command()
@agents_option
@concurrency_option
@limit_option
@click.option("--until-idle", is_flag=True,
              help="Exit once no execution can make progress (default: run until stopped).")
@click.option("--quiet", "-q", is_flag=True, help="Do not print a line per finished execution.")
@click.option("--lease", "lease_seconds", type=Seconds(0.5), default=None,
              metavar="SECONDS", help="How long this worker's hold on an execution outlives "
              "its last heartbeat; then another worker takes the execution over "
              "(env LEDGERFLOW_LEASE_SECONDS, default 10).")
@click.option("--wait-for-db", type=Seconds(0), default=30.0, show_default=True,
              metavar="SECONDS", help="How long to keep trying to reach the database at "
              "start-up (a server restarting) before giving up.")
@click.option("--stop-grace", type=Seconds(0), default=30.0, show_default=True,
              metavar="SECONDS", help="Once stopped (SIGTERM, Ctrl-C), how long running "
              "handlers get to finish before the worker exits without them.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, metavar="PORT",
              help="Serve this worker's Prometheus metrics on http://127.0.0.1:PORT/metrics "
                   "(0: any free port, printed).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="warning", show_default=True, help="Engine log messages shown on stderr.")
@click.option("--tenant", default=None, metavar="SLUG",
              help="Work this tenant's executions only (default: the default tenant, the "
                   "one the command line works in). ledgerflow tenants list shows them.")
@click.option("--all-tenants", is_flag=True,
              help="Work every tenant's executions: a pool shared by all tenants (on SQLite "
                   "it runs alone, with no worker of a single tenant beside it).")
@click.option("--json", "as_json", is_flag=True,
              help="When it stops, print its report as JSON (its tenant, steps run, "
                   "commits, executions recovered) instead of a line.")
@pass_env
@handle_errors
def worker(env: Env, agents: str, concurrency: int | None, limits: dict[str, int],
           until_idle: bool, quiet: bool, lease_seconds: float | None, wait_for_db: float,
           stop_grace: float, metrics_port: int | None, log_level: str, tenant: str | None,
           all_tenants: bool, as_json: bool) -> None:
    """Run step handlers: claim unfinished executions nobody holds, drive them, take new ones.

    Which executions: those of one tenant, --tenant SLUG (default: the default tenant),
    or every tenant's with --all-tenants. Its agents serve whichever tenant it works.

    On PostgreSQL, start as many workers as you like, on any machines, for one tenant or
    for all: each holds the executions it claims under a lease renewed by its heartbeats,
    and wakes at once when work appears (LISTEN/NOTIFY). A worker that dies loses its
    leases when they lapse (--lease) and the others take its executions over. On SQLite
    one worker drives each tenant (workers of different tenants run side by side), or a
    single --all-tenants worker drives the whole database. See who runs what with:
    ledgerflow workers

    Stop with Ctrl-C or SIGTERM: it stops claiming, running steps finish and are
    committed (for up to --stop-grace seconds; steps still running then are recovered
    by the next worker), its leases are handed back, and it exits. A second signal
    exits at once.
    """
    if tenant is not None and all_tenants:
        raise click.UsageError("--tenant and --all-tenants exclude each other: give "
                               "--tenant SLUG for one tenant, or --all-tenants for every one")
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    load_agents(_split(agents))
    app = _scoped(_connect(env, wait_for_db), tenant)
    console = render.console(stderr=True)

    def announce(update: ExecutionUpdate) -> None:
        if update.terminal and not quiet:
            said = f" {update.id} {update.workflow} v{update.workflow_version}" \
                + (f": {update.error}" if update.error else "")
            console.print(f"{render.styled(update.status)}{escape(said)}")

    metrics = None if metrics_port is None else serve_metrics(metrics_port)
    try:
        w = app.worker(concurrency=concurrency, until_idle=until_idle, listener=announce,
                       lease_seconds=lease_seconds, stop_grace=stop_grace, limits=limits,
                       metrics=metrics, all_tenants=all_tenants)
    except errors.ConfigurationError as exc:  # a limit of a capability it does not offer
        raise click.BadParameter(str(exc), param_hint="'--limit'") from None
    with graceful(w):
        report = w.run()
    if as_json:
        emit_json({"tenant": w.tenant, "all_tenants": w.tenant is None,
                   "steps_run": report.steps_run, "commits": report.commits,
                   "changes": report.changes, "recovered": report.recovered})
    elif not quiet:
        scope = "every tenant" if w.tenant is None else f"tenant {w.tenant}"
        console.print(escape(f"worker for {scope} stopped: {report.steps_run} step(s) run, "
                             f"{report.commits} commit(s), {report.recovered} execution(s) "
                             "recovered"))


def _scoped(app: App, tenant: str | None) -> App:
    """The app as ``tenant`` sees it (None: the default tenant), once it is known to exist."""
    if tenant is None or tenant == app.tenant:
        return app
    app.access.tenant(tenant)  # NotFound: names the tenant and the ones there are
    return app.for_tenant(tenant)


def serve_metrics(port: int) -> Prometheus:
    """Counters for a worker, served on 127.0.0.1:``port`` by a daemon thread."""
    from prometheus_client import start_http_server

    metrics = Prometheus()
    try:
        httpd, _ = start_http_server(port, addr="127.0.0.1", registry=metrics.registry)
    except OSError as exc:
        raise click.BadParameter(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}",
                                 param_hint="'--metrics-port'") from None
    click.echo(f"metrics on http://127.0.0.1:{httpd.server_address[1]}/metrics", err=True)
    return metrics


def _connect(env: Env, wait_for_db: float) -> App:
    """The app, once the database answers (at most ``wait_for_db`` seconds of retrying)."""
    deadline = time.monotonic() + wait_for_db
    while True:
        try:
            return env.app()
        except errors.ConnectionLost as exc:
            if time.monotonic() >= deadline:
                raise
            click.echo(f"waiting for the database: {exc}", err=True)
            time.sleep(1.0)


@click.command()
@click.argument("workflow")
@click.option("--input", "input_", default=None, metavar="JSON|@FILE",
              help="Execution input as JSON, or @path to a JSON file.")
@click.option("--id", "execution_id", default=None, help="Client-chosen execution id.")
@agents_option
@concurrency_option
@json_option
@pass_env
@handle_errors
def run(env: Env, workflow: str, input_: str | None, execution_id: str | None, agents: str,
        concurrency: int | None, as_json: bool) -> None:
    """Start WORKFLOW and work until done, showing live progress; prints the final status.
    Steps whose capability no given agent offers wait for a worker that does."""
    load_agents(_split(agents))
    app = env.app()
    if not _split(agents):
        asked = app.capabilities(workflow)
        raise errors.AgentError(
            f"run needs agents: workflow {workflow!r} asks for "
            f"{', '.join(asked) or 'no capability'}; pass --agents MODULE[,MODULE…] with "
            "modules that register them")
    value = parse_json_arg(input_, "--input") if input_ is not None else {}
    new_id = app.start(workflow, value, execution_id=execution_id)
    with LiveProgress(transient=as_json) as progress:
        w = app.worker(concurrency=concurrency, until_idle=True, listener=progress)
        with graceful(w):
            w.run()
    report = app.status(new_id)
    if as_json:
        emit_json(report.to_dict())
    else:
        render.status(render.console(), report)
    if report.status == "failed":
        raise SystemExit(1)


COMMANDS = [worker, run]
