"""``storage.copy``: a whole deployment moved between SQLite and PostgreSQL, any way round.

The source is made by the engine (``App`` with real agents and a worker): completed runs, a
failed one (its breaker opened), a paused one, one waiting for a signal, one that took a
signal, a fork, an execution removed by retention (a tombstone), and another tenant's run.
Each copy is compared table by table and row by row with raw SQL on both ends, every ledger
is verified and read back through the store, and the target is then used by the engine.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledgerflow import App, errors
from ledgerflow.cli import hints
from ledgerflow.storage import copy
from ledgerflow.storage.copy import TableInfo, order_tables

CHAIN: dict[str, Any] = {"name": "chain", "steps": [
    {"id": "a", "agent": "t.echo", "output": "a"},
    {"id": "b", "agent": "t.echo", "needs": ["a"], "output": "b"},
    {"id": "c", "agent": "t.echo", "needs": ["b"], "output": "c"},
]}
APPROVAL: dict[str, Any] = {"name": "approval", "steps": [
    {"id": "prepare", "agent": "t.echo"},
    {"id": "approve", "type": "wait", "signal": "approve", "needs": ["prepare"],
     "output": "approval"},
    {"id": "book", "agent": "t.echo", "needs": ["approve"]},
]}
BOOM: dict[str, Any] = {"name": "boom", "steps": [{"id": "only", "agent": "t.boom"}]}


def make_app(url: str, tenant: str = "default") -> App:
    app = App(url, tenant=tenant)

    @app.agent("t.echo")
    def echo(ctx: Any, data: Any) -> Any:
        ctx.log("echo", step=ctx.step_id)
        return {"step": ctx.step_id, "data": data}

    @app.agent("t.boom", name="boom", failure_threshold=1, cooldown="1h")
    def boom(ctx: Any, data: Any) -> Any:
        raise RuntimeError("boom")

    return app


def build_source(url: str) -> dict[str, str]:
    """Every kind of row the engine writes; returns the interesting execution ids."""
    ids: dict[str, str] = {}
    with make_app(url) as app:
        for flow in (CHAIN, APPROVAL, BOOM):
            app.apply(flow)
        ids["removed"] = app.start("chain", {"n": 0})
        app.run_until_idle()
        assert app.cleanup(0.0).removed == (ids["removed"],)
        ids["done"] = app.start("chain", {"n": 1})
        ids["done2"] = app.start("chain", {"n": 2})
        ids["signalled"] = app.start("approval")
        ids["waiting"] = app.start("approval")
        ids["failed"] = app.start("boom")
        ids["paused"] = app.start("chain", {"n": 3})
        app.pause(ids["paused"], reason="hold")
        app.run_until_idle()
        app.signal(ids["signalled"], "approve", {"by": "ann"})
        app.run_until_idle()
        after_b = next(e.seq for e in app.history(ids["done"])
                       if e.event_type == "step.completed" and e.step_id == "b")
        ids["fork"] = app.fork(ids["done"], at_seq=after_b, input_patch={"n": 9})
        app.run_until_idle()
        statuses = {k: app.status(v).status for k, v in ids.items() if k != "removed"}
        assert statuses == {"done": "completed", "done2": "completed",
                            "signalled": "completed", "waiting": "waiting",
                            "failed": "failed", "paused": "paused", "fork": "completed"}
    with make_app(url, tenant="acme") as other:
        other.apply(CHAIN)
        ids["acme"] = other.start("chain", {"n": 4})
        other.run_until_idle()
    return ids


# raw SQL on either database, to compare what the stores do not show ----------------------

def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def dump(url: str) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every table but schema_migrations: its columns and its rows, sorted."""
    out: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    if url.startswith("sqlite:"):
        with closing(sqlite3.connect(_sqlite_path(url))) as conn:
            names = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite%' AND name <> 'schema_migrations'")]
            for name in names:
                cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')]
                out[name] = cols, conn.execute(f'SELECT * FROM "{name}"').fetchall()
    else:
        with psycopg.connect(url) as pg:
            names = [r[0] for r in pg.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'schema_migrations'")]
            for name in names:
                cur = pg.execute(f'SELECT * FROM "{name}"')
                cols = [d.name for d in cur.description or []]
                out[name] = cols, cur.fetchall()
    return out


def assert_same_rows(source_url: str, target_url: str) -> dict[str, int]:
    source, target = dump(source_url), dump(target_url)
    assert set(source) == set(target)
    counts = {}
    for name, (scols, srows) in source.items():
        tcols, trows = target[name]
        common = [c for c in scols if c in tcols]
        assert set(scols) - set(common) <= {"rowid"} and set(tcols) - set(common) <= {"rowid"}

        def project(cols: list[str], rows: list[tuple[Any, ...]],
                    common: list[str] = common) -> list[tuple[Any, ...]]:
            at = [cols.index(c) for c in common]
            return sorted((tuple(r[i] for i in at) for r in rows), key=repr)

        assert project(scols, srows) == project(tcols, trows), name
        counts[name] = len(srows)
    return counts


# the four ways (the ``urls`` fixture) ---------------------------------------------------

def run_copy(source_url: str, target_url: str, **options: Any) -> copy.CopyReport:
    source = copy.open_source(source_url)
    try:
        target = copy.open_target(target_url)
        try:
            return copy.copy_database(source, target, **options)
        finally:
            target.close()
    finally:
        source.close()


def test_copy_moves_every_row_and_the_target_verifies_and_runs(
        urls: tuple[str, str]) -> None:
    source_url, target_url = urls
    ids = build_source(source_url)
    seen: dict[str, tuple[int, int]] = {}

    def progress(table: str, done: int, total: int) -> None:
        assert done <= total
        seen[table] = (done, total)

    report = run_copy(source_url, target_url, page=7, progress=progress)

    counts = assert_same_rows(source_url, target_url)
    assert report.tables == counts
    assert {t: done for t, (done, _) in seen.items()} == counts
    assert all(done == total for done, total in seen.values())
    for table in ("workflow_definitions", "executions", "step_runs", "state_versions",
                  "ledger_entries", "routing_decisions", "signals", "tombstones", "wakeups",
                  "breakers", "breaker_transitions", "agent_stats", "telemetry"):
        assert counts[table] > 0, f"the source has no {table} rows: the test proves little"
    assert list(report.tables)[:2] == ["workflow_definitions", "executions"]
    assert report.tenants == ["acme", "default"]

    with make_app(source_url) as old, make_app(target_url) as new:
        for key, eid in ids.items():
            if key in ("removed", "acme"):
                continue
            assert new.store.load_ledger(eid) == old.store.load_ledger(eid)
            assert new.store.load_steps(eid) == old.store.load_steps(eid)  # same order
            assert new.store.list_state_versions(eid) == old.store.list_state_versions(eid)
            assert new.store.load_signals(eid) == old.store.load_signals(eid)
            assert new.history(eid) == old.history(eid)
            assert new.status(eid).status == old.status(eid).status
        assert new.forks(ids["done"]) == [ids["fork"]]
        assert new.tombstones() == old.tombstones()
        results = list(new.verify_all())
        assert len(results) == 7 and all(r.ok for r in results)
        with pytest.raises(errors.ExecutionRemoved):
            new.verify(ids["removed"])
        assert new.store.last_wakeup() == old.store.last_wakeup()
        last_transition = new.store.breaker_transitions(1)[-1]

        # the copy is a working deployment: new ids follow the copied ones
        new.resume(ids["paused"])
        new.signal(ids["waiting"], "approve", {"by": "bob"})
        new.reset_breaker("boom")
        new.retry(ids["failed"])
        new.run_until_idle()
        assert new.status(ids["paused"]).status == "completed"
        assert new.status(ids["waiting"]).status == "completed"
        assert new.status(ids["failed"]).status == "failed"  # t.boom still fails
        assert new.store.last_wakeup() > old.store.last_wakeup()
        assert (new.store.breaker_transitions(100)[-1].id or 0) > (last_transition.id or 0)
        assert all(r.ok for r in new.verify_all())
    with App(target_url, tenant="acme") as acme:
        assert [r.ok for r in acme.verify_all()] == [True]


# refusals and failures -----------------------------------------------------------------

def test_refuses_a_target_that_holds_anything(tmp_path: Path, pg_url: str) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    build_source(source_url)
    with App(pg_url) as app:
        app.apply(CHAIN)
    before = dump(pg_url)
    with pytest.raises(errors.Conflict, match=r"is not empty: it holds 1 workflow_definitions"):
        run_copy(source_url, pg_url)
    assert dump(pg_url) == before


def test_refuses_a_missing_source_file_without_creating_it(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    with pytest.raises(errors.NotFound, match=r"source: database .*nothing.db does not exist"):
        copy.open_source(f"sqlite:///{missing}")
    assert not missing.exists()


def test_refuses_a_source_with_pending_migrations(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    App(url).close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("DELETE FROM schema_migrations WHERE version = "
                     "(SELECT max(version) FROM schema_migrations)")
    with pytest.raises(errors.MigrationRequired, match="source is not up to date: ") as info:
        copy.open_source(url)
    assert info.value.url == url  # kept through the "source: " prefix: the CLI's hint uses it
    assert re.search(rf"source is not up to date: .*run: ledgerflow --db {url} migrate",
                     hints.render(info.value))


def test_a_row_the_target_refuses_is_named_and_nothing_is_committed(
        tmp_path: Path, pg_url: str) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    build_source(source_url)
    with closing(sqlite3.connect(tmp_path / "source.db")) as conn, conn:
        # SQLite keeps text in an INTEGER column; PostgreSQL's BIGINT refuses it
        conn.executemany(
            "INSERT INTO agents VALUES (?, 'c', ?, 0, 1.0, 'h', ?, 't0', 't0')",
            [("w1", "a1", 1), ("w1", "a2", 2), ("w1", "a3", 3), ("w2", "bad", "not-a-pid")])
    with pytest.raises(errors.StorageError) as caught:
        run_copy(source_url, pg_url, page=3)
    message = str(caught.value)
    assert "copy failed at agents row 4 (worker_id='w2', capability='c', agent='bad')" in message
    assert "bigint" in message and "nothing was committed" in message
    assert "\n" not in message
    assert all(not rows for _, rows in dump(pg_url).values())


def test_same_database_is_recognised(tmp_path: Path) -> None:
    same: Callable[[str, str], bool] = copy.same_database
    assert same(f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/./a.db")
    assert not same(f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db")
    assert same("postgresql://u@h:5432/db", "postgres://u@h/db?pool_max_size=3")
    assert not same("postgresql://u@h/db", "postgresql://u@h/other")
    assert not same("postgresql://u@h/db", f"sqlite:///{tmp_path}/db")


def test_order_puts_referenced_tables_first_and_unknown_tables_last() -> None:
    def t(name: str, *refs: str) -> TableInfo:
        return TableInfo(name=name, columns=("x",), references=frozenset(refs))

    tables = {n.name: n for n in (
        t("zeta"), t("workers"), t("step_runs", "executions"), t("ledger_entries"),
        t("executions", "workflow_definitions"), t("workflow_definitions"),
        t("early", "zeta"), t("self", "self"))}
    order = order_tables(tables)
    assert order[:4] == ["workflow_definitions", "executions", "step_runs", "ledger_entries"]
    assert order.index("zeta") < order.index("early")
    assert set(order) == set(tables) and len(order) == len(tables)
