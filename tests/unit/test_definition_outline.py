"""A stored definition's outline (what reads use instead of compiling it) agrees with the
compiled definition on every step: id, type, needs, the signal a wait step takes and the
capability a task step asks for."""

from __future__ import annotations

import json

from ledgerflow.definition import from_mapping
from ledgerflow.definition.outline import StepOutline, outline
from ledgerflow.definition.steps import TYPE_FIELDS

SPEC = {
    "name": "every-type",
    "input_schema": {"type": "object"},
    "steps": [
        {"id": "plain", "agent": "t.work", "when": "input.n > 1"},
        {"id": "typed", "type": "task", "agent": "t.work", "needs": ["plain"]},
        {"id": "approve", "type": "wait", "signal": "approval", "needs": ["typed"]},
        {"id": "nap", "type": "sleep", "for": "10m", "needs": ["approve"]},
        {"id": "alarm", "type": "sleep", "until": "${input.at}"},
        {"id": "child", "type": "workflow", "workflow": "other"},  # stored before refused
    ],
}


def test_the_outline_of_a_stored_spec_matches_the_compiled_definition() -> None:
    definition = from_mapping(SPEC, stored=True)
    stored = json.loads(json.dumps(definition.spec))  # what the database gives back
    compiled = tuple(StepOutline(id=s.id, type=s.type, signal=s.options.get("signal"),
                                 needs=tuple(s.needs), agent=s.agent)
                     for s in definition.steps)
    assert outline(stored) == compiled
    assert {s.type for s in compiled} == set(TYPE_FIELDS)  # every type is covered
    assert compiled[2].signal == "approval"
