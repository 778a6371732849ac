"""Workers per tenant: a worker works its app's tenant's executions only, or every tenant's
with ``all_tenants``; the registry says which. On both backends; the lock files that let
workers of different tenants share one SQLite file, on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledgerflow import App, errors
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.agent_rows import AgentRow, WorkerRow
from ledgerflow.storage.base import Store
from tests.support import SAFETY, until_idle

ECHO = {"name": "echo",
        "steps": [{"id": "a", "agent": "t.echo", "input": {"tenant": "${input.tenant}"}}]}


def _one_each(app: App, *tenants: str) -> dict[str, str]:
    """An execution of ``echo`` in each tenant (``default``: the app's own), by tenant."""
    started = {}
    for tenant in tenants:
        view = app.for_tenant(tenant)
        view.apply(ECHO)
        started[tenant] = view.start("echo", {"tenant": tenant})
    return started


def _statuses(app: App, started: dict[str, str]) -> dict[str, str]:
    return {t: app.for_tenant(t).execution(eid).status for t, eid in started.items()}


def test_a_worker_of_one_tenant_leaves_the_others_pending(app: App) -> None:
    started = _one_each(app, "acme", "umbrella", "default")
    assert until_idle(app.for_tenant("acme")).steps_run == 1
    assert _statuses(app, started) == {
        "acme": "completed", "umbrella": "pending", "default": "pending"}
    assert until_idle(app.for_tenant("umbrella")).steps_run == 1
    assert _statuses(app, started) == {
        "acme": "completed", "umbrella": "completed", "default": "pending"}
    assert until_idle(app).steps_run == 1  # the default tenant's worker: the app's own
    assert set(_statuses(app, started).values()) == {"completed"}


def test_a_worker_of_every_tenant_runs_them_all(app: App) -> None:
    started = _one_each(app, "acme", "umbrella", "default")
    assert app.run_until_idle(all_tenants=True).steps_run == 3
    assert set(_statuses(app, started).values()) == {"completed"}


def test_the_registry_says_which_tenant_each_worker_works(app: App) -> None:
    # (a worker is registered as host:pid: the next one of this process replaces it)
    app.for_tenant("acme").run_until_idle()
    assert [w.to_dict()["tenant"] for w in app.workers(everyone=True)] == ["acme"]
    app.run_until_idle(all_tenants=True)
    assert [w.to_dict()["tenant"] for w in app.workers(everyone=True)] == [None]


def test_a_launched_worker_does_not_adopt_another_tenants_start(app: App) -> None:
    app.apply(ECHO)
    acme = app.for_tenant("acme")
    acme.apply(ECHO)
    app.launch()  # stopped when the fixture closes the app
    theirs = acme.start("echo", {"tenant": "acme"})
    assert acme.execution(theirs).status == "pending"  # not activated by default's worker
    assert app.result(app.start("echo", {"tenant": "default"}), timeout=SAFETY)["step"] == "a"
    assert acme.execution(theirs).status == "pending"  # nor claimed later


# SQLite: one worker per tenant, or one of every tenant alone --------------------------------
def test_workers_of_two_tenants_share_one_sqlite_file(db_url: str) -> None:
    with App(db_url) as app:
        acme, umbrella = app.for_tenant("acme"), app.for_tenant("umbrella")
        for view in (acme, umbrella):
            view.apply(ECHO)
        app.agent("t.echo")(lambda ctx, data: {"tenant": data["tenant"]})
        acme.launch()
        umbrella.launch()  # beside it: refused if they shared one lock
        try:
            mine = acme.start("echo", {"tenant": "acme"})
            theirs = umbrella.start("echo", {"tenant": "umbrella"})
            assert acme.result(mine, timeout=SAFETY) == {"tenant": "acme"}
            assert umbrella.result(theirs, timeout=SAFETY) == {"tenant": "umbrella"}
        finally:
            acme.close()
            umbrella.close()


def test_a_second_worker_of_one_tenant_is_refused_naming_it(db_url: str) -> None:
    with App(db_url) as app, app.store.worker_lock("acme"):
        with pytest.raises(errors.WorkerLockHeld) as held:
            app.store.worker_lock("acme").acquire()
        with app.store.worker_lock("umbrella"):  # another tenant's: free
            pass
    with App(db_url) as app, app.store.worker_lock():  # the refused one kept nothing held
        pass
    assert "already drives tenant 'acme'" in str(held.value)
    assert "one worker at a time for each tenant" in str(held.value)
    assert held.value.tenant == "acme" and held.value.holder is not None


def test_a_worker_of_every_tenant_and_one_of_a_tenant_exclude_each_other(
        db_url: str) -> None:
    with App(db_url) as app:
        with app.store.worker_lock("acme"), pytest.raises(errors.WorkerLockHeld) as every:
            app.store.worker_lock().acquire()
        with app.store.worker_lock(), pytest.raises(errors.WorkerLockHeld) as single:
            app.store.worker_lock("acme").acquire()
        with app.store.worker_lock("acme"):  # both refusals left nothing held behind
            pass
    assert str(every.value).startswith("workers of single tenants already drive ")
    assert every.value.holder is None and every.value.tenant is None
    assert "for every tenant" in str(single.value) and single.value.tenant == "acme"


def test_an_every_tenant_worker_cannot_launch_beside_a_tenants_worker(db_url: str) -> None:
    with App(db_url) as app:
        app.launch()  # the default tenant's
        with App(db_url) as other, pytest.raises(errors.WorkerLockHeld) as held:
            other.launch(all_tenants=True)
    assert "workers of single tenants" in str(held.value)


def _offering(store: Store, worker_id: str, tenant: str | None, capability: str) -> None:
    """A live worker of ``tenant`` (None: of every tenant) offering ``capability``."""
    now = format_timestamp(datetime.now(UTC))
    store.register_worker(WorkerRow(
        id=worker_id, host="elsewhere", pid=1, status="running",
        capabilities=f'["{capability}"]', concurrency=1, lease_seconds=60.0,
        started_at=now, heartbeat_at=now, tenant_scope=tenant))
    store.register_agents(worker_id, [AgentRow(
        worker_id=worker_id, capability=capability, agent="a", priority=0, weight=1.0,
        host="elsewhere", pid=1, started_at=now, seen_at=now)])


def test_a_waiting_step_names_only_workers_that_may_take_it(pg_url: str) -> None:
    """PostgreSQL: a step no worker here offers waits for one that does; ``status`` names
    the live workers offering it of this tenant or of every tenant, not another tenant's."""
    with App(pg_url) as app:
        acme = app.for_tenant("acme")
        acme.apply({"name": "far", "steps": [{"id": "s", "agent": "t.far"}]})
        eid = acme.start("far")
        _offering(app.store, "umbrella-worker", "umbrella", "t.far")
        until_idle(acme)  # offers nothing: the step waits
        waits = acme.status(eid).waiting_for_agents
        assert [w["offered_by"] for w in waits] == [[]]
        _offering(app.store, "pool-worker", None, "t.far")
        _offering(app.store, "acme-worker", "acme", "t.far")
        waits = acme.status(eid).waiting_for_agents
        assert sorted(waits[0]["offered_by"]) == ["acme-worker", "pool-worker"]
