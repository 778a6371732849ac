"""Tampering with a real database file is caught by ``ledgerflow verify``, as a user runs it.

The database is made once by the Python API (three executions of a three-step workflow run
to completion) and copied for each test; each test edits its copy with raw ``sqlite3``,
dropping only the trigger its edit needs, then runs the installed console script.

The target execution's ledger, by seq: 1 execution.created, 2 execution.started,
3 step.started a, 4 step.completed a, 5 step.started b, 6 step.completed b,
7 step.started c, 8 step.completed c, 9 execution.completed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from ledgerflow import App, StepContext
from ledgerflow.ledger.canonical import canonical_json
from ledgerflow.ledger.chain import entry_hash
from tests.support import LEDGERFLOW, process_env

FLOW: dict[str, Any] = {"name": "three", "steps": [
    {"id": "a", "agent": "t.work", "input": {"n": "${input.n}"}, "output": "a"},
    {"id": "b", "agent": "t.work", "needs": ["a"], "output": "b"},
    {"id": "c", "agent": "t.work", "needs": ["b"]},
]}
IDS = ("exec-0", "exec-1", "exec-2")
TARGET = "exec-1"
EVENTS = ["execution.created", "execution.started", "step.started", "step.completed",
          "step.started", "step.completed", "step.started", "step.completed",
          "execution.completed"]
NO_UPDATE, NO_DELETE = "ledger_entries_no_update", "ledger_entries_no_delete"


def work(ctx: StepContext, data: Any) -> Any:
    return {"step": ctx.step_id, "data": data}


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.row_factory = sqlite3.Row
        yield conn


def entry(path: Path, seq: int, execution_id: str = TARGET) -> dict[str, Any]:
    with connect(path) as conn:
        row = conn.execute("SELECT * FROM ledger_entries WHERE execution_id = ? AND seq = ?",
                           (execution_id, seq)).fetchone()
    assert row is not None
    return dict(row)


def tamper(path: Path, sql: str, params: tuple[Any, ...] = (), *,
           drop: tuple[str, ...] = ()) -> None:
    """Run one statement behind the engine's back, without the triggers named in ``drop``."""
    with connect(path) as conn:
        for trigger in drop:
            conn.execute(f"DROP TRIGGER {trigger}")
        changed = conn.execute(sql, params).rowcount
    assert changed >= 1, f"the tamper changed nothing: {sql}"


def verify(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in process_env(PYTHONIOENCODING="utf-8").items()
           if not k.startswith("LEDGERFLOW_")}
    return subprocess.run(
        [str(LEDGERFLOW), "--db", f"sqlite:///{path}", "verify", *args],
        capture_output=True, text=True, encoding="utf-8", timeout=60, env=env, check=False,
    )


