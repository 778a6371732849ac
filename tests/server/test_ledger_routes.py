"""An execution's ledger over HTTP: history and its long-poll, state versions, their diff,
state edits with If-Match, logs, routing, graph and timeline; each tenant sees its own."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ledgerflow.server.feed import Feed
from tests.server.conftest import Served
from tests.support import wait_for

WAITS = {"name": "waits", "steps": [{"id": "w", "type": "wait", "signal": "go"}]}
ECHO = {"name": "echo", "steps": [{"id": "a", "agent": "t.echo", "output": "a"},
                                  {"id": "b", "agent": "t.echo", "needs": ["a"]}]}
API = "/api/v1/executions"
ROUTES = ["history", "state", "state/diff?from=1&to=1", "logs", "routing", "graph", "timeline"]
MERGE = {"Content-Type": "application/merge-patch+json"}


def _paused(served: Served) -> str:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    served.engine.pause(eid)
    served.engine.set_state(eid, "case", {"risk": "high"})
    return eid


def _done(served: Served) -> str:
    served.engine.apply(ECHO)
    eid = served.engine.start("echo", {"x": 1})
    served.engine.run_until_idle()
    return eid


def test_history_pages_after_a_seq(served: Served) -> None:
    eid = _done(served)
    viewer = served.headers("viewer")
    everything = served.client.get(f"{API}/{eid}/history?limit=500", headers=viewer).json()
    seqs = [e["seq"] for e in everything["items"]]
    assert seqs == list(range(1, len(seqs) + 1)) and everything["head_seq"] == seqs[-1]
    page = served.client.get(f"{API}/{eid}/history?after_seq=2&limit=3", headers=viewer)
    assert page.status_code == 200
    assert [e["seq"] for e in page.json()["items"]] == [3, 4, 5]
    assert page.json()["last_seq"] == 5


def test_a_long_poll_answers_when_a_commit_lands(served: Served) -> None:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    head = served.engine.execution(eid).head_seq
    viewer = served.headers("viewer")
    answers: list[Any] = []

    def poll() -> None:
        answers.append(served.client.get(
            f"{API}/{eid}/history?after_seq={head}&wait=60", headers=viewer))

    client = threading.Thread(target=poll)
    client.start()
    wait_for(lambda: isinstance(getattr(served.client.app.state, "feed", None), Feed)
             and served.client.app.state.feed.waiting() == 1, what="the client waits")
    served.engine.signal(eid, "go", {"ok": True})
    client.join()
    items = answers[0].json()["items"]
    assert items and all(e["seq"] > head for e in items)
    assert any(e["event_type"].startswith("signal") for e in items)


def test_a_long_poll_with_nothing_new_answers_empty_after_its_wait(served: Served) -> None:
    eid = _done(served)
    head = served.engine.execution(eid).head_seq
    r = served.client.get(f"{API}/{eid}/history?after_seq={head}&wait=0.2",
                          headers=served.headers("viewer"))
    assert r.status_code == 200
    assert r.json()["items"] == [] and r.json()["last_seq"] == head


def test_wait_above_60_seconds_is_refused(served: Served) -> None:
    eid = _done(served)
    r = served.client.get(f"{API}/{eid}/history?wait=61", headers=served.headers("viewer"))
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "query.wait"


def test_state_versions_and_their_diff(served: Served) -> None:
    eid = _paused(served)
    viewer = served.headers("viewer")
    now = served.client.get(f"{API}/{eid}/state", headers=viewer).json()
    assert now["state"] == {"case": {"risk": "high"}}
    first = served.client.get(f"{API}/{eid}/state?version=1", headers=viewer).json()
    assert first["version"] == 1
    diff = served.client.get(f"{API}/{eid}/state/diff?from=1&to={now['version']}",
                             headers=viewer)
    assert diff.json() == [{"op": "add", "path": "/case", "value": {"risk": "high"}}]
    missing = served.client.get(f"{API}/{eid}/state?version=99", headers=viewer)
    assert missing.status_code == 404


def test_a_merge_patch_and_a_json_patch_edit_a_paused_state(served: Served) -> None:
    eid = _paused(served)
    operator = served.headers("operator")
    r = served.client.patch(f"{API}/{eid}/state", headers=operator | MERGE,
                            json={"case": {"risk": None, "score": 3}})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == served.engine.execution(eid).head_seq
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    r = served.client.patch(f"{API}/{eid}/state", headers=operator | {
        "Content-Type": "application/json-patch+json"},
        json=[{"op": "replace", "path": "/case/score", "value": 4}])
    assert r.status_code == 200, r.text
    assert served.engine.state(eid).state == {"case": {"score": 4}}


def test_a_stale_if_match_is_412_with_the_current_version(served: Served) -> None:
    eid = _paused(served)
    head = served.engine.execution(eid).head_seq
    r = served.client.patch(f"{API}/{eid}/state", json={"x": 1},
                            headers=served.headers("operator") | MERGE
                            | {"If-Match": f'"{head - 1}"'})
    assert r.status_code == 412
    assert (r.json()["code"], r.json()["current_version"]) == ("version-mismatch", head)
    assert served.engine.state(eid).state == {"case": {"risk": "high"}}
    fresh = served.client.patch(f"{API}/{eid}/state", json={"x": 1},
                                headers=served.headers("operator") | MERGE
                                | {"If-Match": f'"{head}"'})
    assert fresh.status_code == 200


def test_a_patch_of_another_media_type_or_bad_json_is_refused(served: Served) -> None:
    eid = _paused(served)
    operator = served.headers("operator")
    r = served.client.patch(f"{API}/{eid}/state", content=b"x=1",
                            headers=operator | {"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = served.client.patch(f"{API}/{eid}/state", content=b"{nope", headers=operator | MERGE)
    assert r.status_code == 400 and r.json()["code"] == "malformed"
    r = served.client.patch(f"{API}/{eid}/state", json=[1], headers=operator | MERGE)
    assert r.status_code == 422


def test_a_viewer_may_not_edit_state(served: Served) -> None:
    eid = _paused(served)
    r = served.client.patch(f"{API}/{eid}/state", json={"x": 1},
                            headers=served.headers("viewer") | MERGE)
    assert r.status_code == 403 and r.json()["needed_role"] == "operator"


def test_routing_graph_timeline_and_logs_of_a_finished_execution(served: Served) -> None:
    eid = _done(served)
    viewer = served.headers("viewer")
    routing = served.client.get(f"{API}/{eid}/routing", headers=viewer).json()["items"]
    assert [(d["step_id"], d["capability"], d["outcome"]) for d in routing] == [
        ("a", "t.echo", "success"), ("b", "t.echo", "success")]
    graph = served.client.get(f"{API}/{eid}/graph", headers=viewer).json()
    assert [(n["id"], n["status"]) for n in graph["nodes"]] == [("a", "completed"),
                                                                ("b", "completed")]
    assert graph["edges"] == [{"source": "a", "target": "b"}]
    timeline = served.client.get(f"{API}/{eid}/timeline", headers=viewer).json()["items"]
    assert [(a["step_id"], a["attempt"]) for a in timeline] == [("a", 1), ("b", 1)]
    assert all(a["finished_at"] is not None and a["duration_ms"] >= 0 for a in timeline)
    logs = served.client.get(f"{API}/{eid}/logs", headers=viewer)
    assert logs.status_code == 200 and isinstance(logs.json()["items"], list)


@pytest.mark.parametrize("route", ROUTES)
def test_another_tenants_execution_is_404_like_a_missing_one(served: Served,
                                                             route: str) -> None:
    eid = _paused(served)
    acme = served.headers("admin", "acme")
    theirs = served.client.get(f"{API}/{eid}/{route}", headers=acme)
    missing = served.client.get(f"{API}/{'z' * len(eid)}/{route}", headers=acme)
    assert theirs.status_code == missing.status_code == 404
    assert {k: v for k, v in theirs.json().items() if k not in ("request_id", "instance")} \
        == {k: v for k, v in missing.json().items() if k not in ("request_id", "instance")} \
        | {"detail": theirs.json()["detail"], "id": theirs.json()["id"]}
    assert served.client.get(f"{API}/{eid}/{route}",
                             headers=served.headers("viewer")).status_code == 200


def test_another_tenants_state_cannot_be_patched(served: Served) -> None:
    eid = _paused(served)
    r = served.client.patch(f"{API}/{eid}/state", json={"x": 1},
                            headers=served.headers("admin", "acme") | MERGE)
    assert r.status_code == 404
    assert served.engine.state(eid).state == {"case": {"risk": "high"}}


def test_a_system_token_reads_no_execution(served: Served) -> None:
    eid = _paused(served)
    r = served.client.get(f"{API}/{eid}/history", headers=served.headers("system", None))
    assert r.status_code == 403


def test_the_graph_is_a_picture_when_asked_for_one(served: Served) -> None:
    eid = _done(served)
    svg = {**served.headers("viewer"), "Accept": "image/svg+xml"}
    r = served.client.get(f"{API}/{eid}/graph", headers=svg)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.count('data-status="completed"') == 2
    definition = served.client.get("/api/v1/definitions/echo/versions/latest", headers=svg)
    assert definition.status_code == 200 and definition.text.startswith("<svg")
    assert definition.text.count('data-status="pending"') == 2
    as_json = served.client.get(f"{API}/{eid}/graph", headers=served.headers("viewer"))
    assert [n["status"] for n in as_json.json()["nodes"]] == ["completed", "completed"]


def test_the_timeline_is_a_chart_when_asked_for_one(served: Served) -> None:
    eid = _done(served)
    svg = {**served.headers("viewer"), "Accept": "image/svg+xml"}
    r = served.client.get(f"{API}/{eid}/timeline", headers=svg)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.headers["etag"] == f'"{served.engine.execution(eid).head_seq}"'
    assert r.text.count('class="attempt completed"') == 2
    assert 'data-step="a"' in r.text and 'data-step="b"' in r.text
