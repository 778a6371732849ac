"""A full disk (SQLite): a refused write is one clear line (``errors.DatabaseFull``), rolled
back whole; a worker retries its batch with a growing wait and loses nothing it was told was
done, and once space is freed everything completes with intact ledgers.

The disk is filled with ``PRAGMA max_page_count`` on the store's writer connection: SQLite
then refuses to grow the file with SQLITE_FULL, exactly as on a disk with no space left.
(On PostgreSQL a full disk cannot be simulated; its lost connections are tested in
tests/acceptance/test_many_workers.py.)"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from ledgerflow import App, errors
from ledgerflow.engine.worker.lifecycle import RETRY_AFTER, RETRY_MAX, Backoff
from ledgerflow.storage.sqlite import SqliteStore
from tests.support import Background, wait_for

FLOW = {"name": "fat", "steps": [
    {"id": "a", "agent": "t.blob", "output": "a"},
    {"id": "b", "agent": "t.blob", "needs": ["a"], "output": "b"},
]}
BLOB = "x" * 20_000  # a few pages per output


def fill(store: Any, spare_pages: int = 0) -> None:
    """The disk is full: the file may grow by ``spare_pages`` pages at most."""
    assert isinstance(store, SqliteStore)
    with store._write_lock:
        pages = store._writer.execute("PRAGMA page_count").fetchone()["page_count"]
        store._writer.execute(f"PRAGMA max_page_count = {pages + spare_pages}")


def free(store: Any) -> None:
    with store._write_lock:
        store._writer.execute("PRAGMA max_page_count = 1073741823")


def test_start_on_a_full_disk_is_one_line_and_writes_nothing(db_url: str) -> None:
    with App(db_url) as app:
        app.apply(FLOW)
        fill(app.store)
        with pytest.raises(errors.DatabaseFull) as info:
            app.start("fat", input={"pad": BLOB}, execution_id="big")
        message = str(info.value)
        assert message.startswith("database or disk is full: ") and "\n" not in message
        assert message.endswith("free space and try again (a worker retries by itself)")
        assert info.value.retryable and "cannot rollback" not in message
        assert app.list() == []  # nothing half-written
        free(app.store)
        assert app.start("fat", input={"pad": BLOB}, execution_id="big") == "big"
        assert all(r.ok for r in app.verify_all())


def test_a_worker_on_a_full_disk_retries_and_loses_nothing(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    released = threading.Event()
    entered = threading.Event()
    with App(db_url) as app:
        @app.agent("t.blob")
        def blob(ctx: Any, data: Any) -> Any:
            entered.set()
            released.wait(60)
            return {"step": ctx.step_id, "blob": BLOB}

        app.apply(FLOW)
        ids = [app.start("fat", execution_id=f"e{n}") for n in range(4)]
        with caplog.at_level(logging.WARNING, logger="ledgerflow.worker"), \
                Background(app, concurrency=4):
            wait_for(entered.is_set, what="a handler running")
            fill(app.store)  # the disk fills while handlers run
            released.set()
            wait_for(lambda: caplog.text.count("database or disk is full") >= 2,
                     what="the worker retrying on a full disk")
            assert all(app.execution(i).status == "running" for i in ids)
            free(app.store)
            wait_for(lambda: all(app.execution(i).status == "completed" for i in ids),
                     what="every execution completing once space is freed")
        for eid in ids:
            state = app.state(eid).state
            assert state["a"]["blob"] == BLOB and state["b"]["blob"] == BLOB
        assert all(r.ok for r in app.verify_all())
    assert "cannot rollback" not in caplog.text and "Traceback" not in caplog.text
    full = [r.getMessage() for r in caplog.records if "disk is full" in r.getMessage()]
    assert all("\n" not in line for line in full)


def test_the_wait_between_refused_batches_doubles_up_to_a_cap() -> None:
    backoff = Backoff()
    waits = [backoff.next() for _ in range(8)]
    assert waits[:3] == [RETRY_AFTER, 2 * RETRY_AFTER, 4 * RETRY_AFTER]
    assert waits[-1] == RETRY_MAX and waits == sorted(waits)
    backoff.reset()  # a batch got through
    assert backoff.next() == RETRY_AFTER
