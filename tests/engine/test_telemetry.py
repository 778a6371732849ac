"""Telemetry through a worker: a flood with a slow sink loses only counted records."""

from __future__ import annotations

import threading
from typing import Any

from ledgerflow import App
from ledgerflow.settings import Settings
from tests.support import SAFETY

LINES = 20_000


def test_a_flood_with_a_slow_sink_loses_only_counted_records(backend_url: str) -> None:
    app = App(backend_url, settings=Settings(db_url=backend_url, telemetry_capacity=500))
    write = app.store.write_telemetry
    flooded = threading.Event()

    def slow_sink(rows: Any) -> None:  # the real table, written once the flood is over
        flooded.wait(SAFETY)  # slower than any producer: the buffer must overflow
        write(rows)

    app.store.write_telemetry = slow_sink  # type: ignore[method-assign]

    @app.agent("t.chatty")
    def chatty(ctx: Any, data: Any) -> Any:
        for i in range(LINES):
            ctx.log("line", i=i)
        flooded.set()
        return "done"

    app.apply({"name": "chatty", "steps": [{"id": "talk", "agent": "t.chatty"}]})
    try:
        eid = app.start("chatty")
        report = app.run_until_idle()
        assert app.status(eid).status == "completed"
        stats = report.telemetry
        assert stats is not None
        assert stats.pending == 0 and stats.produced >= LINES
        assert stats.produced == stats.written + stats.dropped  # nothing lost uncounted
        assert stats.dropped > 0 and stats.dropped_full == stats.dropped
        stored = app.store.read_telemetry(None, 0, 10 * LINES)
        assert len(stored) == stats.written
        assert app.verify(eid).ok  # the ledger never goes through the buffer
        assert [e.event_type for e in app.history(eid)][-1] == "execution.completed"
    finally:
        app.close()
