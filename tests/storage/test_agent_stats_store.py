"""Agent statistics in the store add up on every backend: workers writing at once each add
their increments, none overwrites another's; a repair that replaces the statistics loses
nothing a worker adds meanwhile; a database migrated from the last-writer-wins statistics
gets totals rebuilt from its decisions, which the check then agrees with."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledgerflow.engine.agents import admin
from ledgerflow.engine.agents.book import stats_of
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.routing import stats as agent_stats
from ledgerflow.storage import agent_tables, migrations, open_store
from ledgerflow.storage.base import AgentWrites, Store
from ledgerflow.storage.postgres import PostgresStore
from ledgerflow.storage.rows import StatsRow, StatsSnapshot
from tests.conftest import PgServer
from tests.engine.test_shared_book import book
from tests.storage.conftest import (
    Changes,
    activation,
    postgres_execute,
    sqlite_execute,
    write_as_before,
)

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KEY = ("pay.send", "bank")


def increment(total: int, *, bucket: int = 3, at: str = "2026-11-29T12:00:00.000000Z",
              ) -> StatsRow:
    return StatsRow(capability=KEY[0], agent=KEY[1], total=total, successes=total,
                    failures=0, duration_us=total * 3, last_update=at, updated_at=at,
                    buckets=((bucket, total),))


def wait_for_lock_wait(url: str) -> None:
    """Until a session of this database waits for a lock (a writer held back)."""
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'").fetchone()
            if row and row[0]:
                return
            assert time.monotonic() < deadline, "the other writer never waited for the lock"
            time.sleep(0.01)


def test_two_workers_adding_at_once_end_with_the_exact_sum(store: Store) -> None:
    """Two workers' books record outcomes and commit their increments at the same time
    (each commit a few outcomes, as group commit does); the stored totals are the sum of
    all of them, as a rebuild from every outcome gives them, and each book adopts them."""
    books = [book("h:1"), book("h:2")]
    for b in books:
        b.load_from(store, T0)
    rng = random.Random(11)
    plans = [[(rng.random() < 0.8, rng.choice([0.02, 0.5, 3.0, 41.7, 250.0, 4000.0]))
              for _ in range(150)] for _ in books]
    start = threading.Barrier(len(books))
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            for i, (ok, ms) in enumerate(plans[n]):
                books[n].outcome(capability=KEY[0], agent=KEY[1], execution_id=f"w{n}",
                                 step_id=f"s{i}", epoch=1, ok=ok, duration_ms=ms,
                                 now=T0 + timedelta(milliseconds=10 * i + n))
                if i % 4 == 3 or i == len(plans[n]) - 1:
                    writes = books[n].take_writes(T0)
                    assert writes is not None
                    store.commit([], agents=writes)
                if i % 25 == 0:
                    books[n].sync(store, T0)  # what another worker added meanwhile
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(books))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    expected = agent_stats.rebuild(
        (ok, ms, format_timestamp(T0 + timedelta(milliseconds=10 * i + n)))
        for n, plan in enumerate(plans) for i, (ok, ms) in enumerate(plan))
    [row] = store.load_stats()
    assert stats_of(row) == expected
    assert expected.total == 300
    for b in books:  # what each worker's router sees: the totals, no histogram
        b.sync(store, T0)
        assert b.stats[KEY] == replace(expected, buckets=())


def test_overlapping_transactions_on_postgresql_both_count(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two transactions add to the same row; the second runs while the first has written
    its increment but not committed (it waits for the row), and counts on top of it."""
    monkeypatch.setattr(agent_tables, "STATS_SLOTS", 1)  # one row per agent: they meet
    first, second = open_store(pg_url), open_store(pg_url)
    assert isinstance(first, PostgresStore)
    others: list[threading.Thread] = []

    def meanwhile() -> None:
        first.before_commit_hook = None
        other = threading.Thread(target=second.commit, args=([],),
                                 kwargs={"agents": AgentWrites(stats=[increment(5)])})
        other.start()
        others.append(other)
        wait_for_lock_wait(pg_url)

    try:
        first.commit([], agents=AgentWrites(stats=[increment(2)]))  # the new row
        first.before_commit_hook = meanwhile
        first.commit([], agents=AgentWrites(stats=[increment(3, bucket=7)]))
        others[0].join()
        [row] = first.load_stats()
        assert (row.total, row.successes, row.duration_us) == (10, 10, 30)
        assert row.buckets == ((3, 7), (7, 3))
    finally:
        first.close()
        second.close()


