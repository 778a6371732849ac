"""The origin notes' process-engine routes over HTTP on each backend, with their shapes
verbatim (seed 004): pause, resume, cancel and status as ``{success, data}``, every error
as ``{success: false, error: {code, message}}``; and the graph's threads (pure)."""

from __future__ import annotations

from ledgerflow.server.seed_shapes import branches
from tests.server.conftest import Served

SEED = "/api/v1/process-engine/executions/processes"
FLOW = {"name": "order", "steps": [
    {"id": "fetch", "agent": "t.echo"},
    {"id": "approve", "type": "wait", "signal": "go", "needs": ["fetch"]},
    {"id": "ship", "agent": "t.echo", "needs": ["approve"]},
    {"id": "invoice", "agent": "t.echo", "needs": ["approve"]},
]}


def test_threads_are_the_parallel_branches_of_the_graph() -> None:
    assert branches([("a", []), ("b", ["a"]), ("c", ["b"])]) == [["a", "b", "c"]]
    fan = [("a", []), ("b", ["a"]), ("c", ["a"]), ("b2", ["b"]), ("d", ["b2", "c"])]
    assert branches(fan) == [["a"], ["b", "b2"], ["c"], ["d"]]
    assert branches([("x", []), ("y", [])]) == [["x"], ["y"]]
    assert branches([]) == []


def _waiting(served: Served) -> str:
    served.engine.apply(FLOW)
    eid = served.engine.start("order", {"order_id": "ORD-1"})
    served.engine.run_until_idle()
    return eid


def test_pause_resume_cancel_answer_the_seeds_shapes(served: Served) -> None:
    eid = _waiting(served)
    operator = served.headers("operator")
    paused = served.client.post(f"{SEED}/{eid}/pause", headers=operator)
    assert paused.status_code == 200, paused.text
    body = paused.json()
    assert body["success"] is True
    assert set(body["data"]) == {"executionID", "status", "completedNodes", "totalNodes",
                                 "pausedAt"}
    assert body["data"]["executionID"] == eid and body["data"]["status"] == "paused"
    assert (body["data"]["completedNodes"], body["data"]["totalNodes"]) == (1, 4)
    assert body["data"]["pausedAt"].endswith("Z")
    assert served.client.post(f"{SEED}/{eid}/pause", headers=operator).json()["success"]

    resumed = served.client.post(f"{SEED}/{eid}/resume", headers=operator).json()
    assert set(resumed["data"]) == {"executionID", "status", "resumedAt", "pendingNodes"}
    assert resumed["data"]["status"] in {"running", "waiting"}
    assert resumed["data"]["pendingNodes"] == 2

    cancelled = served.client.post(f"{SEED}/{eid}/cancel", headers=operator).json()
    assert cancelled == {"success": True, "data": {
        "executionID": eid, "status": "cancelled",
        "cancelledAt": cancelled["data"]["cancelledAt"]}}
    assert cancelled["data"]["cancelledAt"].endswith("Z")


def test_status_answers_the_seeds_shape_with_threads(served: Served) -> None:
    eid = _waiting(served)
    r = served.client.get(f"{SEED}/{eid}/status", headers=served.headers("viewer"))
    assert r.status_code == 200
    data = r.json()["data"]
    assert r.json()["success"] is True
    assert set(data) == {"executionID", "processID", "status", "isActive", "progress",
                         "timing", "threads"}
    assert data["processID"] == "order" and data["isActive"] is True
    assert data["progress"] == {"totalNodes": 4, "completedNodes": 1, "failedNodes": 0,
                                "percentage": 25.0}
    assert set(data["timing"]) == {"startedAt", "stoppedAt", "durationMs"}
    assert data["timing"]["stoppedAt"] is None
    assert [(t["processThreadID"], t["completedNodes"], t["totalNodes"])
            for t in data["threads"]] == [(1, 1, 2), (2, 0, 1), (3, 0, 1)]
    served.engine.signal(eid, "go")
    served.engine.run_until_idle()
    done = served.client.get(f"{SEED}/{eid}/status", headers=served.headers("viewer")).json()
    assert done["data"]["isActive"] is False and done["data"]["progress"]["percentage"] == 100
    assert done["data"]["timing"]["durationMs"] >= 0


def test_errors_answer_the_seeds_error_shape(served: Served) -> None:
    eid = _waiting(served)
    missing = served.client.post(f"{SEED}/nope/pause", headers=served.headers("operator"))
    assert missing.status_code == 404
    assert missing.json()["success"] is False
    assert missing.json()["error"]["code"] == "not-found"
    assert "nope" in missing.json()["error"]["message"]
    viewer = served.client.post(f"{SEED}/{eid}/cancel", headers=served.headers("viewer"))
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "forbidden"
    nobody = served.client.get(f"{SEED}/{eid}/status")
    assert nobody.status_code == 401 and set(nobody.json()) == {"success", "error"}
    other = served.client.get(f"{SEED}/{eid}/status",
                              headers=served.headers("viewer", tenant="acme"))
    assert other.status_code == 404 and other.json()["success"] is False
    served.engine.cancel(eid)
    refused = served.client.post(f"{SEED}/{eid}/resume", headers=served.headers("operator"))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "invalid-transition"
