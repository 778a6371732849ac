"""The CLI's command hints, in one place.

An error says what failed and what to do in words that fit any caller; only the CLI knows
which command does it. ``hint`` maps an error's class and attributes to that command, and
``render`` joins both into the one line the CLI prints after ``error:``.
"""

from __future__ import annotations

from collections.abc import Callable

from ledgerflow import errors

# the command of each operator action (``errors.InvalidTransition.allowed_actions``)
ACTION_COMMANDS = {
    "pause": "pause {id}",
    "resume": "resume {id}",
    "cancel": "cancel {id}",
    "signal": "signal {id} NAME",
    "edit_state": "state set {id} PATH JSON",
    "retry": "retry {id}",
    "rerun": "rerun {id} --from STEP",
    "fork": "fork {id}",
}


def _transition(exc: errors.InvalidTransition) -> str | None:
    if exc.action is None or exc.execution_id is None:
        return None  # an internal move, not an operator's request: nothing to suggest
    if exc.action == "edit_state" and "pause" in exc.allowed_actions:
        return f"run: ledgerflow pause {exc.execution_id}"
    commands = [ACTION_COMMANDS[a] for a in exc.allowed_actions if a in ACTION_COMMANDS]
    if not commands:
        return None
    return "commands: " + ", ".join(f"ledgerflow {c.format(id='ID')}" for c in commands)


def _not_found(exc: errors.NotFound) -> str | None:
    if exc.kind == "execution":
        return "list them with: ledgerflow list"
    if exc.kind == "workflow":
        return "run: ledgerflow apply FILE"
    if exc.kind in ("ledger entry", "state version") and exc.execution_id:
        return f"see: ledgerflow history {exc.execution_id}"
    if exc.kind == "tenant":
        return f"list them with: ledgerflow tenants list, or create it: ledgerflow tenants " \
            f"create {exc.id}"
    if exc.kind == "token":
        return "list them with: ledgerflow tokens list --tenant TENANT"
    return None


def _concurrent(exc: errors.ConcurrentChange) -> str | None:
    return f"check it with: ledgerflow status {exc.execution_id}" if exc.execution_id else None


def _migrate(exc: errors.MigrationRequired) -> str | None:
    return f"run: ledgerflow --db {exc.url} migrate" if exc.url else None


def _corrupted(exc: errors.CorruptedRow) -> str:
    return "run: ledgerflow verify --all"


def _lock(exc: errors.WorkerLockHeld) -> str:
    if exc.holder is None:  # workers of single tenants, refusing one of every tenant
        return "see them with: ledgerflow workers"
    return "hint: ledgerflow worker --concurrency N"


def _says_it_all(exc: errors.ExecutionNotFound) -> None:
    # the message already says it all: what the tombstone proves, or the candidates
    return None


# most specific class first: the first rule whose class matches decides
_RULES: tuple[tuple[type[errors.LedgerflowError], Callable[..., str | None]], ...] = (
    (errors.ExecutionRemoved, _says_it_all),
    (errors.AmbiguousExecutionId, _says_it_all),
    (errors.NotFound, _not_found),
    (errors.InvalidTransition, _transition),
    (errors.ConcurrentChange, _concurrent),
    (errors.MigrationRequired, _migrate),
    (errors.CorruptedRow, _corrupted),
    (errors.WorkerLockHeld, _lock),
)


def hint(exc: errors.LedgerflowError) -> str | None:
    """The command that helps with ``exc`` (``run: ledgerflow pause ID``), if any."""
    for kind, rule in _RULES:
        if isinstance(exc, kind):
            return rule(exc)
    return None


def render(exc: errors.LedgerflowError) -> str:
    """The error's message with its command hint, on the message's (last) line."""
    found = hint(exc)
    return f"{exc} — {found}" if found else str(exc)
