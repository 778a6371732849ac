"""State versions stored as patches between full snapshots, on every backend: fifty versions
read back exactly (floats, key order, nested objects, deleted members), a tampered patch
caught by verify, a fork from a patched version, and a copy between backends."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

import psycopg
import pytest

from ledgerflow import App, errors
from ledgerflow.engine.model.transition import Transition, value_sha256
from ledgerflow.engine.model.view import ExecutionView
from ledgerflow.ledger import values
from ledgerflow.ledger.state_patches import FULL, PATCH
from ledgerflow.ledger.verify import ExecutionHead, Problem, VerifyResult, verify_execution
from ledgerflow.storage import copy
from ledgerflow.storage.base import Store
from ledgerflow.storage.sqlite_url import parse_url
from tests.storage.conftest import ACTOR, TENANT, Changes, at

EID = "patched"


def execute(url: str, sql: str, params: tuple[Any, ...]) -> None:
    """Raw SQL outside ledgerflow (a tamperer), ``?`` placeholders on both backends."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(parse_url(url).path)) as conn:
            conn.execute(sql, params)
            conn.commit()
    else:
        with psycopg.connect(url) as pg:
            pg.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]


def edited(view: ExecutionView, new_state: Any, seconds: float) -> Transition:
    """A transition recording ``new_state`` (a copy of the view's with some members
    changed, as a step's output makes it) as the next state version."""
    tr = Transition.begin(view, at(seconds), ACTOR)
    sha = value_sha256(new_state)
    index = tr.record("state.edited", from_state=tr.status, to_state=tr.status,
                      payload={"after_sha256": sha,
                               "state_version": view.row.state_version + 1})
    tr.set_state(new_state, values.encode(new_state), sha, index)
    return tr


def member(i: int) -> Any:
    """A value as the engine continues with it (read back from its text)."""
    return values.decode(values.encode(
        {"third": i / 3, "int": i, "float": float(i), "z": {"b": 1, "a": [i, -0.0, 1e-7]}}))


def fifty_versions(store: Store, changes: Changes) -> list[str]:
    """Versions 1..50 of execution ``EID``; the text each one's document has."""
    assert store.commit([changes.new(EID)]) == [True]
    view = changes.view(EID)
    expected = [values.encode(view.state)]
    for version in range(2, 51):
        new = dict(view.state)
        new[f"k{version % 7}"] = member(version)  # replaced where it stands, or added
        if version % 5 == 0:
            new.pop(f"k{(version + 3) % 7}", None)  # deleted (and added again later)
        if version % 11 == 0:
            new["nested"] = values.decode('{"later":true,"earlier":{"y":0.1,"x":2}}')
        assert store.commit([edited(view, new, version).build().change]) == [True]
        view = changes.view(EID)  # read back: the next version follows the stored one
        expected.append(values.encode(new))
    return expected


def verified(store: Store) -> VerifyResult:
    row = store.load_execution(TENANT, EID)
    assert row is not None
    head = ExecutionHead(execution_id=row.id, tenant_id=row.tenant_id, head_seq=row.head_seq,
                         head_hash=row.head_hash, state_sha256=row.state_sha256)
    return verify_execution(head, store.load_ledger(EID), values.decode(row.state),
                            store.list_state_versions(EID))


def test_fifty_versions_read_back_exactly(store: Store, changes: Changes) -> None:
    expected = fifty_versions(store, changes)
    rows = store.list_state_versions(EID)
    assert [r.version for r in rows] == list(range(1, 51))
    assert {1, 17, 33, 49} <= {r.version for r in rows if r.kind == FULL}
    assert sum(r.kind == PATCH for r in rows) >= 40
    assert any('"delete":' in r.state for r in rows if r.kind == PATCH)
    for version, text in enumerate(expected, start=1):
        found = store.load_state_version(EID, version)
        assert found is not None and found.version == version
        assert (found.kind, found.state) == (FULL, text)
        assert found.sha256 == value_sha256(values.decode(text))
    assert store.load_state_version(EID, 51) is None
    assert sum(len(r.state) for r in rows) * 3 < sum(len(t) for t in expected)
    result = verified(store)
    assert result.ok, result.detail


