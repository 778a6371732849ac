"""``ledgerflow worker --tenant SLUG`` / ``--all-tenants`` through the command line: a
worker of one tenant runs that tenant's executions and leaves the others pending, one of
every tenant runs them all, ``workers`` says which tenant each works, an unknown tenant is
named with how to list and create them; on SQLite, workers of two tenants run side by side
while a worker of every tenant is refused beside them."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from ledgerflow import App
from tests.support import LEDGERFLOW, SAFETY, lf, lf_json, process_env, wait_for

FLOW = {"name": "hello", "steps": [{"id": "s", "agent": "tw.hello"}]}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "hello_agents.py").write_text(
        "import ledgerflow\n\n\n"
        "@ledgerflow.agent('tw.hello')\n"
        "def hello(ctx, data):\n"
        "    return {'hello': True}\n")
    return tmp_path


def _seed(db_url: str, *tenants: str) -> dict[str, str]:
    """An execution of ``hello`` in each tenant, by tenant (started from Python: the command
    line starts executions in the default tenant only)."""
    with App(db_url) as app:
        started = {}
        for tenant in tenants:
            view = app.for_tenant(tenant)
            view.apply(FLOW)
            started[tenant] = view.start("hello")
        return started


def _said(proc: subprocess.CompletedProcess[str]) -> str:
    """What a worker told the person running it (on stderr), on one line."""
    return " ".join(proc.stderr.split())


def _statuses(db_url: str, started: dict[str, str]) -> dict[str, str]:
    with App(db_url) as app:
        return {t: app.for_tenant(t).execution(e).status for t, e in started.items()}


def test_workers_per_tenant_and_for_every_tenant(folder: Path, backend_url: str) -> None:
    env = process_env(db=backend_url)
    lf(folder, "tenants", "create", "acme", env=env)
    lf(folder, "tenants", "create", "umbrella", env=env)
    started = _seed(backend_url, "acme", "umbrella", "default")
    worker = ("worker", "--agents", "hello_agents.py", "--until-idle")

    report = lf_json(folder, *worker, "--tenant", "acme", env=env)
    assert report["tenant"] == "acme" and report["all_tenants"] is False
    assert report["steps_run"] == 1
    assert _statuses(backend_url, started) == {
        "acme": "completed", "umbrella": "pending", "default": "pending"}

    said = _said(lf(folder, *worker, "--tenant", "umbrella", env=env))
    assert "worker for tenant umbrella stopped: 1 step(s) run" in said
    assert _statuses(backend_url, started) == {
        "acme": "completed", "umbrella": "completed", "default": "pending"}

    listed = lf_json(folder, "workers", "--all", env=env)
    assert [w["tenant"] for w in listed] == ["acme", "umbrella"]  # oldest first
    assert "umbrella" in lf(folder, "workers", "--all", env=env).stdout


def test_all_tenants_runs_every_tenants_executions(folder: Path, backend_url: str) -> None:
    env = process_env(db=backend_url)
    started = _seed(backend_url, "acme", "default")
    report = lf_json(folder, "worker", "--agents", "hello_agents.py", "--until-idle",
                     "--all-tenants", env=env)
    assert report["tenant"] is None and report["all_tenants"] is True
    assert report["steps_run"] == 2
    assert set(_statuses(backend_url, started).values()) == {"completed"}
    table = lf(folder, "workers", "--all", env=env).stdout
    assert "all tenants" in table


def test_no_tenant_flag_works_the_default_tenant(folder: Path, db_url: str) -> None:
    env = process_env(db=db_url)
    started = _seed(db_url, "acme", "default")
    said = _said(lf(folder, "worker", "--agents", "hello_agents.py", "--until-idle", env=env))
    assert "worker for tenant default stopped: 1 step(s) run" in said
    assert _statuses(db_url, started) == {"acme": "pending", "default": "completed"}


def test_an_unknown_tenant_is_named_with_how_to_list_and_create_them(
        folder: Path, db_url: str) -> None:
    env = process_env(db=db_url)
    lf(folder, "tenants", "create", "acme", env=env)
    proc = lf(folder, "worker", "--until-idle", "--tenant", "acme-corp", check=False, env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: no tenant 'acme-corp' (tenants: acme, default)")
    assert "ledgerflow tenants list" in proc.stderr
    assert "ledgerflow tenants create acme-corp" in proc.stderr
    assert "Traceback" not in proc.stderr
    both = lf(folder, "worker", "--tenant", "acme", "--all-tenants", check=False, env=env)
    assert both.returncode == 2 and "--tenant and --all-tenants exclude each other" in \
        both.stderr


def test_sqlite_runs_workers_of_two_tenants_side_by_side(folder: Path, tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    url = f"sqlite:///{database}"
    env = process_env(db=url)
    for tenant in ("acme", "umbrella"):
        lf(folder, "tenants", "create", tenant, env=env)
    started = _seed(url, "acme", "umbrella")
    first = subprocess.Popen([str(LEDGERFLOW), "worker", "--tenant", "acme", "--agents",
                              "hello_agents.py"], env=env, cwd=folder,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lock = tmp_path / "shared.db.worker.acme.lock"
        wait_for(lambda: first.poll() is not None or
                 (lock.exists() and lock.read_text() == str(first.pid)),
                 what="the acme worker's lock")
        assert first.poll() is None, first.communicate()
        wait_for(lambda: _statuses(url, started)["acme"] == "completed",
                 what="acme's execution")
        beside = lf(folder, "worker", "--tenant", "umbrella", "--agents", "hello_agents.py",
                    "--until-idle", env=env)
        assert "worker for tenant umbrella stopped: 1 step(s) run" in _said(beside)
        every = lf(folder, "worker", "--all-tenants", "--until-idle", check=False, env=env)
        twice = lf(folder, "worker", "--tenant", "acme", "--until-idle", check=False, env=env)
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=SAFETY)
    assert _statuses(url, started) == {"acme": "completed", "umbrella": "completed"}
    assert every.returncode == 1
    assert every.stderr.startswith(f"error: workers of single tenants already drive {database};")
    assert every.stderr.endswith(" — see them with: ledgerflow workers\n")
    assert twice.returncode == 1
    assert f"another worker (pid {first.pid}) already drives tenant 'acme' of {database}" in \
        twice.stderr
    assert "worker.lock" not in every.stderr + twice.stderr
