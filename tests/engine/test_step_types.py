"""Step types the engine does not run yet: refused when applied, with every other problem of
the definition; a version stored before that still loads and fails at the step, as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledgerflow import App, errors
from ledgerflow.definition import from_mapping
from ledgerflow.ledger.canonical import canonical_json

REFUSED = ("steps[1].type: 'workflow' steps are not supported yet (sub-workflows are "
           "planned); use a task step whose agent starts the child execution")
PARENT: dict[str, Any] = {"name": "parent", "steps": [
    {"id": "prepare", "agent": "t.echo"},
    {"id": "child", "type": "workflow", "workflow": "kyc-flow", "needs": ["prepare"]},
]}


@pytest.fixture
def app(db_url: str) -> Iterator[App]:
    a = App(db_url)
    a.agent("t.echo")(lambda ctx, data: {"step": ctx.step_id})
    yield a
    a.close()


def test_apply_refuses_a_workflow_step_and_reports_every_other_problem(app: App) -> None:
    broken = {**PARENT, "steps": [*PARENT["steps"], {"id": "late", "agent": "t.echo",
                                                      "needs": ["kcy"]}]}
    with pytest.raises(errors.DefinitionError) as info:
        app.apply(broken)
    assert list(info.value.problems) == [
        REFUSED, "steps[2].needs[0]: unknown step 'kcy' (known steps: child, late, prepare)"]
    assert app.workflows() == []


def test_a_version_stored_before_still_loads_and_fails_at_the_workflow_step(app: App) -> None:
    stored = from_mapping(PARENT, stored=True)  # as apply stored it before the refusal
    app.store.put_definition(app.tenant, "parent", stored.sha256,
                             canonical_json(stored.spec).decode("utf-8"),
                             "2026-01-01T00:00:00.000000Z")
    eid = app.start("parent", {})
    app.run_until_idle()
    report = app.status(eid)
    assert report.status == "failed"
    assert {s.id: s.status for s in report.steps} == {"prepare": "completed",
                                                      "child": "failed"}
    assert report.error == ("step 'child' failed: step type workflow is not supported by "
                            "this engine yet")
