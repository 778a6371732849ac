"""What the CLI prints for people: ids are never cut, however narrow the terminal, and user
text (ids, names, errors) is printed as it is, never read as markup or emoji codes.

Commands run in this process through the command group (the same code the console
script runs), with ``COLUMNS`` set as a narrow terminal sets it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from ledgerflow import App, ExecutionUpdate
from ledgerflow.cli.main import cli
from ledgerflow.cli.progress import LiveProgress
from tests.support import run_cli

STEP = "verify-know-your-customer-documents"
CAPABILITY = "compliance.documents-verification"
AGENT = "documents-verifier-primary-europe-west"
FLOW = {"name": "onboarding-of-corporate-clients",
        "steps": [{"id": STEP, "agent": CAPABILITY, "output": "kyc"},
                  {"id": "archive", "agent": CAPABILITY, "needs": [STEP]}]}


@pytest.fixture
def ran(db_url: str) -> Iterator[tuple[str, str, str]]:
    """A finished execution, its worker's id; the worker has stopped."""
    with App(db_url) as app:
        app.agent(CAPABILITY, name=AGENT)(lambda ctx, data: {"ok": True})
        app.apply(FLOW)
        execution_id = app.start("onboarding-of-corporate-clients", {})
        app.run_until_idle()
        worker = app.workers(everyone=True)[0].id
        assert app.status(execution_id).status == "completed"
    yield db_url, execution_id, worker


def show(db_url: str, *args: str, columns: int = 60) -> str:
    result = CliRunner().invoke(cli, list(args), env={"LEDGERFLOW_DB": db_url,
                                                      "COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("columns", [60, 40])
def test_ids_are_never_cut_in_a_narrow_terminal(ran: tuple[str, str, str],
                                                columns: int) -> None:
    db, execution_id, worker = ran
    expected: dict[tuple[str, ...], tuple[str, ...]] = {
        ("list",): (execution_id,),
        ("list", "--metrics"): (execution_id,),
        ("status", execution_id): (STEP, AGENT),
        ("history", execution_id): (STEP,),
        ("routing", execution_id): (STEP, AGENT),
        ("agents",): (CAPABILITY, AGENT),
        ("agents", "stats"): (CAPABILITY, AGENT),
        ("workers", "--all"): (worker,),
        ("workflows",): ("onboarding-of-corporate-clients",),
    }
    for args, ids in expected.items():
        out = show(db, *args, columns=columns)
        missing = [i for i in ids if i not in out]
        assert missing == [], f"{' '.join(args)} cut {missing}:\n{out}"


def test_other_columns_fold_rather_than_hide(ran: tuple[str, str, str]) -> None:
    """Nothing is shortened with an ellipsis: what does not fit goes on the next line."""
    db, execution_id, _ = ran
    for args in (("list",), ("status", execution_id), ("agents",), ("workers", "--all")):
        out = show(db, *args, columns=40)
        assert "…" not in out.split("ledger head")[0], out  # (status shortens the hash)


def test_a_pipe_without_columns_gets_a_wide_table(ran: tuple[str, str, str]) -> None:
    db, execution_id, _ = ran
    result = CliRunner().invoke(cli, ["history", execution_id],
                                env={"LEDGERFLOW_DB": db, "COLUMNS": None})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) > 80


# user text is printed as it is: never markup, never emoji codes -----------------------------

ODD_ID = "case-[/]-:smile:-[bold]1"
ODD_AGENT = "r.ok:ok"
ODD_ERROR = "RuntimeError: bad [/] input :smile: [red]x"
ODD_AGENTS = f'''
import ledgerflow

@ledgerflow.agent("r.ok", name={ODD_AGENT!r})
def refuse(ctx, data):
    raise RuntimeError("bad [/] input :smile: [red]x")
'''
ODD_FLOW = {"name": "odd", "steps": [
    {"id": "check", "agent": "r.ok", "retry": {"max_attempts": 1}}]}


@pytest.fixture
def odd(db_url: str, tmp_path: Path) -> tuple[str, str]:
    """An execution with an odd id, failed by the agent r.ok:ok with an odd error, run by
    ``ledgerflow worker`` in its own process; returns the database and what it printed."""
    with App(db_url) as app:
        app.apply(ODD_FLOW)
        app.start("odd", {}, execution_id=ODD_ID)
    (tmp_path / "odd_agents.py").write_text(ODD_AGENTS)
    worked = run_cli(tmp_path, db_url, "worker", "--agents", "odd_agents.py", "--until-idle",
                     COLUMNS="300")
    return db_url, worked.stderr


def test_names_ids_and_errors_print_verbatim(odd: tuple[str, str]) -> None:
    db, worker_output = odd
    assert f"failed {ODD_ID} odd v1: step 'check' failed: {ODD_ERROR}" in worker_output
    expected: dict[tuple[str, ...], tuple[str, ...]] = {
        ("list",): (ODD_ID,),
        ("status", ODD_ID): (ODD_ID, f"error: step 'check' failed: {ODD_ERROR}", ODD_AGENT),
        ("routing", ODD_ID): (ODD_AGENT,),
        ("agents",): (ODD_AGENT,),
        ("agents", "stats"): (ODD_AGENT,),
        ("logs", ODD_ID): (ODD_ERROR,),
        ("history", ODD_ID): ("step.failed",),
    }
    for args, texts in expected.items():
        out = show(db, *args, columns=200)
        missing = [t for t in texts if t not in out]
        assert missing == [], f"{' '.join(args)} lost {missing}:\n{out}"
        assert "🆗" not in out and "😄" not in out


def test_live_progress_labels_print_verbatim() -> None:
    console = Console(file=io.StringIO(), width=200, emoji=True)
    with LiveProgress(console=console, labels={"e1": "odd [/] :smile: case"}) as progress:
        progress(ExecutionUpdate(id="e1", workflow="odd", workflow_version=1, status="failed",
                                 terminal=True, error=ODD_ERROR, steps_total=1, steps_done=0))
    assert "odd [/] :smile: case" in console.file.getvalue()  # type: ignore[attr-defined]
