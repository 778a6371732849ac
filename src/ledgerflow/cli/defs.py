"""init, migrate, apply, workflows."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from ledgerflow.cli import render
from ledgerflow.cli.base import Env, emit_json, handle_errors, json_option, pass_env


@click.command()
@pass_env
@handle_errors
def init(env: Env) -> None:
    """Create the database (if new) and apply every migration."""
    app = env.app(migrate=True)
    click.echo(f"database ready: {app.db_url}")


@click.command()
@pass_env
@handle_errors
def migrate(env: Env) -> None:
    """Apply pending migrations to an existing database."""
    app = env.app(migrate=True)
    click.echo(f"database up to date: {app.db_url}")


@click.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_env
@handle_errors
def apply(env: Env, files: tuple[Path, ...], as_json: bool) -> None:
    """Store workflow definitions from YAML or JSON FILES.

    The same content returns the existing version; changed content becomes version N+1.
    Every problem in a file is reported at once, with its path.
    """
    app = env.app()
    results = [app.apply(f) for f in files]
    if as_json:
        emit_json([r.to_dict() for r in results])
        return
    for r in results:
        verb = "applied" if r.created else "unchanged"
        click.echo(f"{verb}: {r.name} v{r.version} (sha256 {r.sha256[:12]}…)")


@click.command()
@json_option
@pass_env
@handle_errors
def workflows(env: Env, as_json: bool) -> None:
    """List stored workflows (latest version of each)."""
    rows = env.app().workflows()
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    if not rows:
        click.echo("no workflows yet: ledgerflow apply FILE")
        return
    table = Table("name", "version", "sha256", "created")
    for r in rows:
        table.add_row(Text(r.name), str(r.version), r.sha256[:12] + "…", r.created_at)
    render.print_table(render.console(), table, "name")


COMMANDS = [init, migrate, apply, workflows]
