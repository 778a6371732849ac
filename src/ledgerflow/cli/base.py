"""Shared CLI plumbing: the App from the global options, JSON output, errors as one line."""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

import ledgerflow
from ledgerflow import errors
from ledgerflow.cli import hints
from ledgerflow.definition.durations import DurationError, parse_duration
from ledgerflow.definition.limits import MAX_DOCUMENT_BYTES, check_json_text
from ledgerflow.settings import LARGEST_INTEGER, LONGEST_SECONDS

P = ParamSpec("P")
R = TypeVar("R")


class Env:
    """What the global options chose; opens the App (and so loads the engine) only when a
    command asks for it."""

    def __init__(self, db_url: str | None) -> None:
        self.db_url = db_url
        self._app: ledgerflow.App | None = None

    def app(self, *, migrate: bool = False) -> ledgerflow.App:
        if self._app is None:
            self._app = ledgerflow.App(self.db_url, actor="cli", migrate=migrate)
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


pass_env = click.make_pass_decorator(Env)

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON instead of a table.")


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False, default=str))


def parse_json_arg(raw: str, what: str) -> Any:
    """A JSON value given inline or as ``@path/to/file.json``."""
    text = raw
    source = what
    if raw.startswith("@"):
        path = Path(raw[1:])
        try:
            with path.open(encoding="utf-8") as file:  # no more than the limit, plus one
                text = file.read(MAX_DOCUMENT_BYTES + 1)
        except OSError as exc:
            raise click.BadParameter(f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise click.BadParameter(f"{path} is not UTF-8 text (byte {exc.start}); save "
                                     "the file as UTF-8") from None
        source = f"{what} file {path}"
    check_json_text(text, source)  # too long or too deep: one line, no traceback
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def full_id(app: ledgerflow.App, execution_id: str) -> str:
    """The whole id of the execution ``execution_id`` names: its id, or an unambiguous
    prefix of 8 or more characters (what the command then prints)."""
    return app.execution(execution_id).id


def fail(exc: errors.LedgerflowError) -> NoReturn:
    """Print ``exc`` as one line on stderr, with the command that helps, and exit 1."""
    if os.environ.get("LEDGERFLOW_TRACEBACK"):  # for bug reports: where it came from
        traceback.print_exception(exc)
    click.echo(f"error: {hints.render(exc)}", err=True)
    sys.exit(1)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn ledgerflow errors into one line on stderr and exit status 1."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except errors.LedgerflowError as exc:
            fail(exc)

    return wrapper


def parse_duration_option(raw: str, what: str) -> float:
    """Seconds of a duration option such as ``30d`` or ``10m``; a bad one names the option."""
    try:
        seconds = parse_duration(raw)
    except DurationError as exc:
        raise errors.ConfigurationError(f"{what}: {exc}") from None
    if seconds > LONGEST_SECONDS:
        raise errors.ConfigurationError(
            f"{what}: {raw} is longer than a century ({LONGEST_SECONDS:g} s); give a shorter "
            "duration")
    return seconds


class Seconds(click.FloatRange):
    """A finite number of seconds from ``minimum`` up to a century (no nan, no inf)."""

    name = "seconds"

    def __init__(self, minimum: float) -> None:
        super().__init__(min=minimum, max=LONGEST_SECONDS)

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return seconds


# a version, a ledger sequence number: what the database can hold
POSITION = click.IntRange(min=1, max=LARGEST_INTEGER)