def test_a_repair_loses_nothing_added_while_it_runs(store: Store, request: Any) -> None:
    """The repair replaces the totals; an increment committed meanwhile waits for it and is
    added to the replaced totals."""
    store.commit([], agents=AgentWrites(stats=[increment(40)]))  # wrong: nothing backs it
    adder = open_store(store.url)
    others: list[threading.Thread] = []
    late = increment(1, at="2026-11-29T12:00:09.000000Z")

    def rebuild(found: StatsSnapshot) -> list[StatsRow]:
        assert [r.total for r in found.stats] == [40]
        other = threading.Thread(target=adder.commit, args=([],),
                                 kwargs={"agents": AgentWrites(stats=[late])})
        other.start()
        others.append(other)
        if isinstance(store, PostgresStore):
            wait_for_lock_wait(store.url)  # held back, not lost (SQLite: one writer at once)
        return [increment(2)]

    try:
        store.replace_stats(rebuild)
        others[0].join()
    finally:
        adder.close()
    [row] = store.load_stats()
    assert (row.total, row.buckets) == (3, ((3, 3),))
    assert row.last_update == late.last_update


# upgrading from the last-writer-wins statistics ------------------------------------------

# durations at the histogram's edges: below a microsecond, the last exact bucket, the first
# shared ones, long ones
DURATIONS = [0.0, 0.0005, 0.0639, 0.064, 0.0641, 0.1275, 0.128, 1.0, 12.3456789, 999.999,
             1234.5678, 65535.999, 3_600_000.0, 86_400_000.123]


def _outcomes() -> list[dict[str, Any]]:
    """The outcome of each execution's first attempt, as the previous version stored it."""
    return [{"execution_id": f"x-{i}", "agent": "bank" if i % 3 else "spare",
             "outcome": "failure" if i % 4 == 0 else "success", "duration_ms": ms,
             "finished_at": format_timestamp(T0 + timedelta(seconds=i))}
            for i, ms in enumerate(DURATIONS)]


SET_OUTCOME = ("UPDATE routing_decisions SET agent = :agent, outcome = :outcome, "
               "duration_ms = :duration_ms, finished_at = :finished_at "
               "WHERE execution_id = :execution_id")
OLD_STATS = ("INSERT INTO agent_stats (capability, agent, data, updated_at) VALUES "
             "('t.work', 'bank', '{\"total\": 474}', '2026-11-29T12:00:00.000000Z')")


def _migrated_agrees(url: str, execute: Callable[[str, list[dict[str, Any]]], None],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    known = migrations.discover("sqlite" if url.startswith("sqlite") else "postgres")
    assert [m.name for m in known[5:6]] == ["additive_stats"]
    monkeypatch.setattr(migrations, "discover", lambda dialect: known[:5])
    old = open_store(url, migrate=True)  # a database of the previous version
    try:
        changes = Changes(old)
        for row in _outcomes():  # executions whose first step was routed, then ended
            # (without their state versions: today's rows have columns of later schemas)
            new = replace(changes.new(row["execution_id"]), state_version=None)
            write_as_before(execute, [new, activation(changes.view_of_new(new)).change])
    finally:
        old.close()
    execute(SET_OUTCOME, _outcomes())
    execute(OLD_STATS, [{}])
    monkeypatch.undo()
    store = open_store(url, migrate=True)
    try:
        stored = {(r.capability, r.agent): stats_of(r) for r in store.load_stats()}
        expected: dict[tuple[str, str], list[tuple[bool, float, str]]] = {}
        for r in _outcomes():
            expected.setdefault(("t.work", r["agent"]), []).append(
                (r["outcome"] == "success", r["duration_ms"], r["finished_at"]))
        assert stored == {k: agent_stats.rebuild(v) for k, v in expected.items()}
        checked = admin.recalculate(store, write=False, now=T0)
        assert [(c.agent, c.agree) for c in checked] == [("bank", True), ("spare", True)]
    finally:
        store.close()


def test_an_upgraded_sqlite_database_gets_statistics_that_add_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    execute = sqlite_execute(path)

    _migrated_agrees(f"sqlite:///{path}", execute, monkeypatch)


def test_an_upgraded_postgresql_database_gets_statistics_that_add_up(
        pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    name = pg_server.create(template=False)
    url = pg_server.url(name)
    execute = postgres_execute(url)

    try:
        _migrated_agrees(url, execute, monkeypatch)
    finally:
        pg_server.drop(name)
