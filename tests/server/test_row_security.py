"""The server on a PostgreSQL database owned by an ordinary role, where row-level security
holds each request to its token's tenant: a tenant's token starts, reads, controls and
follows its executions while a worker (no tenant set) runs every tenant's, and another
tenant's execution stays out of reach."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ledgerflow import App
from ledgerflow.server.app import create_app
from tests.support import Agents

FLOW = {"name": "flow", "steps": [{"id": "a", "agent": "t.echo"},
                                  {"id": "w", "type": "wait", "signal": "go", "needs": ["a"]}]}
API = "/api/v1/executions"


def test_each_tenant_works_through_row_level_security(owner_url: str, agents: Agents) -> None:
    engine = App(owner_url, migrate=True)
    agents.register(engine)
    try:
        acme = engine.access.create_tenant("acme")
        engine.for_tenant("acme").apply(FLOW)
        engine.apply(FLOW)
        mine = engine.start("flow", {})
        auth = {"Authorization": f"Bearer {acme.secret}"}
        with TestClient(create_app(engine), raise_server_exceptions=False) as client:
            started = client.post(API, json={"workflow": "flow", "input": {"n": 1}},
                                  headers=auth)
            assert started.status_code == 201, started.text
            theirs = started.json()["id"]
            engine.run_until_idle(all_tenants=True)  # no tenant set: it runs both
            assert client.get(f"{API}/{theirs}", headers=auth).json()["status"] == "waiting"
            assert [e["id"] for e in client.get(API, headers=auth).json()["items"]] == [theirs]
            assert client.post(f"{API}/{theirs}/signals", json={"name": "go"},
                               headers=auth).status_code == 201
            assert client.get(f"{API}/{mine}", headers=auth).status_code == 404
            assert client.post(f"{API}/{mine}/cancel", headers=auth).status_code == 404
            engine.run_until_idle(all_tenants=True)
            assert client.get(f"{API}/{theirs}", headers=auth).json()["status"] == "completed"
            history = client.get(f"{API}/{theirs}/history", headers=auth).json()["items"]
            assert history[-1]["event_type"] == "execution.completed"
        assert engine.status(mine).status == "waiting" and engine.verify(mine).ok
    finally:
        engine.close()
