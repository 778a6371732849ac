"""The CLI adds the command that helps to an error's message, on the same one line: the
engine's messages say what to do in words, the CLI says what to type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from ledgerflow import App
from ledgerflow.cli.main import cli

FLOW = {"name": "flow", "steps": [{"id": "a", "agent": "t.echo"}]}


@pytest.fixture
def ids(db_url: str) -> Iterator[dict[str, str]]:
    """A completed execution and a pending one."""
    with App(db_url) as app:
        app.agent("t.echo")(lambda ctx, data: data)
        app.apply(FLOW)
        done = app.start("flow")
        app.run_until_idle()
        yield {"done": done, "pending": app.start("flow")}


def error_line(db_url: str, *args: str) -> str:
    result: Result = CliRunner().invoke(cli, ["--db", db_url, *args])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_unknown_execution_points_to_list(db_url: str, ids: dict[str, str]) -> None:
    line = error_line(db_url, "pause", "nope")
    assert line == "error: execution 'nope' not found — list them with: ledgerflow list"


def test_state_edit_before_pausing_gives_the_pause_command(db_url: str,
                                                            ids: dict[str, str]) -> None:
    eid = ids["pending"]
    line = error_line(db_url, "state", "set", eid, "x", "1")
    assert line.endswith(f"it is pending; pause it first — run: ledgerflow pause {eid}")


def test_a_refused_action_lists_the_commands_allowed(db_url: str, ids: dict[str, str]) -> None:
    line = error_line(db_url, "pause", ids["done"])
    assert line.endswith("allowed when completed: rerun from a step, fork — commands: "
                         "ledgerflow rerun ID --from STEP, ledgerflow fork ID")


def test_an_unknown_workflow_and_ledger_entry(db_url: str, ids: dict[str, str]) -> None:
    assert error_line(db_url, "start", "nope").endswith(
        "; apply it first — run: ledgerflow apply FILE")
    eid = ids["done"]
    assert error_line(db_url, "fork", eid, "--at", "99").endswith(
        f"— see: ledgerflow history {eid}")