@pytest.mark.parametrize(("forged", "says"), [
    ('{"set":{"k0":1}}', "state version 37 hashes to"),
    ("nope", "state version 37 unreadable"),
])
def test_verify_catches_a_tampered_patch(store: Store, changes: Changes, backend_url: str,
                                         forged: str, says: str) -> None:
    fifty_versions(store, changes)
    v37 = store.list_state_versions(EID)[36]
    assert v37.kind == PATCH
    execute(backend_url, "UPDATE state_versions SET state = ? WHERE execution_id = ? "
            "AND version = ?", (forged, EID, 37))
    result = verified(store)
    assert (result.ok, result.problem, result.seq) == \
        (False, Problem.STATE_VERSION_MISMATCH, v37.seq)
    assert result.detail is not None and says in result.detail
    assert store.load_state_version(EID, 36) is not None  # before it: untouched
    if forged == "nope":
        with pytest.raises(errors.CorruptedRow, match="state version 40 cannot be rebuilt"):
            store.load_state_version(EID, 40)


def test_a_patch_whose_snapshot_is_gone_is_caught(store: Store, changes: Changes,
                                                  backend_url: str) -> None:
    fifty_versions(store, changes)
    execute(backend_url, "UPDATE state_versions SET kind = 'patch' WHERE execution_id = ? "
            "AND version = 33", (EID,))
    result = verified(store)
    assert not result.ok and result.problem is Problem.STATE_VERSION_MISMATCH
    with pytest.raises(errors.CorruptedRow, match="state version 34 cannot be rebuilt"):
        store.load_state_version(EID, 34)


# through the engine: steps write their outputs into the state --------------------------
STEPS = 50
LONG: dict[str, Any] = {"name": "long", "steps": [
    {"id": f"s{i}", "agent": "t.member", "output": f"k{i % 9}",
     **({"needs": [f"s{i - 1}"]} if i > 1 else {})}
    for i in range(1, STEPS + 1)
]}


def long_app(url: str) -> App:
    app = App(url)
    app.agent("t.member")(lambda ctx, data: member(int(ctx.step_id[1:])))
    app.apply(LONG)
    return app


def straight_state(steps: int) -> str:
    """The text of the state after the first ``steps`` steps, made here without the engine."""
    state: dict[str, Any] = {}
    for i in range(1, steps + 1):
        state[f"k{i % 9}"] = member(i)
    return values.encode(state)


def test_a_fork_from_version_37_starts_with_its_document(backend_url: str) -> None:
    with long_app(backend_url) as app:
        eid = app.start("long", {})
        app.run_until_idle()
        assert app.status(eid).status == "completed"
        versions = app.store.list_state_versions(eid)
        assert len(versions) == STEPS + 1 and versions[36].kind == PATCH
        assert values.encode(app.state(eid, 37).state) == straight_state(36)
        assert values.encode(app.state(eid).state) == straight_state(STEPS)
        fork = app.fork(eid, at_seq=versions[36].seq)
        assert values.encode(app.state(fork, 1).state) == straight_state(36)
        app.run_until_idle()
        assert values.encode(app.state(fork).state) == straight_state(STEPS)
        assert all(r.ok for r in app.verify_all())


def test_a_copy_keeps_patches_readable(urls: tuple[str, str]) -> None:
    source_url, target_url = urls
    with long_app(source_url) as app:
        eid = app.start("long", {})
        app.run_until_idle()
    copy.copy_deployment(source_url, target_url)
    with long_app(source_url) as old, long_app(target_url) as new:
        rows = new.store.list_state_versions(eid)
        assert rows == old.store.list_state_versions(eid)
        assert sum(r.kind == PATCH for r in rows) > STEPS // 2
        for version in range(1, STEPS + 2):
            assert new.state(eid, version) == old.state(eid, version)
        assert values.encode(new.state(eid, 37).state) == straight_state(36)
        assert all(r.ok for r in new.verify_all())
