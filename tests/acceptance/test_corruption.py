"""A row corrupted behind the engine's back gets a clear error and never stops the worker."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ledgerflow import App
from tests.support import lf, process_env

FLOW = {"name": "two", "steps": [{"id": "a", "agent": "t.ok"},
                                 {"id": "b", "agent": "t.ok", "needs": ["a"]}]}


def test_corrupted_execution_is_skipped_and_reported(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    url = f"sqlite:///{db}"
    with App(url) as app:
        app.apply(FLOW)
        bad = app.start("two", execution_id="bad")
        good = app.start("two", execution_id="good")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE executions SET state = '{broken' WHERE id = ?", (bad,))
    conn.commit()
    conn.close()

    with App(url) as app:
        app.agent("t.ok")(lambda ctx, data: "ok")
        app.run_until_idle()
        assert app.status(good).status == "completed"
        assert app.status(bad).status == "pending"  # left alone, not lost
        result = app.verify(bad)
        assert not result.ok

    conn = sqlite3.connect(db)
    conn.execute("UPDATE state_versions SET state = 'nope' WHERE execution_id = ?", (bad,))
    conn.commit()
    conn.close()
    proc = lf(tmp_path, "--db", url, "state", bad, "--version", "1", check=False,
              env=process_env())
    assert proc.returncode == 1
    assert "state version 1 is not valid JSON in the database" in proc.stderr
    assert "Traceback" not in proc.stderr
    verify = lf(tmp_path, "--db", url, "verify", "--all", check=False, env=process_env())
    assert verify.returncode == 1 and "bad" in verify.stdout


def test_second_worker_on_one_sqlite_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with App(url) as app:
        lock = app.store.worker_lock()
        lock.acquire()
        try:
            proc: Any = lf(tmp_path, "--db", url, "worker", "--until-idle", check=False,
                           env=process_env())
        finally:
            lock.release()
    assert proc.returncode == 1
    assert "another worker" in proc.stderr and "one worker at a time" in proc.stderr
