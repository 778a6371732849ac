"""state: show the state document (any version, or a diff), and edit it while paused."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from ledgerflow.cli.base import (
    POSITION,
    Env,
    emit_json,
    full_id,
    handle_errors,
    json_option,
    parse_json_arg,
    pass_env,
)


class _ShowByDefault(click.Group):
    """``state ID ...`` means ``state show ID ...``; ``state set|patch ...`` edit."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_ShowByDefault)
def state() -> None:
    """The execution's state document: `state ID` shows it (`--version N`, `--diff A B`);
    `state set` and `state patch` edit it while the execution is paused.

    \b
    Examples:
      ledgerflow state ID
      ledgerflow state ID --version 3
      ledgerflow state ID --diff 2 5
      ledgerflow state set ID case.risk '"high"'
      ledgerflow state patch ID '{"case": {"risk": null}}'
      ledgerflow state patch ID patch.json
      ledgerflow state patch ID --json-patch '[{"op": "remove", "path": "/case"}]'
    """


@state.command(name="show")
@click.argument("execution_id")
@click.option("--version", type=POSITION, default=None,
              help="A state version (default: the current one).")
@click.option("--diff", nargs=2, type=POSITION, default=None, metavar="A B",
              help="Show what changed from version A to version B instead.")
@json_option
@pass_env
@handle_errors
def show(env: Env, execution_id: str, version: int | None, diff: tuple[int, int] | None,
          as_json: bool) -> None:
    """The execution's state document, now or as of any earlier version.

    Every change of the state document makes a version; `history` shows which ledger
    entry made which one.
    """
    execution_id = full_id(env.app(), execution_id)
    if diff is not None:
        if version is not None:
            raise click.UsageError("give --version or --diff, not both")
        _state_diff(env, execution_id, *diff, as_json=as_json)
        return
    found = env.app().state(execution_id, version)
    if as_json:
        emit_json(found.to_dict())
        return
    console = Console(emoji=False)
    console.print(f"[bold]state version {found.version}[/] (made by ledger entry "
                  f"{found.seq}, sha256 {found.sha256[:12]}…, {found.created_at})")
    console.print_json(json.dumps(found.state))


def _state_diff(env: Env, execution_id: str, old: int, new: int, *, as_json: bool) -> None:
    app = env.app()
    patch = app.state_diff(execution_id, old, new)
    if as_json:
        emit_json({"execution_id": execution_id, "from": old, "to": new, "patch": patch})
        return
    before = json.dumps(app.state(execution_id, old).state, indent=2)
    after = json.dumps(app.state(execution_id, new).state, indent=2)
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(),
                                 f"state v{old}", f"state v{new}", lineterm="")
    console = Console(highlight=False, soft_wrap=True, emoji=False)
    shown = False
    for line in lines:
        shown = True
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        console.print(Text(line, style=style))
    if not shown:
        console.print(f"no change between state v{old} and v{new}")


def _edited(as_json: bool, execution_id: str, version: int) -> None:
    if as_json:
        emit_json({"id": execution_id, "state_version": version})
    else:
        click.echo(f"state of {execution_id} is now version {version}")


@state.command(name="set")
@click.argument("execution_id")
@click.argument("path")
@click.argument("value", metavar="JSON")
@click.option("--reason", default=None, metavar="TEXT", help="Why: recorded in the ledger.")
@json_option
@pass_env
@handle_errors
def set_(env: Env, execution_id: str, path: str, value: str, reason: str | None,
         as_json: bool) -> None:
    """Set PATH (dotted, such as case.risk) to a JSON value in a paused execution's state.

    The ledger records the change with the state hashes before and after; it makes a new
    state version. Quote JSON strings: '"high"'.
    """
    parsed = parse_json_arg(value, "JSON")
    execution_id = full_id(env.app(), execution_id)
    _edited(as_json, execution_id, env.app().set_state(execution_id, path, parsed, reason))


@state.command()
@click.argument("execution_id")
@click.argument("patch", metavar="PATCH")
@click.option("--json-patch", "json_patch", is_flag=True,
              help="PATCH is an RFC 6902 JSON Patch: an array of operations such as "
                   '[{"op": "remove", "path": "/case/risk"}], applied all or none.')
@click.option("--reason", default=None, metavar="TEXT", help="Why: recorded in the ledger.")
@json_option
@pass_env
@handle_errors
def patch(env: Env, execution_id: str, patch: str, json_patch: bool, reason: str | None,
          as_json: bool) -> None:
    """Edit a paused execution's state with a JSON merge patch (RFC 7386): a JSON object
    whose keys replace the document's, null removing a key ('{"case": {"risk": null}}').
    With --json-patch, PATCH is an RFC 6902 JSON Patch (an array of operations) instead.
    Anything else (an array without --json-patch, null, a number) is refused.

    
    PATCH is inline JSON when it parses as JSON; @FILE reads FILE; anything else is
    the path of a JSON file (patch.json). The ledger records the patch and its kind.
    """
    parsed, source = _patch_value(patch)
    if not isinstance(parsed, list if json_patch else dict):
        expected = "a JSON Patch (--json-patch) is an array of operations" if json_patch \
            else "a merge patch is a JSON object (an RFC 6902 array of operations needs " \
            "--json-patch)"
        shown = json.dumps(parsed)
        shown = shown if len(shown) <= 40 else shown[:39] + "…"
        raise click.BadParameter(f"{source} is {shown}; {expected}", param_hint="PATCH")
    execution_id = full_id(env.app(), execution_id)
    version = env.app().patch_state(execution_id, parsed, reason, json_patch=json_patch)
    _edited(as_json, execution_id, version)


def _patch_value(raw: str) -> tuple[Any, str]:
    """PATCH as JSON, and where it came from: ``@FILE`` is a file; text that parses as JSON
    is inline; anything else names a file."""
    if raw.startswith("@"):
        return parse_json_arg(raw, "PATCH"), f"file {raw[1:]}"
    try:
        return json.loads(raw), "PATCH"
    except json.JSONDecodeError as exc:
        if Path(raw).is_file():
            return parse_json_arg(f"@{raw}", "PATCH"), f"file {raw}"
        raise click.BadParameter(
            f"{raw!r} is neither JSON ({exc.msg} at column {exc.colno}) nor an existing file",
            param_hint="PATCH") from None


COMMANDS = [state]
