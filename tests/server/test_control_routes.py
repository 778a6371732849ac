"""Control over HTTP on each backend: pause lists what still runs and what it holds back,
twice is harmless, If-Match is atomic (412 with the current version, nothing applied),
resume from a step, cancel, retry, rerun, fork, batch control; a viewer and another tenant
are refused."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Served
from tests.support import wait_for

API = "/api/v1/executions"
WAITS = {"name": "waits", "steps": [{"id": "w", "type": "wait", "signal": "go"},
                                    {"id": "after", "agent": "t.echo", "needs": ["w"]}]}
ECHO = {"name": "echo", "steps": [{"id": "a", "agent": "t.echo", "output": "a"},
                                  {"id": "b", "agent": "t.echo", "needs": ["a"]}]}
FAILS = {"name": "fails", "steps": [{"id": "a", "agent": "t.fail_once"}]}


def _post(served: Served, path: str, body: Any = None, role: str = "operator",
          **headers: str) -> Any:
    return served.client.post(f"{API}/{path}", json=body,
                              headers={**served.headers(role), **headers})


def test_pause_twice_is_harmless_and_resume_continues(served: Served) -> None:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    first = _post(served, f"{eid}/pause", {"reason": "check the data"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "paused" and body["changed"] is True
    assert "after" in body["pending"] and first.headers["ETag"] == f'"{body["version"]}"'
    again = _post(served, f"{eid}/pause")
    assert again.status_code == 200 and again.json()["changed"] is False
    assert again.json()["version"] == body["version"]  # nothing recorded
    shown = served.client.get(f"{API}/{eid}", headers=served.headers("viewer")).json()
    assert shown["last_control"]["action"] == "execution.paused"
    assert shown["last_control"]["reason"] == "check the data"
    resumed = _post(served, f"{eid}/resume")
    assert resumed.json()["status"] != "paused" and resumed.json()["changed"] is True
    assert _post(served, f"{eid}/resume").json()["changed"] is False


def test_a_stale_if_match_is_412_and_changes_nothing(served: Served) -> None:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    read = served.client.get(f"{API}/{eid}", headers=served.headers("viewer"))
    tag = read.headers["ETag"]
    served.engine.signal(eid, "go")  # someone else moves it on
    stale = _post(served, f"{eid}/pause", {"reason": "late"}, **{"If-Match": tag})
    assert stale.status_code == 412, stale.text
    problem = stale.json()
    assert problem["code"] == "version-mismatch"
    assert problem["current_version"] == served.engine.execution(eid).head_seq
    assert served.engine.status(eid).status != "paused"
    fresh = served.client.get(f"{API}/{eid}", headers=served.headers("viewer")).headers["ETag"]
    ok = _post(served, f"{eid}/pause", **{"If-Match": fresh})
    assert ok.status_code == 200 and ok.json()["status"] == "paused"
    bad = _post(served, f"{eid}/resume", **{"If-Match": "yesterday"})
    assert bad.status_code == 400 and bad.json()["code"] == "malformed"


def test_a_state_edit_with_a_stale_if_match_is_412(served: Served) -> None:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    served.engine.pause(eid)
    tag = f'"{served.engine.execution(eid).head_seq}"'
    served.engine.set_state(eid, "case", 1)
    r = served.client.patch(f"{API}/{eid}/state", content=b'{"case": 2}', headers={
        **served.headers("operator"), "Content-Type": "application/merge-patch+json",
        "If-Match": tag})
    assert r.status_code == 412, r.text
    assert r.json()["current_version"] == served.engine.execution(eid).head_seq
    assert served.engine.state(eid).state == {"case": 1}


def test_an_action_not_allowed_names_the_status_and_what_is(served: Served) -> None:
    served.engine.apply(ECHO)
    eid = served.engine.start("echo", {})
    served.engine.run_until_idle()
    r = _post(served, f"{eid}/pause")
    assert r.status_code == 409
    assert r.json()["current_status"] == "completed"
    assert set(r.json()["allowed_actions"]) == {"rerun", "fork"}


def test_cancel_then_cancel_again(served: Served) -> None:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    first = _post(served, f"{eid}/cancel", {"reason": "customer left"})
    assert first.json()["status"] == "cancelled" and first.json()["changed"] is True
    again = _post(served, f"{eid}/cancel")
    assert again.status_code == 200 and again.json()["changed"] is False


def test_retry_and_rerun_name_the_steps_that_run_again(served: Served) -> None:
    served.engine.apply({"name": "fails", "steps": [{"id": "a", "agent": "t.fail"}]})
    eid = served.engine.start("fails", {})
    served.engine.run_until_idle()
    assert served.engine.status(eid).status == "failed"
    retried = _post(served, f"{eid}/retry", {"reason": "fixed upstream"})
    assert retried.status_code == 200 and retried.json()["steps"] == ["a"]
    served.engine.apply(ECHO)
    done = served.engine.start("echo", {})
    served.engine.run_until_idle()
    unknown = _post(served, f"{done}/rerun", {"from_step": "zzz"})
    assert unknown.status_code in (404, 409, 422) and "zzz" in unknown.json()["detail"]
    rerun = _post(served, f"{done}/rerun", {"from_step": "b"})
    assert rerun.status_code == 200 and rerun.json()["steps"] == ["b"]


def test_fork_at_a_seq_makes_a_new_execution(served: Served) -> None:
    served.engine.apply(ECHO)
    eid = served.engine.start("echo", {"x": 1})
    served.engine.run_until_idle()
    r = _post(served, f"{eid}/fork", {"at_seq": 2, "input_patch": {"x": 2}})
    assert r.status_code == 201, r.text
    fork = r.json()["id"]
    assert r.json()["forked_from"] == eid and r.headers["Location"] == f"{API}/{fork}"
    shown = served.client.get(f"{API}/{fork}", headers=served.headers("viewer")).json()
    assert shown["forked_from"] == eid and shown["input"]["x"] == 2
    origin = served.client.get(f"{API}/{eid}", headers=served.headers("viewer")).json()
    assert fork in origin["forks"]


def test_batch_cancels_by_ids_and_reports_each(served: Served) -> None:
    served.engine.apply(WAITS)
    ids = [served.engine.start("waits", {}) for _ in range(3)]
    served.engine.cancel(ids[0])
    r = served.client.post(f"{API}/batch", json={"action": "cancel",
                                                 "ids": [*ids, "missing"], "reason": "bulk"},
                           headers=served.headers("operator"))
    assert r.status_code == 202, r.text
    batch_id = r.json()["batch_id"]
    url = f"/api/v1/batches/{batch_id}"
    wait_for(lambda: served.client.get(url, headers=served.headers("viewer")
                                       ).json()["state"] == "done", what="the batch ends")
    done = served.client.get(url, headers=served.headers("viewer")).json()
    by_id = {i["execution_id"]: i for i in done["items"]}
    assert done["total"] == 4 and done["done"] == 4 and done["failed"] == 1
    assert by_id[ids[0]]["ok"] and by_id[ids[0]]["changed"] is False
    assert all(by_id[i]["changed"] and by_id[i]["status"] == "cancelled" for i in ids[1:])
    assert by_id["missing"]["problem"] == "not-found"
    other = served.client.get(url, headers=served.headers("viewer", tenant="acme"))
    assert other.status_code == 404


def test_batch_by_status_and_a_batch_that_names_nothing(served: Served) -> None:
    served.engine.apply(WAITS)
    ids = [served.engine.start("waits", {}) for _ in range(2)]
    r = served.client.post(f"{API}/batch", json={"action": "pause", "status": ["pending", "running",
                                                                               "waiting"]},
                           headers=served.headers("operator"))
    assert r.status_code == 202 and r.json()["total"] == 2
    wait_for(lambda: all(served.engine.status(i).status == "paused" for i in ids),
             what="both paused")
    neither = served.client.post(f"{API}/batch", json={"action": "pause"},
                                 headers=served.headers("operator"))
    assert neither.status_code == 422
    bad = served.client.post(f"{API}/batch", json={"action": "explode", "ids": ids},
                             headers=served.headers("operator"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "body.action"


def test_a_viewer_cannot_control_and_another_tenant_finds_nothing(served: Served) -> None:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    for action in ["pause", "resume", "cancel", "retry", "fork"]:
        r = _post(served, f"{eid}/{action}", role="viewer")
        assert r.status_code == 403, action
        r = served.client.post(f"{API}/{eid}/{action}", json=None,
                               headers=served.headers("operator", tenant="acme"))
        assert r.status_code == 404, action
    assert served.engine.status(eid).status not in {"paused", "cancelled"}


def test_each_action_is_recorded_as_the_token_that_asked(served: Served) -> None:
    served.engine.apply(WAITS)
    eid = served.engine.start("waits", {})
    issued = served.engine.access.create_token("default", "operator", name="ops-bot")
    auth = {"Authorization": f"Bearer {issued.secret}"}
    served.client.post(f"{API}/{eid}/pause", json={"reason": "audit"}, headers=auth)
    served.client.post(f"{API}/{eid}/signals", json={"name": "go"}, headers=auth)
    entries = {e.event_type: e for e in served.engine.history(eid)}
    who = {"kind": "token", "id": f"token:{issued.row.id}"}
    assert entries["execution.paused"].actor == who
    assert entries["signal.received"].actor == who
    shown = served.client.get(f"{API}/{eid}", headers=auth).json()
    assert shown["last_control"]["actor"] == who
