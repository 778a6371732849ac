"""``ledgerflow db copy`` as a user runs it: the demo's SQLite file moved to PostgreSQL (and
back), then ``verify --all``, ``status`` and ``history`` on the copy; every refusal is one
line on stderr, never a traceback."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests import support
from tests.conftest import PgServer


def lf(tmp: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``ledgerflow ARGS`` with no database in the environment: every command names one."""
    return support.lf(tmp, *args, check=check, env=support.process_env())


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run once: four open sessions, signals, decisions, breakers, telemetry."""
    tmp = tmp_path_factory.mktemp("demo")
    lf(tmp, "--db", "sqlite:///demo.db", "demo")
    return tmp / "demo.db"


@pytest.fixture
def source(demo_db: Path, tmp_path: Path) -> str:
    copy = tmp_path / "source.db"
    with closing(sqlite3.connect(demo_db)) as src, closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
    return f"sqlite:///{copy}"


@pytest.fixture
def empty_pg(pg_server: PgServer) -> Iterator[str]:
    """A database with no schema at all: the copy migrates it."""
    name = pg_server.create(template=False)
    yield pg_server.url(name)
    pg_server.drop(name)


def ids(tmp: Path, url: str) -> list[str]:
    return [e["id"] for e in json.loads(lf(tmp, "--db", url, "list", "--json").stdout)]


def status(tmp: Path, url: str, eid: str) -> Any:
    report = json.loads(lf(tmp, "--db", url, "status", eid, "--json").stdout)
    report.pop("timing")  # durations of what is still open grow with the clock
    for step in report["steps"]:
        step.pop("duration_seconds", None)
    return report


def test_demo_to_postgresql_and_back_verifies_and_shows_the_same(
        tmp_path: Path, source: str, empty_pg: str) -> None:
    proc = lf(tmp_path, "db", "copy", source, empty_pg)
    assert proc.stdout.strip().splitlines()[-1] == f"next: ledgerflow --db {empty_pg} verify --all"
    assert "copied ledger_entries:" in proc.stderr  # progress, a line per table off a terminal
    assert "ok: 4 execution(s)" in lf(tmp_path, "--db", empty_pg, "verify", "--all").stdout

    back = f"sqlite:///{tmp_path / 'back.db'}"
    summary = json.loads(lf(tmp_path, "db", "copy", empty_pg, back, "--json", "--verify").stdout)
    assert set(summary) == {"source", "target", "tables", "seconds", "verify"}
    assert summary["target"] == back and summary["tables"]["executions"] == 4
    assert summary["verify"]["default"]["ok"] and summary["verify"]["default"]["checked"] == 4

    executions = ids(tmp_path, source)
    assert len(executions) == 4
    for url in (empty_pg, back):
        assert ids(tmp_path, url) == executions
    for eid in executions:
        history = lf(tmp_path, "--db", source, "history", eid, "--json").stdout
        shown = status(tmp_path, source, eid)
        for url in (empty_pg, back):
            assert lf(tmp_path, "--db", url, "history", eid, "--json").stdout == history
            assert status(tmp_path, url, eid) == shown
    # a worker carries on where the source stopped: the copy is a working deployment
    first = executions[-1]
    lf(tmp_path, "--db", empty_pg, "signal", first, "close")
    lf(tmp_path, "--db", empty_pg, "worker", "--agents", "ledgerflow.demo.agents",
       "--until-idle")
    assert status(tmp_path, empty_pg, first)["status"] == "completed"
    assert "ok: 4 execution(s)" in lf(tmp_path, "--db", empty_pg, "verify", "--all").stdout


def test_verify_after_the_copy_fails_on_a_tampered_ledger(tmp_path: Path, source: str,
                                                           pg_url: str) -> None:
    with closing(sqlite3.connect(source.removeprefix("sqlite:///"))) as conn, conn:
        conn.execute("DROP TRIGGER ledger_entries_no_update")
        conn.execute("UPDATE ledger_entries SET body = replace(body, 'onboarding', 'x') "
                     "WHERE seq = 1 AND execution_id = (SELECT min(id) FROM executions)")
    proc = lf(tmp_path, "db", "copy", source, pg_url, "--verify", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "FAIL tenant default: execution" in proc.stdout
    assert "1 of 4 execution(s) failed verification" in proc.stdout
    assert lf(tmp_path, "--db", pg_url, "verify", "--all", check=False).returncode == 1


def test_refusals_are_one_line(tmp_path: Path, source: str, pg_url: str) -> None:
    target = tmp_path / "target.db"
    error = one_line_error(lf(tmp_path, "db", "copy", "mysql://db/x", f"sqlite:///{target}",
                              check=False))
    assert "unsupported database URL scheme 'mysql'" in error
    error = one_line_error(lf(tmp_path, "db", "copy", source, "postgresql://u@h:notaport/db",
                              check=False))
    assert error.startswith("error: target:")
    error = one_line_error(lf(tmp_path, "db", "copy", source,
                              "postgresql://postgres@127.0.0.1:1/nowhere", check=False))
    assert "target: cannot connect to database \"nowhere\" on PostgreSQL at 127.0.0.1:1" in error

    missing = tmp_path / "missing.db"
    error = one_line_error(lf(tmp_path, "db", "copy", f"sqlite:///{missing}",
                              f"sqlite:///{target}", check=False))
    assert f"source: database {missing} does not exist" in error
    assert not missing.exists() and not target.exists()

    error = one_line_error(lf(tmp_path, "db", "copy", source, source, check=False))
    assert "source and target are the same database" in error

    lf(tmp_path, "db", "copy", source, pg_url)
    error = one_line_error(lf(tmp_path, "db", "copy", source, pg_url, check=False))
    assert f"target {pg_url} is not empty: it holds 1 workflow_definitions, 4 executions" \
        in error
