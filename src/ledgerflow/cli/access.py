"""tenants and tokens: who may use the server's API, made and revoked from the command line
(which needs no token: it has the database)."""

from __future__ import annotations

from typing import Any

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledgerflow.cli.base import Env, emit_json, handle_errors, json_option, pass_env

ROLES = ("viewer", "operator", "admin", "metrics", "system")


def _token(row: Any) -> dict[str, Any]:
    """A token as scripts see it: never its secret (kept nowhere) nor its hash."""
    return {"id": row.id, "tenant": row.tenant_id, "name": row.name, "role": row.role,
            "created_at": row.created_at, "created_by": row.created_by,
            "expires_at": row.expires_at, "last_used_at": row.last_used_at,
            "revoked_at": row.revoked_at}


def _day(at: str | None) -> str | None:
    """A stored time's day, as a table shows it (--json has the whole time)."""
    return None if at is None else at[:10]


def _shown_once(secret: str) -> None:
    click.echo(secret)
    click.echo("This token is shown once: store it now (ledgerflow keeps only its hash).",
               err=True)


@click.group()
def tenants() -> None:
    """Tenants: each owns its definitions, executions and tokens; the API shows a token
    only its own tenant's. `default` is the embedded tenant the command line works in."""


@tenants.command("create")
@click.argument("tenant")
@json_option
@pass_env
@handle_errors
def tenants_create(env: Env, tenant: str, as_json: bool) -> None:
    """Create TENANT (1-63 lowercase letters, digits, '-') and its first admin token.

    The token is printed once: keep it, it is how the tenant's first admin signs in to the
    API (`Authorization: Bearer TOKEN`) and makes the tenant's other tokens.
    """
    issued = env.app(migrate=True).access.create_tenant(tenant)
    if as_json:
        emit_json({"tenant": tenant, "token": issued.secret, "token_id": issued.row.id})
        return
    click.echo(f"created tenant {tenant}; its first admin token ({issued.row.id}):", err=True)
    _shown_once(issued.secret)


@tenants.command("list")
@json_option
@pass_env
@handle_errors
def tenants_list(env: Env, as_json: bool) -> None:
    """Every tenant, with when it was created."""
    rows = env.app().access.tenants()
    if as_json:
        emit_json([{"tenant": t.id, "created_at": t.created_at} for t in rows])
        return
    table = Table("tenant", "created", box=box.SIMPLE_HEAD)
    for t in rows:
        table.add_row(Text(t.id), t.created_at)
    Console().print(table)


@click.group()
def tokens() -> None:
    """API tokens: made with a role, shown once, stored as a hash, revoked at once.

    \b
    viewer    reads executions, definitions, agents, workers, ledgers
    operator  + starts, pauses, resumes, cancels, retries, signals, edits state
    admin     + applies definitions, makes and revokes tokens, resets breakers
    metrics   only /metrics
    system    manages tenants; reads no tenant's data (no --tenant)
    """


@tokens.command("create")
@click.option("--tenant", default=None, metavar="TENANT",
              help="The tenant the token acts for (not with --role system).")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What it may do.")
@click.option("--name", default="", help="A label to recognise it by (default: the role).")
@click.option("--expires-in", "expires_in", type=click.FloatRange(min=0, min_open=True),
              default=90, show_default=True, metavar="DAYS", help="Days until it expires.")
@click.option("--no-expiry", is_flag=True, help="Never expires (revoke it by hand).")
@json_option
@pass_env
@handle_errors
def tokens_create(env: Env, tenant: str | None, role: str, name: str, expires_in: float,
                  no_expiry: bool, as_json: bool) -> None:
    """Make a token and print its secret once."""
    if tenant is None and role != "system":
        raise click.UsageError("--tenant is needed for every role but system "
                               "(`ledgerflow tenants list` shows the tenants)")
    issued = env.app(migrate=True).access.create_token(
        tenant, role, name=name, expires_in_days=None if no_expiry else expires_in)
    if as_json:
        emit_json({"id": issued.row.id, "token": issued.secret, "tenant": tenant,
                   "role": role, "expires_at": issued.row.expires_at})
        return
    until = issued.row.expires_at or "never"
    click.echo(f"token {issued.row.id}: {role} of {tenant or 'the system'}, expires "
               f"{until}:", err=True)
    _shown_once(issued.secret)


@tokens.command("list")
@click.option("--tenant", default="default", show_default=True, metavar="TENANT",
              help="Whose tokens.")
@click.option("--system", is_flag=True, help="The system tokens instead (no tenant).")
@json_option
@pass_env
@handle_errors
def tokens_list(env: Env, tenant: str, system: bool, as_json: bool) -> None:
    """A tenant's tokens, oldest first (never their secrets; --json adds every time)."""
    access = env.app().access
    if not system:
        access.tenant(tenant)  # an unknown tenant is an error, not an empty list
    rows = access.tokens(None if system else tenant)
    if as_json:
        emit_json([_token(r) for r in rows])
        return
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("id", no_wrap=True)
    table.add_column("name", min_width=10)
    for heading in ("role", "expires", "last used", "state"):
        table.add_column(heading, no_wrap=True)
    for r in rows:
        table.add_row(Text(r.id), Text(r.name), r.role, _day(r.expires_at) or "never",
                      _day(r.last_used_at) or "-",
                      "revoked" if r.revoked_at else "active")
    Console().print(table)


@tokens.command("revoke")
@click.argument("token_id", metavar="ID")
@json_option
@pass_env
@handle_errors
def tokens_revoke(env: Env, token_id: str, as_json: bool) -> None:
    """Revoke token ID at once: its next request is refused and its live streams close.
    Revoking twice is harmless."""
    row = env.app().access.revoke(token_id)
    if as_json:
        emit_json(_token(row))
        return
    click.echo(f"token {row.id} ({row.role} of {row.tenant_id or 'the system'}) revoked at "
               f"{row.revoked_at}")

COMMANDS = [tenants, tokens]
