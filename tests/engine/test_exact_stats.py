"""Agent statistics through the Python API, on both backends: they always add up to the
stored decisions (even read while a worker writes); the check writes nothing and names what
disagrees; a repair mends it; cleanup removes executions without unbalancing them."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledgerflow import App
from ledgerflow.storage.rows import StatsRow

FLOW = {"name": "tally", "steps": [
    {"id": "a", "agent": "t.count", "retry": {"max_attempts": 3, "initial": "1ms"}},
    {"id": "b", "agent": "t.count", "needs": ["a"]},
]}


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'stats.db'}"


class Calls:
    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0
        self.lock = threading.Lock()


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def app(url: str, calls: Calls) -> Iterator[App]:
    a = App(url)

    @a.agent("t.count", name="counter", failure_threshold=10_000)
    def counter(ctx: Any, data: Any) -> Any:
        with calls.lock:
            flaky = ctx.step_id == "a" and ctx.attempt == 1 and \
                int(ctx.execution_id.rsplit("-", 1)[1]) % 3 == 0
            if flaky:
                calls.failed += 1
            else:
                calls.ok += 1
        if flaky:
            raise ConnectionError("first attempts of every third execution fail")
        return {"step": ctx.step_id}

    a.apply(FLOW)
    yield a
    a.close()


def run(app: App, first: int, count: int) -> None:
    for i in range(first, first + count):
        app.start("tally", {}, execution_id=f"run-{i}")
    app.run_until_idle(concurrency=4)


def counter_stats(app: App) -> dict[str, Any]:
    [found] = [a.stats for a in app.agents() if a.agent == "counter"]
    return found


def stored_rows(app: App) -> list[StatsRow]:
    return app.store.load_stats()


def execute(url: str, sql: str) -> None:
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn, conn:
            conn.execute(sql)
    else:
        with psycopg.connect(url) as conn:
            conn.execute(sql)


def test_the_statistics_count_every_call_and_the_check_agrees(app: App, calls: Calls) -> None:
    run(app, 0, 12)
    stats = counter_stats(app)
    assert (stats["total"], stats["successes"], stats["failures"]) == (
        calls.ok + calls.failed, calls.ok, calls.failed) == (28, 24, 4)
    assert stats["p95_ms"] is not None and stats["mean_ms"] is not None
    [checked] = app.recalculate_stats()
    assert checked.agree and checked.differs == () and not checked.repaired
    assert checked.stored == checked.rebuilt == stats


def test_the_check_writes_nothing_names_what_differs_and_a_repair_mends(
        app: App, url: str) -> None:
    run(app, 0, 6)
    good = stored_rows(app)
    execute(url, "UPDATE agent_stats SET total = total + 3, successes = successes + 3 "
                 "WHERE slot = (SELECT min(slot) FROM agent_stats)")  # the sum of its slots
    tampered = stored_rows(app)
    [checked] = app.recalculate_stats()
    assert not checked.agree and checked.differs == ("total", "successes")
    assert checked.stored is not None and checked.stored["total"] == good[0].total + 3
    assert checked.rebuilt["total"] == good[0].total
    assert stored_rows(app) == tampered  # a check, not a repair: nothing written
    [repaired] = app.recalculate_stats(write=True)
    assert repaired.repaired and repaired.differs == ("total", "successes")
    [again] = app.recalculate_stats()
    assert again.agree
    [mended] = stored_rows(app)
    assert (mended.total, mended.successes, mended.buckets) == (
        good[0].total, good[0].successes, good[0].buckets)
    run(app, 6, 3)  # workers add to the repaired totals as before
    assert all(c.agree for c in app.recalculate_stats())


def test_the_check_agrees_while_a_worker_writes(app: App) -> None:
    """Outcomes and the increments they cause commit together, and the check reads both at
    one moment: it agrees at any time, not only when the workers are done."""
    for i in range(40):
        app.start("tally", {}, execution_id=f"run-{i}")
    worker = threading.Thread(target=app.run_until_idle, kwargs={"concurrency": 4})
    worker.start()
    checks = 0
    try:
        while worker.is_alive() or checks == 0:
            assert all(c.agree for c in app.recalculate_stats()), f"check {checks + 1}"
            checks += 1
    finally:
        worker.join()  # it stops when everything is done
    assert all(c.agree for c in app.recalculate_stats())
    assert counter_stats(app)["total"] == 40 * 2 + 14  # a retry for every third


def test_cleanup_keeps_the_statistics_and_the_check_agrees(app: App, calls: Calls) -> None:
    run(app, 0, 9)
    before = counter_stats(app)
    report = app.cleanup(older_than=0)
    assert len(report.removed) == 9
    assert app.store.load_decisions("run-1") == []  # the decisions went with them
    assert counter_stats(app) == before  # what the agent did still counts
    assert all(c.agree for c in app.recalculate_stats())
    run(app, 9, 6)  # new decisions beside the sums of the removed ones
    assert counter_stats(app)["total"] == calls.ok + calls.failed
    assert all(c.agree for c in app.recalculate_stats())
    app.cleanup(older_than=0)
    assert all(c.agree for c in app.recalculate_stats())
    [repaired] = app.recalculate_stats(write=True)  # a repair keeps the removed ones too
    assert repaired.agree and repaired.rebuilt["total"] == calls.ok + calls.failed
