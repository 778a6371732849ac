"""Mixed workers through the command line: a worker that lacks a step's capability never
fails it; the step waits (one ledger entry), ``status`` says for what, and a worker offering
it completes it later (SQLite: one worker after the other; PostgreSQL: side by side)."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from ledgerflow import App
from tests.support import (
    LEDGERFLOW,
    SAFETY,
    Background,
    cli_env,
    lf,
    lf_json,
    process_env,
    wait_for,
)

ALPHA = {"name": "alpha", "steps": [{"id": "s", "agent": "mixed.alpha"}]}
BETA = {"name": "beta", "steps": [{"id": "s", "agent": "mixed.beta"}]}
WAITING = "waiting for an agent offering mixed.beta"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two workflows whose agents live in two modules, and a module with no agent."""
    for name in ("alpha", "beta"):
        (tmp_path / f"{name}_agents.py").write_text(
            "import ledgerflow\n\n\n"
            f"@ledgerflow.agent('mixed.{name}')\n"
            f"def {name}(ctx, data):\n"
            f"    return {{'by': '{name}'}}\n")
    (tmp_path / "empty_agents.py").write_text('"""No agent here."""\n')
    (tmp_path / "alpha.yaml").write_text(json.dumps(ALPHA))
    (tmp_path / "beta.yaml").write_text(json.dumps(BETA))
    return tmp_path


def setup(cwd: Path, env: dict[str, str], count: int = 1) -> tuple[list[str], list[str]]:
    for name in ("alpha", "beta"):
        lf(cwd, "apply", f"{name}.yaml", env=env)
    betas = [lf(cwd, "start", "beta", env=env).stdout.strip() for _ in range(count)]
    alphas = [lf(cwd, "start", "alpha", env=env).stdout.strip() for _ in range(count)]
    return alphas, betas


def waits(cwd: Path, env: dict[str, str], eid: str) -> list[dict[str, Any]]:
    history = lf_json(cwd, "history", eid, env=env)
    assert not [e for e in history if e["event_type"] in ("step.failed", "step.deferred")]
    return [e["payload"] for e in history if e["event_type"] == "step.waiting_for_agent"]


def status(cwd: Path, env: dict[str, str], eid: str) -> dict[str, Any]:
    report: dict[str, Any] = lf_json(cwd, "status", eid, env=env)
    return report


def test_sqlite_workers_one_after_the_other_each_complete_their_own(folder: Path) -> None:
    env = cli_env(folder)
    (alpha,), (beta,) = setup(folder, env)
    first = lf(folder, "worker", "--agents", "alpha_agents.py", "--until-idle", env=env)
    assert "failed" not in first.stderr
    assert status(folder, env, alpha)["status"] == "completed"
    report = status(folder, env, beta)
    assert (report["status"], report["steps"][0]["status"]) == ("running", "pending")
    assert report["waiting_for_agents"] == [{
        "step": "s", "capability": "mixed.beta", "offered_by": [],
        "message": f"{WAITING} (none running)"}]
    assert f"step s is {WAITING} (none running)" in lf(folder, "status", beta, env=env).stdout
    # the same worker again, and a run of the other workflow: the wait is not recorded twice
    lf(folder, "worker", "--agents", "alpha_agents.py", "--until-idle", env=env)
    lf(folder, "run", "alpha", "--agents", "alpha_agents.py", env=env)
    assert waits(folder, env, beta) == [{"capability": "mixed.beta"}]
    lf(folder, "worker", "--agents", "beta_agents.py", "--until-idle", env=env)
    report = status(folder, env, beta)
    assert report["status"] == "completed" and report["waiting_for_agents"] == []
    assert waits(folder, env, beta) == [{"capability": "mixed.beta"}]
    assert status(folder, env, alpha)["status"] == "completed"
    lf(folder, "verify", "--all", env=env)


