"""``ledgerflow verify`` on a real database file tampered with behind the engine's back."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ledgerflow import App

LEDGERFLOW = Path(sys.executable).with_name("ledgerflow")
FLOW = {"name": "three", "steps": [
    {"id": "a", "agent": "t.up", "input": {"n": "${input.n}"}, "output": "a"},
    {"id": "b", "agent": "t.up", "needs": ["a"], "output": "b"},
    {"id": "c", "agent": "t.up", "needs": ["b"]},
]}
TRIGGERS = ("ledger_entries_no_update", "ledger_entries_no_delete", "ledger_entries_no_replace")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    path = tmp_path / "t.db"
    with App(f"sqlite:///{path}") as app:
        app.agent("t.up")(lambda ctx, data: {"step": ctx.step_id, "data": data})
        app.apply(FLOW)
        ids = [app.start("three", {"n": n}, execution_id=f"exec-{n}") for n in range(3)]
        app.run_until_idle()
        assert all(app.status(i).status == "completed" for i in ids)
    yield path, ids


def tamper(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    conn = sqlite3.connect(path)
    try:
        for trigger in TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def verify(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LEDGERFLOW), "--db", f"sqlite:///{path}", "verify", *args],
                          capture_output=True, text=True, timeout=60)


def entry(path: Path, execution_id: str, seq: int) -> dict[str, object]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM ledger_entries WHERE execution_id = ? AND seq = ?",
                           (execution_id, seq)).fetchone()
        return dict(row)
    finally:
        conn.close()


def test_intact_database_verifies(db: tuple[Path, list[str]]) -> None:
    path, ids = db
    assert verify(path, ids[0]).returncode == 0
    proc = verify(path, "--all")
    assert proc.returncode == 0 and "ok: 3 execution(s)" in proc.stdout


def _edit_payload(path: Path, eid: str) -> None:
    tamper(path, ("UPDATE ledger_entries SET payload = ? WHERE execution_id = ? AND seq = 1",
                  ('{"input":{"n":999}}', eid)))


def _edit_body(path: Path, eid: str) -> None:
    body = str(entry(path, eid, 4)["body"]).replace('"attempt":1', '"attempt":2')
    tamper(path, ("UPDATE ledger_entries SET body = ? WHERE execution_id = ? AND seq = 4",
                  (body, eid)))


def _delete_middle(path: Path, eid: str) -> None:
    tamper(path, ("DELETE FROM ledger_entries WHERE execution_id = ? AND seq = 4", (eid,)))


def _delete_tail(path: Path, eid: str) -> None:
    tamper(path, ("DELETE FROM ledger_entries WHERE execution_id = ? AND seq >= 8", (eid,)))


def _swap(path: Path, eid: str) -> None:
    tamper(path,
           ("UPDATE ledger_entries SET seq = -1 WHERE execution_id = ? AND seq = 3", (eid,)),
           ("UPDATE ledger_entries SET seq = 3 WHERE execution_id = ? AND seq = 4", (eid,)),
           ("UPDATE ledger_entries SET seq = 4 WHERE execution_id = ? AND seq = -1", (eid,)))


def _relink(path: Path, eid: str) -> None:
    tamper(path, ("UPDATE ledger_entries SET prev_hash = ? WHERE execution_id = ? AND seq = 5",
                  ("f" * 64, eid)))


def _drift(path: Path, eid: str) -> None:
    tamper(path, ("UPDATE executions SET state = ? WHERE id = ?",
                  (json.dumps({"a": "forged"}), eid)))


@pytest.mark.parametrize(("change", "problem", "seq"), [
    (_edit_payload, "payload mismatch", 1),
    (_edit_body, "hash mismatch", 4),
    (_delete_middle, "gap", 4),
    (_delete_tail, "truncated", 8),
    (_swap, None, 3),
    (_relink, "broken link", 5),
    (_drift, "state drift", None),
])
def test_each_tamper_is_caught(db: tuple[Path, list[str]],
                               change: Callable[[Path, str], None],
                               problem: str | None, seq: int | None) -> None:
    path, ids = db
    target = ids[1]
    change(path, target)
    proc = verify(path, target)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert target in proc.stdout
    if problem is not None:
        assert problem in proc.stdout.lower()
    if seq is not None:
        assert f"at seq {seq}" in proc.stdout
    everything = verify(path, "--all", "--json")
    assert everything.returncode == 1
    report = json.loads(everything.stdout)
    assert report["ok"] is False and report["checked"] == 3
    assert [f["execution_id"] for f in report["failures"]] == [target]
    assert verify(path, ids[0]).returncode == 0  # the others still pass


def test_ledger_rows_refuse_changes_while_triggers_stand(db: tuple[Path, list[str]]) -> None:
    path, _ = db
    conn = sqlite3.connect(path)
    try:
        for sql in ("UPDATE ledger_entries SET payload = 'x' WHERE seq = 1",
                    "DELETE FROM ledger_entries WHERE seq = 1",
                    "INSERT OR REPLACE INTO ledger_entries SELECT * FROM ledger_entries "
                    "WHERE seq = 1",
                    "REPLACE INTO ledger_entries SELECT * FROM ledger_entries WHERE seq = 1"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(sql)
    finally:
        conn.close()
    assert verify(path, "--all").returncode == 0


def test_verify_usage_errors(db: tuple[Path, list[str]]) -> None:
    path, _ = db
    proc = verify(path)
    assert proc.returncode == 2 and "give an EXECUTION_ID or --all" in proc.stderr
    proc = verify(path, "nope")
    assert proc.returncode == 1 and "execution 'nope' not found" in proc.stderr
    assert "Traceback" not in proc.stderr
