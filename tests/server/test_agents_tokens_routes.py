"""Agents, breakers, workers and verification over HTTP; tokens (made never wider than the
maker, secret shown once, revoked at once) and tenants (the system token's only work)."""

from __future__ import annotations

from urllib.parse import quote

from tests.server.conftest import Served
from tests.support import Agents, wait_for

API = "/api/v1"
ECHO = {"name": "echo", "steps": [{"id": "a", "agent": "t.echo"}]}


def _ran(served: Served) -> str:
    served.engine.apply(ECHO)
    eid = served.engine.start("echo", {})
    served.engine.run_until_idle()
    return eid


def test_agents_and_workers_are_listed(served: Served) -> None:
    _ran(served)
    viewer = served.headers("viewer")
    agents = served.client.get(f"{API}/agents", headers=viewer)
    assert agents.status_code == 200, agents.text
    assert all(a["breaker"] in ("closed", "open", "half_open") for a in agents.json()["items"])
    workers = served.client.get(f"{API}/workers", headers=viewer)
    assert workers.status_code == 200 and isinstance(workers.json()["items"], list)


def test_a_breaker_reset_is_recorded_with_the_token_that_asked(served: Served) -> None:
    _ran(served)
    name = next(a.agent for a in served.engine.agents() if a.capability == "t.echo")
    issued = served.engine.access.create_token("default", "admin", name="ops")
    admin = {"Authorization": f"Bearer {issued.secret}"}
    path = f"{API}/agents/{quote(name, safe='')}/breaker"
    r = served.client.post(f"{path}/reset", headers=admin)
    assert r.status_code == 200, r.text
    moved = r.json()["items"]
    assert moved and all(t["to_state"] == "closed" and t["actor"] == f"token:{issued.row.id}"
                         for t in moved)
    listed = served.client.get(f"{path}/transitions", headers=served.headers("viewer"))
    assert listed.json()["items"][-1]["actor"] == f"token:{issued.row.id}"
    r = served.client.post(f"{path}/reset", params={"reason": "probe by hand"}, headers=admin)
    assert all(t["reason"].endswith(": probe by hand") for t in r.json()["items"])


def test_an_unknown_agents_breaker_is_404_and_a_reset_needs_an_admin(served: Served) -> None:
    r = served.client.post(f"{API}/agents/nobody/breaker/reset", headers=served.headers())
    assert r.status_code == 404
    r = served.client.post(f"{API}/agents/nobody/breaker/reset",
                           headers=served.headers("operator"))
    assert r.status_code == 403 and r.json()["needed_role"] == "admin"


def test_verify_checks_this_tenants_executions_only(served: Served) -> None:
    eid = _ran(served)
    r = served.client.post(f"{API}/verify", headers=served.headers("viewer"))
    assert r.status_code == 200 and r.json() == {"verified": 1, "failures": []}
    one = served.client.post(f"{API}/verify", json={"execution_ids": [eid]},
                             headers=served.headers("viewer"))
    assert one.json()["verified"] == 1
    acme = served.headers("viewer", "acme")
    assert served.client.post(f"{API}/verify", headers=acme).json()["verified"] == 0
    theirs = served.client.post(f"{API}/verify", json={"execution_ids": [eid]}, headers=acme)
    assert theirs.status_code == 404


def test_a_token_is_made_listed_without_secret_and_revoked(served: Served) -> None:
    admin = served.headers("admin")
    made = served.client.post(f"{API}/tokens", json={"role": "viewer", "name": "bot"},
                              headers=admin)
    assert made.status_code == 201, made.text
    secret, token_id = made.json()["token"], made.json()["id"]
    assert (made.json()["role"], made.json()["tenant"]) == ("viewer", "default")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert served.client.get(f"{API}/me", headers=bearer).status_code == 200
    listed = served.client.get(f"{API}/tokens", headers=admin)
    assert token_id in [t["id"] for t in listed.json()["items"]]
    assert secret not in listed.text and "token" not in listed.json()["items"][0]
    gone = served.client.delete(f"{API}/tokens/{token_id}", headers=admin)
    assert gone.status_code == 204
    refused = served.client.get(f"{API}/me", headers=bearer)
    assert refused.status_code == 401 and refused.json()["reason"] == "revoked"


