"""The command line imports only what a command needs: ``--version``, ``--help`` and the
reads of an SQLite database never load the PostgreSQL driver, JSON Schema or CEL.

Each command runs as a user runs it (the installed script, this tree's ``src`` first on the
path) with Python's import profiler on, whose report names every module the process
imported. The same probe sees those libraries where a command does need them, so the
checks below cannot pass by looking in the wrong place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEDGERFLOW = Path(sys.executable).with_name("ledgerflow")
HEAVY = {"psycopg", "jsonschema", "lark"}

# an input schema and a condition: compiling this definition needs JSON Schema and CEL
FLOW = """
name: gated
input_schema: {type: object, required: [n]}
steps:
  - {id: a, agent: t.work, when: "input.n > 1"}
  - {id: b, type: wait, signal: go, needs: [a]}
"""


def run(tmp: Path, *args: str, env: dict[str, str] | None = None,
        ) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``ledgerflow ARGS`` (``env``: more environment); its result and every module it
    imported."""
    env = dict(os.environ, LEDGERFLOW_DB=f"sqlite:///{tmp / 'cli.db'}",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
               PYTHONPROFILEIMPORTTIME="1", **(env or {}))
    proc = subprocess.run([str(LEDGERFLOW), *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp)
    report = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    modules = {line.rsplit("|", 1)[1].strip() for line in report[1:]}  # [0] is the header
    assert "ledgerflow.cli.lazy" in modules  # this tree's CLI ran, and the report was read
    return proc, modules


def packages(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.fixture
def execution(tmp_path: Path) -> tuple[Path, str]:
    """A database with one execution of ``gated``; starting it loaded JSON Schema and CEL."""
    (tmp_path / "gated.yaml").write_text(FLOW)
    applied, _ = run(tmp_path, "apply", "gated.yaml")
    assert applied.returncode == 0, applied.stderr
    started, modules = run(tmp_path, "start", "gated", "--input", '{"n": 1}')
    assert started.returncode == 0, started.stderr
    assert {"jsonschema", "lark"} <= packages(modules)  # the probe sees them when used
    return tmp_path, started.stdout.strip()


def test_version_loads_no_engine_and_no_heavy_library(tmp_path: Path) -> None:
    proc, modules = run(tmp_path, "--version")
    assert (proc.returncode, proc.stdout) == (0, "ledgerflow, version 0.1.0\n")
    assert not packages(modules) & (HEAVY | {"rich", "yaml"})
    assert {m for m in modules if m.startswith("ledgerflow.")} <= {
        "ledgerflow.errors", "ledgerflow.errors.core", "ledgerflow.errors.storage",
        "ledgerflow.errors.access", "ledgerflow._lazy", "ledgerflow.cli", "ledgerflow.cli.main",
        "ledgerflow.cli.lazy", "ledgerflow.settings"}


def test_help_lists_every_command_without_importing_one(tmp_path: Path) -> None:
    proc, modules = run(tmp_path, "--help")
    assert proc.returncode == 0
    assert "status     Status, progress, timing and steps of an execution." in proc.stdout
    assert not packages(modules) & (HEAVY | {"rich", "yaml"})
    assert not {m for m in modules if m.startswith(("ledgerflow.engine", "ledgerflow.storage",
                                                    "ledgerflow.cli.executions"))}


@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["list"]])
def test_reads_of_an_sqlite_database_load_no_heavy_library(
        execution: tuple[Path, str], command: list[str]) -> None:
    tmp, execution_id = execution
    args = [*command, execution_id] if command[0] == "status" else command
    proc, modules = run(tmp, *args)
    assert proc.returncode == 0, proc.stderr
    assert execution_id in proc.stdout
    assert not packages(modules) & HEAVY
    assert "ledgerflow.engine.worker.loop" not in modules


# what a read never needs: the agents and the routing they configure, the worker, waiting
# for results, the operator rules and state edits (with their JSON patch libraries), logging
READS_NEVER = ("ledgerflow.routing", "ledgerflow.engine.agents", "ledgerflow.engine.worker",
               "ledgerflow.engine.app.running", "ledgerflow.engine.rules.actions",
               "ledgerflow.engine.rules.starting", "ledgerflow.engine.control.commands",
               "ledgerflow.engine.control.editing", "jsonpatch", "json_merge_patch",
               "logging", "yaml")


@pytest.mark.parametrize("command", [["status"], ["status", "--json"], ["list"],
                                     ["history"]])
def test_reads_load_none_of_the_engine_they_do_not_use(
        execution: tuple[Path, str], command: list[str]) -> None:
    tmp, execution_id = execution
    args = [command[0], execution_id, *command[1:]] if command[0] != "list" else command
    proc, modules = run(tmp, *args)
    assert proc.returncode == 0, proc.stderr
    assert (execution_id if command[0] != "history" else "seq") in proc.stdout
    loaded = sorted(m for m in modules
                    if any(m == p or m.startswith(f"{p}.") for p in READS_NEVER))
    assert loaded == []


@pytest.mark.parametrize("command", [["status"], ["status", "--json"]])
def test_a_piped_status_loads_no_rich(execution: tuple[Path, str], command: list[str]) -> None:
    """Without colour ``status`` prints its table as plain text (the bytes rich would print,
    which ``tests/unit/test_plain_status.py`` holds equal), so rich never loads."""
    tmp, execution_id = execution
    proc, modules = run(tmp, command[0], execution_id, *command[1:])
    assert proc.returncode == 0, proc.stderr
    assert "rich" not in packages(modules)
    if "--json" not in command:
        assert "│ a    │ pending │ 0        │" in proc.stdout
        assert proc.stdout.startswith(f"{execution_id}  gated v1  ")


def test_a_status_in_colour_is_rendered_by_rich(execution: tuple[Path, str]) -> None:
    """The probe's other half: with colour forced, rich renders (and is seen loading)."""
    tmp, execution_id = execution
    proc, modules = run(tmp, "status", execution_id, env={"FORCE_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "rich" in packages(modules)
    assert "\x1b[" in proc.stdout


def test_an_operator_command_does_load_what_reads_leave_out(
        execution: tuple[Path, str]) -> None:
    """The probe's other half: ``pause`` needs the operator rules, and the check above
    would see them."""
    tmp, execution_id = execution
    proc, modules = run(tmp, "pause", execution_id)
    assert proc.returncode == 0, proc.stderr
    assert {"ledgerflow.engine.rules.actions", "ledgerflow.engine.control.commands"} <= modules


def test_a_postgresql_url_does_load_the_driver(tmp_path: Path) -> None:
    """The probe's other half for psycopg: nothing listens on port 1, but the driver loads
    to find that out."""
    proc, modules = run(tmp_path, "--db", "postgresql://postgres@127.0.0.1:1/none", "list")
    assert proc.returncode == 1
    assert "cannot connect" in proc.stderr
    assert "psycopg" in packages(modules)