def test_postgres_workers_side_by_side_hand_each_other_their_steps(
        folder: Path, pg_url: str) -> None:
    env = process_env(db=pg_url)
    alphas, betas = setup(folder, env, count=3)
    started: list[subprocess.Popen[bytes]] = []

    def worker(module: str) -> None:
        started.append(subprocess.Popen(
            [str(LEDGERFLOW), "worker", "--agents", module, "-q"], cwd=folder, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    try:
        worker("alpha_agents.py")  # alone: it claims all six, runs three, hands three over
        wait_for(lambda: all(status(folder, env, e)["waiting_for_agents"] for e in betas),
                 what="the beta steps waiting for an agent")
        assert f"{WAITING} (none running)" in lf(folder, "status", betas[0], env=env).stdout
        worker("beta_agents.py")
        wait_for(lambda: all(status(folder, env, e)["status"] == "completed"
                             for e in alphas + betas),
                 what="every execution completed")
    finally:
        for proc in started:
            proc.terminate()
            proc.wait(timeout=SAFETY)
    for eid in betas:
        assert waits(folder, env, eid) == [{"capability": "mixed.beta"}]
    for eid in alphas:
        assert waits(folder, env, eid) == []
    lf(folder, "verify", "--all", env=env)


def test_status_names_the_live_worker_offering_what_a_step_waits_for(
        folder: Path, pg_url: str) -> None:
    env = process_env(db=pg_url)
    gate = threading.Event()
    with App(pg_url) as app:
        @app.agent("mixed.beta")
        def beta(ctx: Any, data: Any) -> Any:
            gate.wait(SAFETY)
            return {"by": "beta"}

        app.apply(BETA)
        first = app.start("beta")
        with Background(app, concurrency=1):  # its only slot taken: it claims no more
            wait_for(lambda: app.status(first).steps[0].status == "running",
                     what="the first execution running")
            second = lf(folder, "start", "beta", env=env).stdout.strip()  # not in its queue
            lf(folder, "worker", "--agents", "alpha_agents.py", "--until-idle", env=env)
            report = app.status(second)
            workers = [w.id for w in app.workers() if "mixed.beta" in w.capabilities]
            assert len(workers) == 1
            assert report.waiting_for_agents == ({
                "step": "s", "capability": "mixed.beta", "offered_by": workers,
                "message": f"{WAITING} (offered by worker {workers[0]})"},)
            shown = " ".join(lf(folder, "status", second, env=env).stdout.split())
            assert f"{WAITING} (offered by worker {workers[0]})" in shown
            gate.set()
            wait_for(lambda: app.status(second).status == "completed",
                     what="the second execution completed by the worker offering it")
        assert [e.payload for e in app.history(second)
                if e.event_type == "step.waiting_for_agent"] == [{"capability": "mixed.beta"}]


@pytest.mark.parametrize("command", [("worker", "--until-idle"), ("run", "alpha")])
def test_an_agents_module_that_registers_nothing_is_refused(
        folder: Path, command: tuple[str, ...]) -> None:
    env = cli_env(folder)
    setup(folder, env)
    proc = lf(folder, *command, "--agents", "alpha_agents.py,empty_agents.py", env=env,
              check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: agents module 'empty_agents.py' registers no agent: decorate its handlers "
        "with @ledgerflow.agent(\"capability\")"]


def test_run_without_agents_names_the_capabilities_it_needs(folder: Path) -> None:
    env = cli_env(folder)
    (folder / "both.yaml").write_text(json.dumps({"name": "both", "steps": [
        {"id": "a", "agent": "mixed.alpha"}, {"id": "b", "agent": "mixed.beta"}]}))
    lf(folder, "apply", "both.yaml", env=env)
    proc = lf(folder, "run", "both", env=env, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: run needs agents: workflow 'both' asks for mixed.alpha, mixed.beta; pass "
        "--agents MODULE[,MODULE…] with modules that register them"]
    assert lf_json(folder, "list", env=env) == []  # nothing was started
