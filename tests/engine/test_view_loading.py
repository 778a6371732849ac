"""The worker's ``ViewLoader``: executions read together, a corrupted one set aside alone."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import Any

import psycopg

from ledgerflow import App
from ledgerflow.engine.definitions import Definitions
from ledgerflow.engine.worker.loading import ViewLoader
from ledgerflow.storage import open_store
from ledgerflow.storage.base import Store
from ledgerflow.storage.postgres import PostgresStore
from ledgerflow.storage.rows import ExecutionRows
from ledgerflow.storage.sqlite import SqliteStore
from ledgerflow.testing import FakeClock
from tests.storage.conftest import PAIR, Changes
from tests.support import until_idle

BROKEN = "UPDATE executions SET state = '{broken' WHERE id = "


def corrupt(store: Store, execution_id: str) -> None:
    """Break the execution's state document behind the engine's back."""
    if isinstance(store, SqliteStore):
        with closing(sqlite3.connect(store.path)) as conn:
            conn.execute(BROKEN + "?", (execution_id,))
            conn.commit()
    else:
        assert isinstance(store, PostgresStore)
        with psycopg.connect(store.target.conninfo, autocommit=True) as pg:
            pg.execute(BROKEN + "%s", (execution_id,))


def loader(store: Store) -> ViewLoader:
    return ViewLoader(store, Definitions(store, FakeClock()))


def test_a_corrupted_execution_is_quarantined_and_the_others_load(store: Store) -> None:
    changes = Changes(store)
    assert store.commit([changes.new(i) for i in ("good1", "bad", "good2")]) == [True] * 3
    corrupt(store, "bad")
    views = loader(store)
    loaded = views.load_many(["good1", "bad", "nope", "good2"])
    assert list(loaded) == ["good1", "bad", "nope", "good2"]
    assert loaded["bad"] is None and loaded["nope"] is None
    for good in ("good1", "good2"):
        view = loaded[good]
        assert view is not None and view.id == good and set(view.steps) == {"first", "second"}
    assert views.quarantined == {"bad"}  # the unknown one is not corrupt, only absent
    assert views.load("bad") is None  # not read again
    assert views.load("good1") == loaded["good1"]



class CountingStore:
    """A real store that records the ids of each ``load_whole_executions`` call."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner
        self.calls: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def load_whole_executions(self, ids: Sequence[str]) -> dict[str, ExecutionRows]:
        self.calls.append(list(ids))
        return self._inner.load_whole_executions(ids)


def test_the_worker_loads_the_executions_it_claims_together(backend_url: str) -> None:
    inner = open_store(backend_url)
    store = CountingStore(inner)
    app = App(store)  # type: ignore[arg-type]
    try:
        app.agent("t.work")(lambda ctx, data: {"ok": True})
        app.apply(PAIR)
        started = {app.start("pair", {}) for _ in range(6)}
        until_idle(app)
        assert all(app.status(i).status == "completed" for i in started)
        assert sorted(store.calls[0]) == sorted(started)  # claimed at start: one read
        assert sum(map(len, store.calls)) == len(started)  # each read once, then kept
    finally:
        app.close()
        inner.close()
