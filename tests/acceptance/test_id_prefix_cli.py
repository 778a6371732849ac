"""Every command that takes an execution id takes an unambiguous prefix of 8+ characters
(what ``list`` lets a person copy), and prints the whole id back."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from ledgerflow import App
from ledgerflow.cli.main import cli

FLOW = {"name": "waits", "steps": [{"id": "w", "type": "wait", "signal": "go"}]}
ONE = "5eed0001-aaaa-4bbb-8ccc-000000000001"
TWINS = ["5eed0002-aaaa-4bbb-8ccc-000000000002", "5eed0002-aaaa-4bbb-8ccc-000000000003"]


@pytest.fixture
def db(db_url: str) -> Iterator[str]:
    with App(db_url) as app:
        app.apply(FLOW)
        for execution_id in (ONE, *TWINS):
            app.start("waits", {}, execution_id=execution_id)
        app.run_until_idle()
    yield db_url


def lf(db: str, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"LEDGERFLOW_DB": db, "COLUMNS": "200"})


def test_reads_and_controls_take_a_prefix(db: str) -> None:
    prefix = ONE[:8]
    for args in (["status", prefix], ["history", prefix], ["state", prefix],
                 ["routing", prefix], ["logs", prefix], ["verify", prefix]):
        result = lf(db, *args)
        assert result.exit_code == 0, (args, result.output)
    assert json.loads(lf(db, "status", prefix, "--json").output)["id"] == ONE
    assert lf(db, "pause", prefix).output.strip() == f"paused {ONE}"
    assert lf(db, "state", "set", prefix, "x", "1").output.strip() == \
        f"state of {ONE} is now version 2"
    assert json.loads(lf(db, "resume", prefix, "--json").output)["id"] == ONE
    assert lf(db, "signal", prefix, "go").output.strip() == f"signal 'go' stored for {ONE}"
    assert lf(db, "cancel", prefix).output.strip() == f"cancelled {ONE}"


def test_an_ambiguous_prefix_is_one_line_naming_the_candidates(db: str) -> None:
    result = lf(db, "cancel", TWINS[0][:8])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: execution id prefix '{TWINS[0][:8]}' is ambiguous: the ids of 2 executions "
        f"start with it ({TWINS[0]}, {TWINS[1]}); give more of the id\n")
    assert {e["status"] for e in json.loads(lf(db, "list", "--json").output)} == {"waiting"}