def failure_line(proc: subprocess.CompletedProcess[str], problem: str,
                 seq: int | None) -> str:
    """The one FAIL line of a failed ``verify TARGET``, checked to name id, problem, seq."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr == ""
    fails = [line for line in proc.stdout.splitlines() if line.startswith("FAIL ")]
    assert len(fails) == 1, proc.stdout
    line = fails[0]
    assert line.startswith(f"FAIL execution {TARGET}: {problem}"), line
    if seq is None:
        assert " at seq " not in line
    else:
        assert f"{problem} at seq {seq}: " in line, line
    assert "1 of 1 execution(s) failed verification" in proc.stdout
    return line


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pristine") / "ledgerflow.db"
    with App(f"sqlite:///{path}") as app:
        app.agent("t.work")(work)
        app.apply(FLOW)
        for n, execution_id in enumerate(IDS):
            app.start("three", {"n": n}, execution_id=execution_id)
        app.run_until_idle()
        assert [app.status(i).status for i in IDS] == ["completed"] * 3
        assert [e.event_type for e in app.history(TARGET)] == EVENTS
    assert not path.with_name(path.name + "-wal").exists()  # one self-contained file
    return path


@pytest.fixture
def db(pristine: Path, tmp_path: Path) -> Path:
    path = tmp_path / "ledgerflow.db"
    shutil.copyfile(pristine, path)
    return path


# intact --------------------------------------------------------------------------------

def test_an_intact_database_verifies(db: Path) -> None:
    one = verify(db, TARGET)
    assert (one.returncode, one.stderr) == (0, "")
    assert one.stdout == "ok: 1 execution(s), 9 ledger entries intact\n"
    every = verify(db, "--all")
    assert (every.returncode, every.stderr) == (0, "")
    assert every.stdout == "ok: 3 execution(s), 27 ledger entries intact\n"


def test_an_erased_payload_still_verifies(db: Path) -> None:
    """Payloads sit beside the hashed body so they can be erased without breaking it."""
    tamper(db, "UPDATE ledger_entries SET payload = NULL WHERE execution_id = ? AND seq = 1",
           (TARGET,), drop=(NO_UPDATE,))
    assert verify(db, TARGET).returncode == 0


# one tamper each ------------------------------------------------------------------------

def test_an_edited_payload_is_a_payload_mismatch(db: Path) -> None:
    payload = json.loads(entry(db, 4)["payload"])
    payload["output"]["data"]["n"] = 999
    forged = canonical_json(payload).decode("utf-8")
    tamper(db, "UPDATE ledger_entries SET payload = ? WHERE execution_id = ? AND seq = 4",
           (forged, TARGET), drop=(NO_UPDATE,))
    line = failure_line(verify(db, TARGET), "payload mismatch", 4)
    assert "stored payload hashes to" in line


def test_an_edited_body_field_is_a_hash_mismatch(db: Path) -> None:
    body = json.loads(entry(db, 5)["body"])
    body["actor"]["id"] = "mallory"
    forged = canonical_json(body).decode("utf-8")
    tamper(db, "UPDATE ledger_entries SET body = ? WHERE execution_id = ? AND seq = 5",
           (forged, TARGET), drop=(NO_UPDATE,))
    line = failure_line(verify(db, TARGET), "hash mismatch", 5)
    assert "stored " in line and "computed " in line


def test_a_deleted_middle_entry_is_a_gap(db: Path) -> None:
    tamper(db, "DELETE FROM ledger_entries WHERE execution_id = ? AND seq = 4", (TARGET,),
           drop=(NO_DELETE,))
    line = failure_line(verify(db, TARGET), "gap", 4)
    assert "expected seq 4 after seq 3, found seq 5" in line


def test_deleted_tail_entries_are_a_truncation(db: Path) -> None:
    tamper(db, "DELETE FROM ledger_entries WHERE execution_id = ? AND seq >= 8", (TARGET,),
           drop=(NO_DELETE,))
    line = failure_line(verify(db, TARGET), "truncated", 8)
    assert "ledger ends at seq 7 but the execution head says seq 9" in line


def test_two_swapped_seqs_are_caught_at_the_first(db: Path) -> None:
    # in two steps: SQLite checks the primary key row by row
    tamper(db, "UPDATE ledger_entries SET seq = -seq WHERE execution_id = ? AND seq IN (3, 4)",
           (TARGET,), drop=(NO_UPDATE,))
    tamper(db, "UPDATE ledger_entries SET seq = CASE seq WHEN -3 THEN 4 ELSE 3 END "
           "WHERE execution_id = ? AND seq IN (-3, -4)", (TARGET,))
    assert entry(db, 3)["event_type"] == "step.completed"  # the swap took
    # verify has no "reorder" problem of its own: the row at seq 3 carries body seq 4
    line = failure_line(verify(db, TARGET), "gap", 3)
    assert "the row's seq column says 3 but its body says 4" in line


def test_a_changed_prev_hash_column_is_a_broken_link(db: Path) -> None:
    tamper(db, "UPDATE ledger_entries SET prev_hash = ? WHERE execution_id = ? AND seq = 5",
           ("f" * 64, TARGET), drop=(NO_UPDATE,))
    line = failure_line(verify(db, TARGET), "broken link", 5)
    assert "prev_hash column ffffffffffff" in line


def test_a_rehashed_body_with_a_changed_link_is_a_broken_link(db: Path) -> None:
    """The tamperer knows the algorithm: the entry's own hash is right, its link is not."""
    body = json.loads(entry(db, 5)["body"])
    body["prev_hash"] = "f" * 64
    forged = canonical_json(body)
    tamper(db, "UPDATE ledger_entries SET body = ?, entry_hash = ?, prev_hash = ? "
           "WHERE execution_id = ? AND seq = 5",
           (forged.decode("utf-8"), entry_hash(forged), "f" * 64, TARGET), drop=(NO_UPDATE,))
    line = failure_line(verify(db, TARGET), "broken link", 5)
    assert "body prev_hash ffffffffffff" in line


def test_an_edited_state_document_is_state_drift(db: Path) -> None:
    tamper(db, "UPDATE executions SET state = ? WHERE id = ?",
           (canonical_json({"a": "forged"}).decode("utf-8"), TARGET))
    line = failure_line(verify(db, TARGET), "state drift", None)
    assert "state document changed outside the engine" in line


def _latest_version(db: Path) -> sqlite3.Row:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM state_versions WHERE execution_id = ? "
                           "ORDER BY version DESC LIMIT 1", (TARGET,)).fetchone()
    assert row is not None and row["version"] > 1
    return row


def test_an_edited_state_version_is_caught(db: Path) -> None:
    v = _latest_version(db)
    tamper(db, "UPDATE state_versions SET state = ?, kind = 'full' "
           "WHERE execution_id = ? AND version = ?",
           (canonical_json({"forged": True}).decode("utf-8"), TARGET, v["version"]))
    line = failure_line(verify(db, TARGET), "state version mismatch", v["seq"])
    assert f"state version {v['version']} hashes to" in line