def test_a_token_never_makes_a_wider_one(served: Served) -> None:
    for role in ("system", "metrics"):
        r = served.client.post(f"{API}/tokens", json={"role": role},
                               headers=served.headers("admin"))
        assert r.status_code in (403, 422), r.text
    r = served.client.post(f"{API}/tokens", json={"role": "viewer"},
                           headers=served.headers("operator"))
    assert r.status_code == 403


def test_another_tenants_token_is_404(served: Served) -> None:
    theirs = served.engine.access.create_token("default", "viewer")
    acme = served.headers("admin", "acme")
    r = served.client.delete(f"{API}/tokens/{theirs.row.id}", headers=acme)
    missing = served.client.delete(f"{API}/tokens/tok_0000000000000000", headers=acme)
    assert r.status_code == missing.status_code == 404
    assert served.engine.access.token(theirs.row.id).revoked_at is None
    assert theirs.row.id not in served.client.get(f"{API}/tokens", headers=acme).text


def test_only_the_system_token_manages_tenants(served: Served) -> None:
    system = served.headers("system", None)
    made = served.client.post(f"{API}/admin/tenants", json={"tenant": "beta"}, headers=system)
    assert made.status_code == 201, made.text
    first = {"Authorization": f"Bearer {made.json()['token']}"}
    me = served.client.get(f"{API}/me", headers=first).json()
    assert (me["tenant"], me["token"]["role"]) == ("beta", "admin")
    listed = served.client.get(f"{API}/admin/tenants", headers=system).json()["items"]
    assert {"default", "beta"} <= {t["tenant"] for t in listed}
    again = served.client.post(f"{API}/admin/tenants", json={"tenant": "beta"}, headers=system)
    assert again.status_code == 409
    bad = served.client.post(f"{API}/admin/tenants", json={"tenant": "Bad Id"}, headers=system)
    assert bad.status_code == 422
    assert served.client.get(f"{API}/admin/tenants",
                             headers=served.headers("admin")).status_code == 403
    for path in ("/tokens", "/agents", "/workers", "/definitions"):
        assert served.client.get(f"{API}{path}", headers=system).status_code == 403, path


def test_a_viewer_is_refused_every_operator_and_admin_route(served: Served) -> None:
    viewer = served.headers("viewer")
    tried = [served.client.post(f"{API}/definitions", json=ECHO, headers=viewer),
             served.client.patch(f"{API}/executions/x/state", json={}, headers=viewer),
             served.client.post(f"{API}/agents/a/breaker/reset", headers=viewer),
             served.client.post(f"{API}/tokens", json={"role": "viewer"}, headers=viewer),
             served.client.get(f"{API}/tokens", headers=viewer),
             served.client.delete(f"{API}/tokens/tok_1", headers=viewer),
             served.client.get(f"{API}/admin/tenants", headers=viewer)]
    assert [r.status_code for r in tried] == [403] * len(tried)


def test_a_tenant_sees_its_workers_and_only_its_steps_on_a_shared_one(
        served: Served, agents: Agents) -> None:
    engine = served.engine
    gated = {"name": "gated", "steps": [{"id": "g", "agent": "t.gate"}]}
    engine.access.create_tenant("acme")
    acme = engine.for_tenant("acme")
    acme.apply(gated)
    engine.apply(gated)
    engine.launch(all_tenants=True)
    try:
        theirs = acme.start("gated", {})
        mine = engine.start("gated", {})
        wait_for(lambda: sum(len(w.steps) for w in engine.workers()) == 2,
                 what="both steps run")
        viewer = served.headers("viewer")
        shown = served.client.get(f"{API}/workers", headers=viewer).json()["items"]
        assert len(shown) == 1 and shown[0]["tenant"] is None
        assert [st["execution"] for st in shown[0]["steps"]] == [mine]
        other = served.client.get(f"{API}/workers", headers=served.headers("viewer", "acme"))
        assert [st["execution"] for st in other.json()["items"][0]["steps"]] == [theirs]
    finally:
        agents.gate.opened.set()
