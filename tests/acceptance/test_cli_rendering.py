"""What the CLI prints for people: ids are never cut, however narrow the terminal.

Commands run in this process through the command group (the same code the console
script runs), with ``COLUMNS`` set as a narrow terminal sets it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from ledgerflow import App
from ledgerflow.cli.main import cli

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