def test_a_rehashed_state_version_disagrees_with_its_ledger_entry(db: Path) -> None:
    """The tamperer fixes the version's own sha256: the ledger entry still holds the old."""
    v = _latest_version(db)
    forged = canonical_json({"forged": True})
    tamper(db, "UPDATE state_versions SET state = ?, sha256 = ?, kind = 'full' "
           "WHERE execution_id = ? AND version = ?",
           (forged.decode("utf-8"), hashlib.sha256(forged).hexdigest(), TARGET, v["version"]))
    line = failure_line(verify(db, TARGET), "state version mismatch", v["seq"])
    assert "but its ledger entry recorded" in line


def test_an_edited_patch_is_caught(db: Path) -> None:
    """The latest version is stored as a patch of the one before: the patch is edited, the
    version rebuilt from it no longer hashes to what was recorded."""
    v = _latest_version(db)
    assert v["kind"] == "patch"
    tamper(db, "UPDATE state_versions SET state = ? WHERE execution_id = ? AND version = ?",
           ('{"set":{"b":"forged"}}', TARGET, v["version"]))
    line = failure_line(verify(db, TARGET), "state version mismatch", v["seq"])
    assert f"state version {v['version']} hashes to" in line


def test_an_appended_entry_past_the_head_is_caught(db: Path) -> None:
    """A correctly chained extra entry needs no trigger dropped; the head still says 9."""
    last = entry(db, 9)
    body = json.loads(last["body"])
    body.update(seq=10, prev_hash=last["entry_hash"])
    forged = canonical_json(body)
    tamper(db, "INSERT INTO ledger_entries (execution_id, seq, event_type, step_id, "
           "occurred_at, prev_hash, entry_hash, body, payload) "
           "VALUES (?, 10, ?, NULL, ?, ?, ?, ?, ?)",
           (TARGET, last["event_type"], last["occurred_at"], last["entry_hash"],
            entry_hash(forged), forged.decode("utf-8"), last["payload"]))
    line = failure_line(verify(db, TARGET), "truncated", 10)
    assert "ledger continues to seq 10 but the execution head says seq 9" in line


def test_a_changed_head_hash_is_caught(db: Path) -> None:
    tamper(db, "UPDATE executions SET head_hash = ? WHERE id = ?", ("0" * 64, TARGET))
    line = failure_line(verify(db, TARGET), "truncated", 9)
    assert "but the execution head says 000000000000" in line


# --all and --json ----------------------------------------------------------------------

def test_verify_all_names_only_the_tampered_execution(db: Path) -> None:
    tamper(db, "DELETE FROM ledger_entries WHERE execution_id = ? AND seq = 6", (TARGET,),
           drop=(NO_DELETE,))
    proc = verify(db, "--all")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == [
        f"FAIL execution {TARGET}: gap at seq 6: expected seq 6 after seq 5, found seq 7",
        "1 of 3 execution(s) failed verification",
    ]
    assert all(other not in proc.stdout for other in IDS if other != TARGET)


def test_verify_json_reports_each_failure(db: Path) -> None:
    tamper(db, "UPDATE executions SET state = '{}' WHERE id = ?", ("exec-2",))
    tamper(db, "DELETE FROM ledger_entries WHERE execution_id = ? AND seq = 9", (TARGET,),
           drop=(NO_DELETE,))
    proc = verify(db, "--all", "--json")
    assert (proc.returncode, proc.stderr) == (1, "")
    report = json.loads(proc.stdout)
    assert (report["ok"], report["checked"], report["entries"]) == (False, 3, 26)
    failures = {f["execution_id"]: f for f in report["failures"]}
    assert list(failures) == [TARGET, "exec-2"]  # oldest first; exec-0 passed
    assert {k: failures[TARGET][k] for k in ("seq", "problem")} == {
        "seq": 9, "problem": "truncated"}
    assert {k: failures["exec-2"][k] for k in ("seq", "problem")} == {
        "seq": None, "problem": "state_drift"}
    for failure in report["failures"]:
        assert set(failure) == {"execution_id", "seq", "problem", "detail", "message"}
        assert failure["message"].startswith(f"execution {failure['execution_id']}: ")


def test_verify_json_of_an_intact_execution(db: Path) -> None:
    proc = verify(db, TARGET, "--json")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert json.loads(proc.stdout) == {"ok": True, "checked": 1, "entries": 9,
                                       "failures": []}


# misuse ------------------------------------------------------------------------------------

def test_verify_without_an_id_or_all_is_a_usage_error(db: Path) -> None:
    for args in ((), (TARGET, "--all")):
        proc = verify(db, *args)
        assert proc.returncode == 2, args
        assert proc.stdout == ""
        errors = [line for line in proc.stderr.splitlines() if "Error" in line]
        assert errors == ["Error: give an EXECUTION_ID or --all (not both)"]
        assert "Traceback" not in proc.stderr


def test_verify_of_an_unknown_id_says_not_found(db: Path) -> None:
    proc = verify(db, "x")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith("error: execution 'x' not found")
    assert len(proc.stderr.splitlines()) == 1
    assert "Traceback" not in proc.stderr
