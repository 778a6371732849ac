"""What every route shares: problem+json errors, authentication, the role table, body
limits, request ids, the OpenAPI document."""

from __future__ import annotations

import pytest

from ledgerflow import App
from ledgerflow.access import tokens
from ledgerflow.server import permissions
from ledgerflow.server.app import create_app
from tests.server.conftest import Served

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "code", "request_id",
                "retryable", "errors"}


def operations() -> list[str | None]:
    """The operation id of every operation the served OpenAPI document lists."""
    api = create_app(App.__new__(App))
    return [op.get("operationId") for path in api.openapi()["paths"].values()
            for op in path.values()]


def test_every_operation_is_in_the_role_table_and_nothing_else() -> None:
    listed = operations()
    assert None not in listed, "every route names its operation_id"
    assert len(set(listed)) == len(listed), "operation ids are unique"
    found = set(listed)
    assert sorted(found - set(permissions.NEEDS)) == [], "routes without a role"
    assert sorted(set(permissions.NEEDS) - set(found)) == [], "roles of no route"


def test_health_and_readiness_need_no_token(served: Served) -> None:
    assert served.client.get("/healthz").json() == {"status": "ok"}
    ready = served.client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["migrations_pending"] == 0


@pytest.mark.parametrize(("header", "reason"), [
    (None, "missing"), ("Bearer", "malformed"), ("Basic abc", "malformed"),
    ("Bearer not-a-token", "malformed"), (f"Bearer {tokens.new('admin').text}", "unknown"),
])
def test_no_usable_token_is_401_problem_json(served: Served, header: str | None,
                                              reason: str) -> None:
    headers = {"Authorization": header} if header else {}
    r = served.client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    body = r.json()
    assert set(body) >= PROBLEM_KEYS
    assert (body["code"], body["reason"], body["status"]) == ("unauthorized", reason, 401)
    assert body["request_id"] == r.headers["x-request-id"]


def test_me_names_the_tenant_and_token(served: Served) -> None:
    issued = served.engine.access.create_token("default", "operator", name="bot")
    r = served.client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued.secret}"})
    assert r.status_code == 200
    assert r.json() == {"tenant": "default", "token": {
        "id": issued.row.id, "name": "bot", "role": "operator",
        "expires_at": issued.row.expires_at}}


def test_a_revoked_token_is_refused_at_once(served: Served) -> None:
    issued = served.engine.access.create_token("default", "viewer")
    auth = {"Authorization": f"Bearer {issued.secret}"}
    assert served.client.get("/api/v1/me", headers=auth).status_code == 200
    served.engine.access.revoke(issued.row.id)
    r = served.client.get("/api/v1/me", headers=auth)
    assert (r.status_code, r.json()["reason"]) == (401, "revoked")


def test_an_unknown_route_is_a_problem_not_a_page(served: Served) -> None:
    r = served.client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["code"] == "no-route"
    assert r.headers["content-type"] == "application/problem+json"


def test_a_body_too_large_is_413_before_parsing(served: Served) -> None:
    r = served.client.post("/api/v1/me", content=b"{" + b" " * (1024 * 1024) + b"}",
                           headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (413, "too-large")


def test_a_body_too_deep_is_422_before_parsing(served: Served) -> None:
    deep = b"[" * 65 + b"]" * 65
    r = served.client.post("/api/v1/me", content=deep,
                           headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (422, "too-deep")


def test_the_openapi_document_and_docs_are_served(served: Served) -> None:
    doc = served.client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "/api/v1/me" in doc["paths"]
    assert served.client.get("/api/v1/docs").status_code == 200
