"""Every tenant-owned row names its tenant (migration 0013), on both backends; a database
of the version before gets its rows' tenants from their executions and keeps its ledger
append-only. On PostgreSQL, row-level security holds a store scoped to one tenant to that
tenant's rows, even through a query that forgot the tenant, for an ordinary role that owns
the tables (a superuser is never held to row-level security)."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from ledgerflow import App, errors
from ledgerflow.engine.model.transition import Transition
from ledgerflow.engine.rules import actions
from ledgerflow.storage import migrations, open_store
from ledgerflow.storage.base import Store
from tests.conftest import PgServer
from tests.storage.conftest import (
    OTHER_TENANT,
    TENANT,
    Changes,
    activation,
    postgres_execute,
    sqlite_execute,
    write_as_before,
)
from tests.support import Agents

OWNED = ("step_runs", "state_versions", "routing_decisions", "ledger_entries", "signals",
         "wakeups")
FLOW = {"name": "flow", "steps": [{"id": "a", "agent": "t.echo"},
                                  {"id": "w", "type": "wait", "signal": "go", "needs": ["a"]}]}


def tenants_of(rows: list[tuple[Any, ...]]) -> dict[str, set[str]]:
    """table -> the tenants of its rows (from ``(table, execution_id, tenant_id)`` rows)."""
    found: dict[str, set[str]] = {}
    for table, _, tenant in rows:
        found.setdefault(table, set()).add(tenant)
    return found


def test_new_rows_carry_their_executions_tenant(store: Store, changes: Changes) -> None:
    new = changes.new("e1", tenant=OTHER_TENANT)
    assert store.commit([new, activation(changes.view_of_new(new)).change]) == [True, True]
    row = store.load_execution(OTHER_TENANT, "e1")
    assert row is not None
    # a read through every table by execution: each row says the execution's tenant
    seen = {t: _tenants(store, t, "e1") for t in ("step_runs", "ledger_entries",
                                                     "state_versions")}
    assert seen == {t: {OTHER_TENANT} for t in seen}


def _tenants(store: Store, table: str, execution_id: str) -> set[str]:
    sql = f"SELECT tenant_id FROM {table} WHERE execution_id = ?"
    if store.url.startswith("sqlite"):
        with closing(sqlite3.connect(urlsplit(store.url).path)) as conn:
            return {r[0] for r in conn.execute(sql, (execution_id,))}
    with psycopg.connect(store.url) as conn:
        return {r[0] for r in conn.execute(sql.replace("?", "%s"), (execution_id,))}


# upgrading a database of the version before -------------------------------------------------

def _upgraded(url: str, execute: Callable[[str, list[dict[str, Any]]], None],
              monkeypatch: pytest.MonkeyPatch) -> Store:
    """A version-12 database holding an execution of each of two tenants with its steps,
    ledger and first state version, written as that version wrote them (no tenant on those
    rows), then migrated."""
    known = migrations.discover("sqlite" if url.startswith("sqlite") else "postgres")
    assert [m.name for m in known[12:13]] == ["tenant_rows"]
    monkeypatch.setattr(migrations, "discover", lambda dialect: known[:12])
    old = open_store(url, migrate=True)
    try:
        made = [Changes(old).new(eid, tenant=t) for eid, t in (("a1", TENANT),
                                                                ("b1", OTHER_TENANT))]
    finally:
        old.close()
    for change in made:
        write_as_before(execute, [change])
        version = dataclasses.asdict(change.state_version)
        execute("INSERT INTO state_versions (execution_id, version, seq, state, sha256, "
                "created_at, kind) VALUES (:execution_id, :version, :seq, :state, :sha256, "
                ":created_at, :kind)", [version])
    monkeypatch.undo()
    return open_store(url, migrate=True)


def _check_upgraded(store: Store, refuse_update: Callable[[], None]) -> None:
    try:
        for eid, tenant in (("a1", TENANT), ("b1", OTHER_TENANT)):
            for table in ("step_runs", "ledger_entries", "state_versions"):
                assert _tenants(store, table, eid) == {tenant}, (table, eid)
            assert store.load_ledger(eid)  # still read as before
        refuse_update()  # the ledger's UPDATE guard is back
    finally:
        store.close()


def test_an_upgraded_sqlite_database_names_each_rows_tenant(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    execute = sqlite_execute(path)

    def refuse_update() -> None:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            execute("UPDATE ledger_entries SET tenant_id = 'x'", [{}])

    _check_upgraded(_upgraded(f"sqlite:///{path}", execute, monkeypatch), refuse_update)


def test_an_upgraded_postgresql_database_names_each_rows_tenant(
        pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    name = pg_server.create(template=False)
    url = pg_server.url(name)
    execute = postgres_execute(url)

    def refuse_update() -> None:
        with pytest.raises(psycopg.Error, match="append-only"):
            execute("UPDATE ledger_entries SET tenant_id = 'x'", [{}])

    try:
        _check_upgraded(_upgraded(url, execute, monkeypatch), refuse_update)
    finally:
        pg_server.drop(name)


# row-level security -------------------------------------------------------------------------

def test_a_scoped_store_sees_and_writes_only_its_tenants_rows(owner_url: str,
                                                               agents: Agents) -> None:
    app = App(owner_url, migrate=True)
    agents.register(app)
    try:
        app.access.create_tenant("acme")
        app.apply(FLOW)
        mine = app.start("flow", {"who": "default"})
        acme = app.for_tenant("acme")
        acme.apply(FLOW)
        theirs = acme.start("flow", {"who": "acme"})
        app.run_until_idle(all_tenants=True)  # a worker (no tenant set) runs both
        assert {app.status(mine).status, acme.status(theirs).status} == {"waiting"}

        scoped = app.store.scoped("acme")
        # reads that name no tenant, as a forgetful query would: another tenant's rows
        # are not there
        assert scoped.load_execution_any_tenant(mine) is None
        assert scoped.load_ledger(mine) == [] and scoped.load_steps(mine) == []
        assert scoped.list_state_versions(mine) == []
        assert scoped.load_execution_any_tenant(theirs) is not None
        assert scoped.load_ledger(theirs) == app.store.load_ledger(theirs)
        # a change to another tenant's execution finds no row to guard: nothing is written
        tr = Transition.begin(Changes(app.store).view(mine, tenant="default"),
                              datetime.now(UTC), app.actor)
        actions.pause(tr, "from the wrong tenant")
        assert scoped.commit([tr.build().change]) == [False]
        assert app.status(mine).status == "waiting"
        # and a row written for another tenant is refused by the database
        with pytest.raises(errors.StorageError, match="row-level security"):
            scoped.commit([Changes(app.store).new("planted", tenant="default")])
        assert app.head_seq("planted") is None
        # the tenant's own engine works through the scoped store, and leaves the other alone
        acme.signal(theirs, "go")
        with pytest.raises(errors.ExecutionNotFound):
            acme.signal(mine, "go")
        app.run_until_idle(all_tenants=True)
        assert acme.status(theirs).status == "completed"
        assert app.status(mine).status == "waiting" and app.verify(mine).ok
        assert acme.verify(theirs).ok
    finally:
        app.close()
