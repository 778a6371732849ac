"""The agent book counts an attempt's outcome once, and forgets an execution's attempts
when it leaves the worker: it does not grow with the history."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledgerflow import App
from ledgerflow.engine.agents.book import AgentBook
from ledgerflow.engine.agents.registry import AgentRegistry

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _handler(ctx: Any, data: Any) -> Any:
    return data


def test_an_outcome_counts_once_and_forget_drops_the_execution() -> None:
    registry = AgentRegistry()
    registry.register("pay.send", _handler, name="bank")
    book = AgentBook(registry, "h:1")
    for _ in range(2):
        book.outcome(capability="pay.send", agent="bank", execution_id="e", step_id="s",
                     epoch=1, ok=True, duration_ms=1.0, now=T0)
    assert book.stats[("pay.send", "bank")].total == 1
    book.forget("e")
    assert book._settled == {}


def test_a_worker_keeps_no_attempts_of_finished_executions(tmp_path: Path) -> None:
    app = App(f"sqlite:///{tmp_path / 'book.db'}")
    app.agent("echo")(_handler)
    app.apply({"name": "two", "steps": [{"id": "a", "agent": "echo"},
                                       {"id": "b", "agent": "echo", "needs": ["a"]}]})
    books: list[AgentBook] = []
    original = AgentBook.__init__

    def keep(self: AgentBook, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        books.append(self)  # the launched worker's

    AgentBook.__init__ = keep  # type: ignore[method-assign]
    try:
        app.launch()
    finally:
        AgentBook.__init__ = original  # type: ignore[method-assign]
    try:
        for eid in [app.start("two", {"n": n}) for n in range(30)]:
            app.result(eid, timeout=60)
        [book] = books
        [stats] = book.stats.values()
        assert stats.total == 60  # every attempt counted
        assert book._settled == {}  # and none kept once its execution finished
    finally:
        app.close()
