"""Retention through the command line: real processes, a real database file.

``cleanup --older-than 0s`` makes every finished execution old enough (the cutoff is now),
so the tests never wait for time to pass.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support import CRASH_AGENTS, LEDGERFLOW, ROOT, cli_env, lf, lf_json, wait_for

DIAMOND = ROOT / "examples" / "diamond.yaml"
AGENTS = ROOT / "examples" / "agents.py"

SLOW_FLOW = """
name: slow
steps:
  - id: a
    agent: crash.work
  - id: b
    agent: crash.work
    needs: [a]
"""


def ledger_head(tmp: Path, execution_id: str) -> tuple[int, str]:
    last = lf_json(tmp, "history", execution_id)[-1]
    return last["seq"], last["entry_hash"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], str]:
    """Two completed diamonds, then one pending execution no worker has touched."""
    tmp = tmp_path_factory.mktemp("template")
    lf(tmp, "apply", str(DIAMOND))
    done = [lf(tmp, "start", "diamond", "--input", '{"mode": "quick"}').stdout.strip()
            for _ in range(2)]
    lf(tmp, "worker", "--agents", str(AGENTS), "--until-idle")
    assert all(lf_json(tmp, "status", eid)["status"] == "completed" for eid in done)
    pending = lf(tmp, "start", "diamond", "--input", '{"mode": "full"}',
                 "--id", "not-started").stdout.strip()
    assert lf_json(tmp, "status", pending)["status"] == "pending"
    return tmp, done, pending


@pytest.fixture
def ran(template: tuple[Path, list[str], str], tmp_path: Path) -> tuple[Path, list[str], str]:
    """A copy of the template database for one test."""
    source, done, pending = template
    for db in source.glob("cli.db*"):
        shutil.copy(db, tmp_path / db.name)
    return tmp_path, done, pending


def listed(tmp: Path) -> set[str]:
    return {row["id"] for row in lf_json(tmp, "list")}


def test_dry_run_shows_what_would_go_and_removes_nothing(
        ran: tuple[Path, list[str], str]) -> None:
    tmp, done, pending = ran
    heads = {eid: ledger_head(tmp, eid) for eid in done}
    report = lf_json(tmp, "cleanup", "--older-than", "0s", "--dry-run")
    assert report["dry_run"] is True and report["count"] == 2
    assert {(r["execution_id"], r["workflow"], r["final_status"], r["head_seq"],
             r["head_hash"]) for r in report["removed"]} == {
        (eid, "diamond", "completed", *heads[eid]) for eid in done}
    assert report["cutoff"].endswith("Z")

    human = lf(tmp, "cleanup", "--older-than", "0s", "--dry-run").stdout
    assert "would remove 2 execution(s) finished before " in human
    assert "dry run: nothing removed" in human
    assert all(eid in human for eid in done) and pending not in human

    assert listed(tmp) == {*done, pending}
    checked = lf_json(tmp, "verify", "--all")
    assert checked["ok"] is True and checked["checked"] == 3 and checked["removed"] == []


def test_cleanup_removes_finished_executions_and_keeps_tombstones(
        ran: tuple[Path, list[str], str]) -> None:
    tmp, done, pending = ran
    heads = {eid: ledger_head(tmp, eid) for eid in done}

    human = lf(tmp, "cleanup", "--older-than", "0s").stdout
    assert "removed 2 execution(s) finished before " in human
    assert listed(tmp) == {pending}  # the pending execution is never removed
    assert lf_json(tmp, "status", pending)["status"] == "pending"

    # verify --all still passes, and accounts for what retention removed
    proc = lf(tmp, "verify", "--all")
    assert "ok: 1 execution(s)" in proc.stdout
    assert "2 execution(s) removed by retention; tombstones keep their head hashes" in proc.stdout
    checked = lf_json(tmp, "verify", "--all")
    assert checked["ok"] is True and checked["checked"] == 1
    assert {t["execution_id"]: (t["head_seq"], t["head_hash"])
            for t in checked["removed"]} == heads
    assert all(t["final_status"] == "completed" and t["removed_by"].startswith("cli:")
               and t["removed_at"] for t in checked["removed"])

    # verify of a removed id: its tombstone, exit 0
    eid = done[0]
    seq, head_hash = heads[eid]
    proc = lf(tmp, "verify", eid)
    assert f"execution {eid} (diamond v1, completed) was removed by retention on " in proc.stdout
    assert f"last seq {seq}, head hash {head_hash}" in proc.stdout
    single = lf_json(tmp, "verify", eid)
    assert single["ok"] is True and single["checked"] == 0
    assert [(t["execution_id"], t["head_hash"]) for t in single["removed"]] == [(eid, head_hash)]

    # reading a removed execution is one clear error
    for command in ("status", "history"):
        gone = lf(tmp, command, eid, check=False)
        assert gone.returncode == 1
        assert gone.stderr.strip().startswith(f"error: execution {eid} (diamond v1, ")
        assert f"was removed by retention on {single['removed'][0]['removed_at']}" in gone.stderr
        assert f"head hash {head_hash}" in gone.stderr and "Traceback" not in gone.stderr

    # a second run finds nothing; a removed id is not handed out again
    assert lf_json(tmp, "cleanup", "--older-than", "0s")["count"] == 0
    reuse = lf(tmp, "start", "diamond", "--input", '{"mode": "quick"}', "--id", eid,
               check=False)
    assert reuse.returncode == 1 and "in use" in reuse.stderr
    assert listed(tmp) == {pending}


def test_recent_executions_are_kept(ran: tuple[Path, list[str], str]) -> None:
    tmp, done, pending = ran
    report = lf_json(tmp, "cleanup", "--older-than", "30d")
    assert (report["dry_run"], report["count"], report["removed"]) == (False, 0, [])
    assert "removed 0 execution(s)" in lf(tmp, "cleanup", "--older-than", "1h").stdout
    assert listed(tmp) == {*done, pending}
    assert lf_json(tmp, "verify", "--all")["removed"] == []


def test_a_running_execution_is_kept(tmp_path: Path) -> None:
    tmp = tmp_path
    (tmp / "slow.yaml").write_text(SLOW_FLOW)
    lf(tmp, "apply", "slow.yaml")
    finished = lf_json(tmp, "run", "slow", "--agents", str(CRASH_AGENTS))["id"]
    (tmp / "journal.jsonl").unlink()
    busy = lf(tmp, "start", "slow").stdout.strip()
    hold = tmp / "hold"
    hold.touch()  # step a runs until cleanup is over
    worker = subprocess.Popen(
        [str(LEDGERFLOW), "worker", "--agents", str(CRASH_AGENTS)], cwd=tmp,
        env=cli_env(tmp, CRASH_HOLD=str(hold)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        wait_for((tmp / "journal.jsonl").exists, what="step a of the new execution running")
        assert lf_json(tmp, "status", busy)["status"] == "running"
        report = lf_json(tmp, "cleanup", "--older-than", "0s")
        assert [r["execution_id"] for r in report["removed"]] == [finished]
    finally:
        worker.send_signal(signal.SIGTERM)  # it stops once a, let go now, has finished
        hold.unlink()
        _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 0, stderr
    assert listed(tmp) == {busy}
    lf(tmp, "worker", "--agents", str(CRASH_AGENTS), "--until-idle")
    assert lf_json(tmp, "status", busy)["status"] == "completed"
    assert "ok: 1 execution(s)" in lf(tmp, "verify", "--all").stdout


@pytest.mark.parametrize(("value", "needle"), [
    ("1x", "invalid duration '1x'"),
    ("30", "has no unit"),
    ("-1d", "invalid duration '-1d'"),
    ("", "invalid duration ''"),
    ("1s1d", "largest first"),
])
def test_a_bad_older_than_is_one_clear_line(tmp_path: Path, value: str, needle: str) -> None:
    proc = lf(tmp_path, "cleanup", "--older-than", value, check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --older-than: ")
    assert needle in lines[0]
    assert proc.stdout == ""


def test_an_older_than_beyond_the_calendar_removes_nothing(
        ran: tuple[Path, list[str], str]) -> None:
    tmp, done, pending = ran
    report = lf_json(tmp, "cleanup", "--older-than", "99999999d")
    assert report["count"] == 0 and report["cutoff"] == "0001-01-01T00:00:00.000000Z"
    assert listed(tmp) == {*done, pending}


def test_help_says_what_is_kept_and_what_the_tombstone_holds(tmp_path: Path) -> None:
    text = " ".join(lf(tmp_path, "cleanup", "--help").stdout.split())
    assert "pending, running, waiting and paused" in text
    assert "tombstone" in text and "head hash" in text and "last ledger seq" in text
    assert "--dry-run" in text and "--older-than" in text
    assert "cleanup" in lf(tmp_path, "--help").stdout
    verify_help = " ".join(lf(tmp_path, "verify", "--help").stdout.split())
    assert "removed by retention" in verify_help and "exits 0" in verify_help
