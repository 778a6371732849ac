"""The pool's check of a PostgreSQL connection: no round trip, yet a connection the server
closed is seen, closed and replaced, so a store carries on after its backends are gone."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from ledgerflow.storage.notices import LEDGER_CHANNEL, LedgerNotice
from ledgerflow.storage.postgres import PostgresStore
from ledgerflow.storage.postgres_alive import check_alive
from tests.storage.conftest import Changes
from tests.support import SAFETY

MARK = "SELECT 'the last query' AS mark"


@pytest.fixture
def conn(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_url, autocommit=True) as c:
        yield c


@pytest.fixture
def admin(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(pg_url, autocommit=True) as c:
        yield c


def last_query(admin: psycopg.Connection[Any], pid: int) -> str:
    """What the server says the backend ``pid`` ran last (it records each query it starts,
    an empty one too)."""
    row = admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert row is not None
    return str(row[0])


def terminate(admin: psycopg.Connection[Any], where: str, *args: Any) -> int:
    """End the backends ``where`` says and wait until each process has exited (its socket
    closed); how many."""
    rows = admin.execute("SELECT pg_terminate_backend(pid, 600000) FROM pg_stat_activity "
                         f"WHERE {where} AND pid <> pg_backend_pid()", args).fetchall()
    assert all(r[0] for r in rows)
    return len(rows)


def test_a_healthy_connection_passes_without_a_query(
        conn: psycopg.Connection[Any], admin: psycopg.Connection[Any]) -> None:
    conn.execute(MARK)
    check_alive(conn)
    check_alive(conn)
    assert not conn.closed
    assert last_query(admin, conn.info.backend_pid) == MARK  # nothing ran since
    assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("check", [ConnectionPool.check_connection, lambda c: c.execute("")])
def test_the_server_sees_a_check_that_queries(
        conn: psycopg.Connection[Any], admin: psycopg.Connection[Any],
        check: Callable[[psycopg.Connection[Any]], object]) -> None:
    """The test above can fail: the pool's own check is a query the server records."""
    conn.execute(MARK)
    check(conn)
    assert last_query(admin, conn.info.backend_pid) != MARK


def test_a_connection_the_server_terminated_is_refused_and_closed(
        conn: psycopg.Connection[Any], admin: psycopg.Connection[Any]) -> None:
    assert terminate(admin, "pid = %s", conn.info.backend_pid) == 1
    assert not conn.closed  # the client has not noticed yet
    with pytest.raises(psycopg.OperationalError, match="closed by the server"):
        check_alive(conn)
    assert conn.closed  # so the pool drops it and makes a new one


def test_a_connection_inside_a_transaction_is_refused(conn: psycopg.Connection[Any]) -> None:
    conn.execute("BEGIN")
    with pytest.raises(psycopg.OperationalError, match="not idle"):
        check_alive(conn)
    assert conn.closed


def test_a_closed_connection_is_refused(conn: psycopg.Connection[Any]) -> None:
    conn.close()
    with pytest.raises(psycopg.OperationalError, match="closed"):
        check_alive(conn)


def test_a_store_carries_on_after_every_backend_is_terminated(
        pg_url: str, admin: psycopg.Connection[Any]) -> None:
    store = PostgresStore(f"{pg_url}?pool_min_size=2&pool_max_size=2")
    try:
        changes = Changes(store)
        assert store.commit([changes.new("e1")]) == [True]
        dbname = admin.info.dbname
        for n in range(2):  # what a server restart looks like to the pool
            assert terminate(admin, "datname = %s AND application_name = 'ledgerflow'",
                             dbname) >= 1
            # every pooled connection is dead: each is seen before use and replaced, so
            # the operations after it do not fail
            assert store.load_execution_any_tenant("e1") is not None
            assert store.commit([changes.new(f"e{n + 2}")]) == [True]
        assert set(store.load_whole_executions(["e1", "e2", "e3", "e4"])) == {"e1", "e2", "e3"}
    finally:
        store.close()


def test_the_ledger_watcher_listens_again_and_says_to_look_again(
        pg_url: str, admin: psycopg.Connection[Any]) -> None:
    store = PostgresStore(pg_url)
    heard: queue.Queue[LedgerNotice | None] = queue.Queue()
    watcher = store.watch_ledger(heard.put)  # returns once it listens: nothing said yet
    try:
        assert heard.empty()
        assert terminate(admin, "datname = %s AND query = %s", admin.info.dbname,
                         f"LISTEN {LEDGER_CHANNEL}") == 1  # a restart, as it sees it
        assert heard.get(timeout=SAFETY) is None  # back: what was sent meanwhile is lost
        change = Changes(store).new("e1")
        assert store.commit([change]) == [True]
        assert heard.get(timeout=SAFETY) == LedgerNotice(
            change.execution.tenant_id, "e1", change.execution.head_seq)
    finally:
        watcher.close()
        store.close()
