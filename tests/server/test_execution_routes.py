"""Executions over HTTP on each backend: start (201, the same id and input again 200,
another input 409), the resource with its ETag and 304, status, list with typed filters and
a cursor that neither skips nor repeats, counts, signals; another tenant sees none of it."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Served

API = "/api/v1/executions"
ECHO = {"name": "echo", "steps": [{"id": "a", "agent": "t.echo", "output": "a"},
                                  {"id": "b", "agent": "t.echo", "needs": ["a"]}]}
WAITS = {"name": "waits", "steps": [{"id": "w", "type": "wait", "signal": "go"}]}


def _start(served: Served, body: dict[str, Any], role: str = "operator") -> Any:
    return served.client.post(API, json=body, headers=served.headers(role))


def test_start_answers_201_with_the_execution_and_its_version(served: Served) -> None:
    served.engine.apply(ECHO)
    r = _start(served, {"workflow": "echo", "input": {"b": 2.0, "a": [1, "x"]}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] in {"pending", "running"}
    assert body["workflow"]["name"] == "echo" and body["workflow"]["version"] == 1
    assert list(body["input"]) == ["b", "a"] and body["input"]["b"] == 2.0
    assert r.headers["ETag"] == f'"{body["version"]}"' and body["version"] >= 1
    assert r.headers["Location"] == f"{API}/{body['id']}"
    assert body["ledger"]["head_seq"] == body["version"]
    assert body["progress"]["total"] == 2 and body["last_control"] is None
    served.engine.run_until_idle()
    done = served.client.get(f"{API}/{body['id']}", headers=served.headers("viewer")).json()
    assert done["status"] == "completed" and done["progress"]["percentage"] == 100.0
    assert done["result"] is not None and done["duration_ms"] is not None


def test_start_with_an_id_is_idempotent_and_refuses_another_input(served: Served) -> None:
    served.engine.apply(ECHO)
    first = _start(served, {"workflow": "echo", "id": "order-1", "input": {"n": 1}})
    again = _start(served, {"workflow": "echo", "id": "order-1", "input": {"n": 1}})
    other = _start(served, {"workflow": "echo", "id": "order-1", "input": {"n": 2}})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert again.json()["id"] == first.json()["id"] == "order-1"
    assert other.headers["content-type"].startswith("application/problem+json")
    assert len(served.engine.list()) == 1


def test_start_refuses_bad_input_with_every_problem_and_never_a_500(served: Served) -> None:
    served.engine.apply({"name": "typed", "input_schema": {
        "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "steps": [{"id": "a", "agent": "t.echo"}]})
    unknown = _start(served, {"workflow": "nope", "input": {}})
    assert unknown.status_code == 404 and unknown.json()["code"] == "not-found"
    invalid = _start(served, {"workflow": "typed", "input": {"name": 5}})
    assert invalid.status_code == 422 and invalid.json()["errors"]
    missing = _start(served, {"input": {}})
    assert missing.status_code == 422 and missing.json()["errors"][0]["path"] == "body.workflow"
    ttl = _start(served, {"workflow": "typed", "input": {"name": "x"}, "ttl": "soon"})
    assert ttl.status_code == 422 and "ttl" in ttl.json()["detail"]
    session = _start(served, {"workflow": "typed", "input": {"name": "x"}, "ttl": "30m"})
    assert session.status_code == 201 and session.json()["expires_at"] is not None


def test_get_answers_304_while_the_version_holds(served: Served) -> None:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    viewer = served.headers("viewer")
    r = served.client.get(f"{API}/{eid}", headers=viewer)
    tag = r.headers["ETag"]
    same = served.client.get(f"{API}/{eid}", headers={**viewer, "If-None-Match": tag})
    assert same.status_code == 304 and same.content == b""
    served.engine.signal(eid, "go")
    moved = served.client.get(f"{API}/{eid}", headers={**viewer, "If-None-Match": tag})
    assert moved.status_code == 200 and moved.headers["ETag"] != tag


def test_status_reports_progress_and_steps(served: Served) -> None:
    served.engine.apply(ECHO)
    eid = served.engine.start("echo", {"x": 1})
    served.engine.run_until_idle()
    r = served.client.get(f"{API}/{eid}/status", headers=served.headers("viewer"))
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "completed" and body["progress"]["completed"] == 2
    assert [st["id"] for st in body["steps"]] == ["a", "b"]


def test_list_filters_and_pages_without_gap_or_repeat(served: Served) -> None:
    served.engine.apply(ECHO)
    served.engine.apply(WAITS)
    ids = [served.engine.start("echo", {"i": i}) for i in range(5)]
    waiting = served.engine.start("waits", {})
    viewer = served.headers("viewer")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, "workflow": "echo"}
        if cursor:
            params["cursor"] = cursor
        page = served.client.get(API, params=params, headers=viewer).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen)) == 5
    oldest = served.client.get(API, params={"sort": "created_at", "limit": 500},
                               headers=viewer).json()["items"]
    assert [e["id"] for e in oldest][-1] == waiting
    by_status = served.client.get(API, params={"status": "running,waiting"},
                                  headers=viewer).json()["items"]
    assert {e["status"] for e in by_status} <= {"running", "waiting"}
    # ids made by the engine grow with time (UUID v7): those started together share their
    # first characters, and a prefix finds each execution whose id starts with it
    shared = served.client.get(API, params={"id_prefix": waiting[:8]}, headers=viewer)
    assert sorted(e["id"] for e in shared.json()["items"]) == \
        sorted(i for i in [*ids, waiting] if i.startswith(waiting[:8]))
    prefix = served.client.get(API, params={"id_prefix": waiting[:-4]}, headers=viewer)
    assert [e["id"] for e in prefix.json()["items"]] == [waiting]
    later = served.client.get(API, params={"created_after": "2999-01-01T00:00:00Z"},
                              headers=viewer)
    assert later.json() == {"items": [], "next_cursor": None}


def test_list_refuses_a_bad_filter_or_cursor_by_name(served: Served) -> None:
    viewer = served.headers("viewer")
    for params, path in [({"status": "runing"}, "query.status"),
                         ({"created_after": "yesterday"}, "query.created_after"),
                         ({"cursor": "not-a-cursor"}, "query.cursor"),
                         ({"limit": 501}, "query.limit"), ({"sort": "name"}, "query.sort")]:
        r = served.client.get(API, params=params, headers=viewer)
        assert r.status_code in (400, 422), (params, r.text)
        assert r.json()["errors"][0]["path"] == path, r.json()


def test_count_by_status(served: Served) -> None:
    served.engine.apply(ECHO)
    for i in range(3):
        served.engine.start("echo", {"i": i})
    served.engine.run_until_idle()
    served.engine.apply(WAITS)
    served.engine.start("waits", {})
    r = served.client.get(f"{API}/count", headers=served.headers("viewer")).json()
    assert r["total"] == 4 and r["by_status"]["completed"] == 3
    only = served.client.get(f"{API}/count", params={"workflow": "echo"},
                             headers=served.headers("viewer")).json()
    assert only == {"total": 3, "by_status": {"completed": 3}}


def test_a_signal_is_stored_and_moves_a_wait_on(served: Served) -> None:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    r = served.client.post(f"{API}/{eid}/signals", json={"name": "go", "data": {"ok": 1.5}},
                           headers=served.headers("operator"))
    assert r.status_code == 201 and r.json()["name"] == "go"
    served.engine.run_until_idle()
    assert served.engine.status(eid).status == "completed"
    blank = served.client.post(f"{API}/{eid}/signals", json={"name": ""},
                               headers=served.headers("operator"))
    assert blank.status_code == 422


def test_another_tenant_sees_nothing_of_these_executions(served: Served) -> None:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    other = served.headers("admin", tenant="acme")
    for path in [f"{API}/{eid}", f"{API}/{eid}/status"]:
        r = served.client.get(path, headers=other)
        assert r.status_code == 404 and r.json()["code"] == "not-found"
    assert served.client.get(API, headers=other).json()["items"] == []
    assert served.client.get(f"{API}/count", headers=other).json()["total"] == 0
    signal = served.client.post(f"{API}/{eid}/signals", json={"name": "go"}, headers=other)
    assert signal.status_code == 404
    assert served.engine.status(eid).signals_pending == 0


def test_a_viewer_cannot_start_or_signal(served: Served) -> None:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    viewer = served.headers("viewer")
    assert _start(served, {"workflow": "waits"}, role="viewer").status_code == 403
    r = served.client.post(f"{API}/{eid}/signals", json={"name": "go"}, headers=viewer)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_an_idempotency_key_starts_one_execution_however_often_it_is_sent(
        served: Served) -> None:
    served.engine.apply(ECHO)
    headers = {**served.headers("operator"), "Idempotency-Key": "order-7-start"}
    first = served.client.post(API, json={"workflow": "echo", "input": {"n": 7}},
                               headers=headers)
    again = served.client.post(API, json={"workflow": "echo", "input": {"n": 7}},
                               headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert len(served.engine.list()) == 1
    other = served.client.post(API, json={"workflow": "echo", "input": {"n": 8}},
                               headers=headers)
    assert other.status_code == 422 and len(served.engine.list()) == 1
    eid = first.json()["id"]
    pause = {**served.headers("operator"), "Idempotency-Key": "pause-1"}
    paused = served.client.post(f"{API}/{eid}/pause", json={"reason": "x"}, headers=pause)
    replayed = served.client.post(f"{API}/{eid}/pause", json={"reason": "x"}, headers=pause)
    assert paused.json() == replayed.json() and paused.json()["changed"] is True
    kinds = [e.event_type for e in served.engine.history(eid)]
    assert kinds.count("execution.paused") == 1
