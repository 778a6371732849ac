"""One path for a completion: the output is encoded once (in the pool thread, as stored text
and as RFC 8785 text) and those texts are reused for the step row, the ledger payload and the
state document; the new state document is hashed once."""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from typing import Any

import pytest
import rfc8785

from ledgerflow import App
from ledgerflow.ledger import canonical, state_patches

TAG = "tag-5e1f"
FLOW = {"name": "path", "steps": [
    {"id": "a", "agent": "t.tagged", "output": "doc.a"},
    {"id": "b", "agent": "t.tagged", "needs": ["a"], "output": {"path": "log", "mode": "append"}},
    {"id": "c", "agent": "t.tagged", "needs": ["b"]},
    {"id": "end", "agent": "t.tagged", "needs": ["c"]},  # its output is also the result
]}


class Calls:
    """Encodes by the canonical encoder, and the data given to SHA-256, during a run."""

    def __init__(self) -> None:
        self.running: str | None = None  # the step whose attempt ran last
        self.encodes: Counter[str] = Counter()  # step id -> encodes of its output
        self.hashed: list[bytes] = []


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    seen = Calls()
    encode = canonical.canonical_json
    sha256 = hashlib.sha256

    def counting_encode(value: Any) -> bytes:
        # one step runs at a time: until the next attempt starts, an encode holding the
        # last output belongs to that attempt's completion (later states hold it too)
        data = encode(value)
        step = seen.running
        if step is not None and f"{TAG}-{step}".encode() in data:
            seen.encodes[step] += 1
        return data

    def counting_sha256(data: bytes = b"", **kwargs: Any) -> Any:
        seen.hashed.append(bytes(data))
        return sha256(data, **kwargs)

    # every module that imported the encoder by name counts too, not only its own module
    for module in list(sys.modules.values()):
        if module is not None and module.__name__.startswith("ledgerflow") \
                and getattr(module, "canonical_json", None) is encode:
            monkeypatch.setattr(module, "canonical_json", counting_encode)
    monkeypatch.setattr(hashlib, "sha256", counting_sha256)
    return seen


def _run(db_url: str, calls: Calls) -> tuple[App, str]:
    app = App(db_url)

    @app.agent("t.tagged")
    def tagged(ctx: Any, data: Any) -> Any:
        calls.running = ctx.step_id
        return {"tag": f"{TAG}-{ctx.step_id}", "n": [1, 2.5, {"deep": True}]}

    app.apply(FLOW)
    execution_id = app.start("path")
    app.run_until_idle(concurrency=1)
    return app, execution_id


def test_each_output_is_encoded_once(db_url: str, calls: Calls) -> None:
    app, execution_id = _run(db_url, calls)
    try:
        assert app.status(execution_id).status == "completed"
    finally:
        app.close()
    # the pool thread's encode; the ledger payload, the step row and the state reuse it;
    # the last step's output becomes the execution's result, encoded once more as that
    assert calls.encodes == Counter({"a": 1, "b": 1, "c": 1, "end": 2})


def test_the_output_text_is_reused_and_each_new_state_hashed_once(db_url: str,
                                                                    calls: Calls) -> None:
    app, execution_id = _run(db_url, calls)
    try:
        steps = {s.step_id: s for s in app.store.load_steps(execution_id)}
        completed = {e.step_id: e for e in app.store.load_ledger(execution_id)
                     if e.event_type == "step.completed"}
        versions = app.store.list_state_versions(execution_id)
    finally:
        app.close()
    for step in ("a", "b", "c", "end"):
        text = steps[step].output
        assert text is not None and f"{TAG}-{step}" in text
        payload = completed[step].payload
        assert payload is not None and payload.startswith('{"output":' + text)
    assert len(versions) == 3  # the initial state, then a's and b's: c and end have no target
    documents = list(state_patches.documents(versions))  # b's is stored as a patch
    assert documents[1]["doc"]["a"] == json.loads(steps["a"].output or "")
    assert documents[2]["log"] == [json.loads(steps["b"].output or "")]
    for document in documents[1:]:  # what is hashed is the RFC 8785 form of the stored value
        assert calls.hashed.count(rfc8785.dumps(document)) == 1
