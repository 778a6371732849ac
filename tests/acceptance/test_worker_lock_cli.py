"""A second worker on an embedded database is refused in one line that names the database
(the file the user gave), never the lock file beside it."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from tests.support import LEDGERFLOW, process_env, run_cli

PATIENCE = 60.0  # seconds before giving up on the first worker (a hang, not a measurement)


def test_a_second_worker_is_told_which_database_is_taken(tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    url = f"sqlite:///{database}"
    run_cli(tmp_path, url, "init")
    first = subprocess.Popen([str(LEDGERFLOW), "worker"], env=process_env(db=url), cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lock = tmp_path / "shared.db.worker.default.lock"  # the default tenant's worker
        deadline = time.monotonic() + PATIENCE
        while not (lock.exists() and lock.read_text() == str(first.pid)):
            assert first.poll() is None and time.monotonic() < deadline, "no first worker"
            time.sleep(0.05)
        second = run_cli(tmp_path, url, "worker", "--until-idle", check=False)
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=PATIENCE)
    assert second.returncode == 1
    assert second.stderr == (
        f"error: another worker (pid {first.pid}) already drives tenant 'default' of "
        f"{database}; an embedded SQLite database runs one worker at a time for each tenant "
        "(give that worker a higher concurrency instead, or use PostgreSQL for several "
        "workers) — hint: ledgerflow worker --concurrency N\n")
    assert "worker.lock" not in second.stderr
