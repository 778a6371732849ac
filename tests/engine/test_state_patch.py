"""Editing a paused execution's state with a patch: a JSON merge patch (RFC 7386) is a JSON
object and nothing else; an RFC 6902 JSON Patch is asked for by name, and applies all or
none. The ledger says which kind of patch made the new state version."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledgerflow import App, errors

WAITS = {"name": "waits", "steps": [{"id": "w", "type": "wait", "signal": "go"}]}


@pytest.fixture
def paused(db_url: str) -> Iterator[tuple[App, str]]:
    with App(db_url) as app:
        app.apply(WAITS)
        execution_id = app.start("waits", {})
        app.pause(execution_id)
        app.set_state(execution_id, "case", {"risk": "high", "owner": "ann"})
        yield app, execution_id


def _edits(app: App, execution_id: str) -> list[Any]:
    return [e.payload for e in app.history(execution_id) if e.event_type == "state.edited"]


def test_a_merge_patch_merges_an_object(paused: tuple[App, str]) -> None:
    app, eid = paused
    version = app.patch_state(eid, {"case": {"risk": None, "score": 3}}, "review")
    assert app.state(eid).state == {"case": {"owner": "ann", "score": 3}}
    assert version == app.state(eid).version
    assert _edits(app, eid)[-1]["merge_patch"] == {"case": {"risk": None, "score": 3}}


@pytest.mark.parametrize(("patch", "given"), [
    ([{"op": "remove", "path": "/case"}], "not an array"), (None, "not null"),
    (3, "not the number 3"), ("x", "not a string"), (True, "not true"),
])
def test_anything_but_an_object_is_refused_as_a_merge_patch(paused: tuple[App, str],
                                                            patch: Any, given: str) -> None:
    app, eid = paused
    before = app.state(eid)
    with pytest.raises(errors.InputValidationError) as refused:
        app.patch_state(eid, patch)
    message = str(refused.value)
    assert "a JSON merge patch (RFC 7386) is a JSON object" in message and given in message
    assert len(message.splitlines()) == 1
    assert app.state(eid) == before  # nothing replaced, no new version


def test_a_json_patch_applies_its_operations(paused: tuple[App, str]) -> None:
    app, eid = paused
    operations = [{"op": "remove", "path": "/case/risk"},
                  {"op": "add", "path": "/case/tags", "value": ["vip"]}]
    app.patch_state(eid, operations, json_patch=True)
    assert app.state(eid).state == {"case": {"owner": "ann", "tags": ["vip"]}}
    assert _edits(app, eid)[-1]["json_patch"] == operations
    assert "merge_patch" not in _edits(app, eid)[-1]


@pytest.mark.parametrize(("operations", "says"), [
    ({"op": "remove", "path": "/case"}, "a JSON Patch (RFC 6902) is a JSON array of "
                                       "operations such as"),
    ([{"op": "remove", "path": "/case/owner"}, {"op": "remove", "path": "/nothing"}],
     "JSON Patch operation 1 ({\"op\": \"remove\", \"path\": \"/nothing\"}) cannot be applied"),
    ([{"op": "test", "path": "/case/risk", "value": "low"}], "operation 0"),
    ([{"op": "replace", "path": "", "value": [1]}], "would make the state document an array"),
])
def test_a_json_patch_that_cannot_apply_changes_nothing(paused: tuple[App, str],
                                                        operations: Any, says: str) -> None:
    app, eid = paused
    before = app.state(eid)
    with pytest.raises(errors.InputValidationError) as refused:
        app.patch_state(eid, operations, json_patch=True)
    assert says in str(refused.value)
    assert app.state(eid) == before
