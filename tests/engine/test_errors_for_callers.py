"""Errors as a Python (or HTTP) caller meets them through ``App``: each message is one line
in words that fit any caller (no CLI command, no option), and what a program needs is in
attributes: ids, the current status, the actions allowed, whether to try again. (Another
operator acting first, ``errors.ConcurrentChange``, is checked in ``test_control``.)"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from ledgerflow import App, errors
from ledgerflow.engine.rules import actions
from ledgerflow.storage import migrations

FLOW = {
    "name": "flow",
    "input_schema": {"type": "object", "properties": {"n": {"type": "integer"}}},
    "steps": [{"id": "a", "agent": "t.echo", "output": "a"},
              {"id": "b", "agent": "t.echo", "needs": ["a"], "output": "b"}],
}
WAIT = {"name": "wait", "steps": [{"id": "w", "type": "wait", "signal": "go"}]}


@pytest.fixture
def app(db_url: str) -> Iterator[App]:
    a = App(db_url)
    a.agent("t.echo")(lambda ctx, data: {"step": ctx.step_id})
    a.apply(FLOW)
    a.apply(WAIT)
    yield a
    a.close()


def fits_any_caller(exc: BaseException) -> str:
    """The message, checked: one line naming no CLI command and no option."""
    message = str(exc)
    assert "ledgerflow " not in message, message
    assert not re.search(r"(?<![\w-])--[a-z]", message), message
    assert len(message.splitlines()) == 1, message
    return message


def finished(app: App) -> str:
    eid = app.start("flow", {"n": 1})
    app.run_until_idle()
    assert app.status(eid).status == "completed"
    return eid


def test_an_operator_action_the_status_refuses(app: App) -> None:
    eid = finished(app)
    with pytest.raises(errors.InvalidTransition) as info:
        app.pause(eid)
    exc = info.value
    assert (exc.execution_id, exc.current_status, exc.action) == (eid, "completed", "pause")
    assert exc.allowed_actions == ("rerun", "fork")
    # plain names, not enum members: what a program prints, compares and sends as JSON
    assert {type(v) for v in (exc.current_status, exc.action, *exc.allowed_actions)} == {str}
    assert fits_any_caller(exc).endswith("allowed when completed: rerun from a step, fork")
    assert exc.retryable is False

    pending = app.start("flow", {"n": 2})
    with pytest.raises(errors.InvalidTransition) as info:
        app.resume(pending)
    assert (info.value.current_status, info.value.action) == ("pending", "resume")
    assert info.value.allowed_actions == ("pause", "cancel", "signal")
    fits_any_caller(info.value)


def test_a_state_edit_before_pausing_says_pause_it_first(app: App) -> None:
    eid = app.start("flow", {"n": 1})
    with pytest.raises(errors.InvalidTransition) as info:
        app.set_state(eid, "x", 1)
    assert (info.value.action, info.value.current_status) == ("edit_state", "pending")
    assert "pause" in info.value.allowed_actions
    assert fits_any_caller(info.value).endswith("it is pending; pause it first")
    app.pause(eid)
    assert app.set_state(eid, "x", 1) == 2  # paused: the same call now succeeds


def test_a_signal_to_a_finished_execution(app: App) -> None:
    eid = finished(app)
    with pytest.raises(errors.InvalidTransition) as info:
        app.signal(eid, "go")
    assert (info.value.execution_id, info.value.action) == (eid, "signal")
    assert "signals go to pending, running, waiting or paused" in fits_any_caller(info.value)


def test_unknown_ids_and_names_say_what_was_looked_for(app: App) -> None:
    with pytest.raises(errors.ExecutionNotFound) as info:
        app.pause("nope")
    assert (info.value.kind, info.value.id, info.value.execution_id) == (
        "execution", "nope", "nope")
    assert fits_any_caller(info.value) == "execution 'nope' not found"

    with pytest.raises(errors.WorkflowNotFound) as wf:
        app.start("missing")
    assert (wf.value.kind, wf.value.id, wf.value.version) == ("workflow", "missing", None)
    assert fits_any_caller(wf.value).endswith("; apply it first")

    eid = finished(app)
    with pytest.raises(errors.NotFound) as entry:
        app.fork(eid, at_seq=99)
    assert (entry.value.kind, entry.value.id, entry.value.execution_id) == (
        "ledger entry", "99", eid)
    fits_any_caller(entry.value)
    with pytest.raises(errors.NotFound) as version:
        app.state(eid, 9)
    assert (version.value.kind, version.value.id, version.value.execution_id) == (
        "state version", "9", eid)
    fits_any_caller(version.value)
    with pytest.raises(errors.NotFound) as step:
        app.rerun(eid, "zz")
    assert (step.value.kind, step.value.id, step.value.execution_id) == ("step", "zz", eid)
    fits_any_caller(step.value)


def test_input_and_idempotency(app: App) -> None:
    with pytest.raises(errors.InputValidationError) as info:
        app.start("flow", {"n": "one"})
    assert info.value.problems == ("n: 'one' is not of type 'integer'",)
    fits_any_caller(info.value)
    app.start("flow", {"n": 1}, execution_id="case-1")
    with pytest.raises(errors.IdempotencyConflict) as clash:
        app.start("flow", {"n": 2}, execution_id="case-1")
    assert clash.value.execution_id == "case-1"
    fits_any_caller(clash.value)


def test_an_execution_that_keeps_changing_is_busy_and_retryable(db_url: str,
                                                                 app: App) -> None:
    eid = app.start("wait")
    other = App(db_url)

    def pause_while_signals_arrive(tr: Any) -> None:
        other.signal(eid, "noise")  # commits first, every time: the guard always fails
        actions.pause(tr, None)

    try:
        with pytest.raises(errors.ExecutionBusy) as info:
            app._commands.apply(eid, "pause", pause_while_signals_arrive, strict=False)
    finally:
        other.close()
    assert (info.value.execution_id, info.value.action) == (eid, "pause")
    assert info.value.retryable is True and isinstance(info.value, errors.Conflict)
    assert fits_any_caller(info.value).endswith("try again")
    app.pause(eid)  # and it is: nothing moves it now


def test_a_row_changed_outside_ledgerflow(db_url: str, app: App) -> None:
    eid = finished(app)
    with closing(sqlite3.connect(db_url.removeprefix("sqlite:///"))) as conn, conn:
        conn.execute("UPDATE state_versions SET state = 'nope' WHERE execution_id = ? "
                     "AND version = 1", (eid,))
    with pytest.raises(errors.CorruptedRow) as info:
        app.state_diff(eid, 1, 2)
    assert info.value.what == "state version 1"
    assert isinstance(info.value, errors.StorageError)
    assert "verify the ledgers" in fits_any_caller(info.value)


def test_pending_migrations_and_a_held_worker_lock(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with App(url) as app:
        lock = app.store.worker_lock()
        lock.acquire()
        try:
            with pytest.raises(errors.WorkerLockHeld) as held:
                app.store.worker_lock().acquire()
        finally:
            lock.release()
    assert held.value.holder == str(os.getpid())
    assert held.value.path == str(tmp_path / "old.db")
    assert "one worker at a time" in fits_any_caller(held.value)

    known = migrations.discover("sqlite")
    extra = migrations.Migration(version=len(known) + 1, name="probe", checksum="0" * 64,
                                 sql="CREATE TABLE probe (x INTEGER);")
    monkeypatch.setattr(migrations, "discover", lambda dialect: (*known, extra))
    with pytest.raises(errors.MigrationRequired) as info:
        App(url)
    assert (info.value.url, info.value.pending) == (url, (f"{extra.version:04d}_probe",))
    assert fits_any_caller(info.value).endswith("migrate it first")
