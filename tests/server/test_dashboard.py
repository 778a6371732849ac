"""The dashboard's session and its guards over HTTP, without a browser, on each backend:
the cookie and its flags, CSRF, roles as the API's table says, sign-in from elsewhere,
and /ui left out of the OpenAPI document. (Tests in a real browser: tests/browser.)"""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from ledgerflow.dashboard import session
from tests.server.conftest import Served

FLOW = {"name": "flow", "steps": [{"id": "w", "type": "wait", "signal": "go"}]}


def signed_in(served: Served, role: str, client: TestClient | None = None) -> str:
    """Sign ``client`` in with a new token of ``role``; its CSRF token."""
    client = client or served.client
    r = client.post("/ui/login", data={"token": served.token(role)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
    page = client.get("/ui/")
    found = re.search(r'name="csrf-token" content="([0-9a-f]{64})"', page.text)
    assert found is not None
    return found.group(1)


def test_the_session_cookie_holds_the_token_with_strict_flags(served: Served) -> None:
    token = served.token("viewer")
    r = served.client.post("/ui/login", data={"token": token, "next": "/ui/executions"},
                           follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/ui/executions")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{session.COOKIE}={token};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS it is Secure
    https = TestClient(served.client.app, base_url="https://testserver")
    r = https.post("/ui/login", data={"token": token}, follow_redirects=False)
    assert "Secure" in r.headers["set-cookie"]


def test_a_sign_in_from_another_site_or_to_another_site_is_refused(served: Served) -> None:
    token = served.token("viewer")
    r = served.client.post("/ui/login", data={"token": token},
                           headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403 and "set-cookie" not in r.headers
    r = served.client.post("/ui/login", data={"token": token, "next": "//evil.example/ui/"},
                           follow_redirects=False)
    assert r.headers["location"] == "/ui/"  # only a page of this dashboard


def test_every_action_needs_the_sessions_csrf_token(served: Served) -> None:
    served.engine.apply(FLOW)
    eid = served.engine.start("flow", {})
    csrf = signed_in(served, "operator")
    url = f"/ui/executions/{eid}/pause"
    for headers in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": ""}):
        r = served.client.post(url, data={"version": "1"}, headers=headers)
        assert r.status_code == 403, headers
        assert "CSRF" in r.text
    assert served.engine.status(eid).status != "paused"
    # another session's CSRF token is not this one's
    other = TestClient(served.client.app)
    other_csrf = signed_in(served, "operator", other)
    assert other_csrf != csrf
    assert served.client.post(url, headers={"X-CSRF-Token": other_csrf}).status_code == 403
    r = served.client.post(url, data={"reason": "by form", "csrf_token": csrf})
    assert r.status_code == 200 and "Paused" in r.text
    assert served.engine.status(eid).status == "paused"


def test_a_stale_version_is_a_412_banner_and_changes_nothing(served: Served) -> None:
    served.engine.apply(FLOW)
    eid = served.engine.start("flow", {})
    csrf = signed_in(served, "operator")
    seen = served.engine.execution(eid).head_seq
    served.engine.pause(eid, "elsewhere")
    r = served.client.post(f"/ui/executions/{eid}/cancel", data={"version": str(seen)},
                           headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 412
    assert "This execution changed since you loaded it" in r.text
    assert served.engine.status(eid).status == "paused"


def test_roles_are_the_apis_a_viewer_reads_and_verifies_but_cannot_act(
        served: Served) -> None:
    served.engine.apply(FLOW)
    eid = served.engine.start("flow", {})
    csrf = signed_in(served, "viewer")
    page = served.client.get(f"/ui/executions/{eid}")
    assert page.status_code == 200 and 'data-action="pause"' not in page.text
    for action in ("pause", "resume", "cancel", "retry"):
        r = served.client.post(f"/ui/executions/{eid}/{action}", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403 and "viewer" in r.text, action
    r = served.client.post(f"/ui/executions/{eid}/verify", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and "verify-ok" in r.text
    run = served.engine.last_verification()  # recorded, as the API's verify records it
    assert run is not None and (run.checked, run.scope, run.ok) == (1, "some", True)
    metrics = TestClient(served.client.app)
    r = metrics.post("/ui/login", data={"token": served.token("metrics")})
    assert r.status_code == 403 and "cannot use the dashboard" in r.text


def test_a_revoked_token_ends_the_session_and_logout_clears_it(served: Served) -> None:
    token = served.token("operator")
    served.client.post("/ui/login", data={"token": token})
    assert served.client.get("/ui/", follow_redirects=False).status_code == 200
    served.engine.access.revoke(served.engine.access.authenticate(token).token_id)
    r = served.client.get("/ui/executions", follow_redirects=False)
    assert r.status_code == 303 and "why=revoked" in r.headers["location"]
    assert "revoked" in served.client.get(r.headers["location"]).text
    csrf = signed_in(served, "operator")
    r = served.client.post("/ui/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and f'{session.COOKIE}=""' in r.headers["set-cookie"]


def test_ui_is_no_api_operation_and_its_unknown_pages_are_not_found(served: Served) -> None:
    paths = served.client.get("/api/v1/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]
    signed_in(served, "viewer")
    for path in ("/ui/nothing-here", "/ui/executions/no-such-id"):
        r = served.client.get(path)
        assert r.status_code == 404 and "Not found" in r.text
    assert served.client.get("/ui/static/vendor/htmx/LICENSE").status_code == 200


def test_no_log_line_holds_the_token(served: Served, caplog: pytest.LogCaptureFixture
                                     ) -> None:
    caplog.set_level(logging.DEBUG)
    token = served.token("operator")
    served.client.post("/ui/login", data={"token": token})
    served.client.get("/ui/")
    served.client.get("/ui/executions/missing")
    served.client.post("/ui/executions/missing/pause")  # refused: no CSRF token
    served.client.post("/ui/login", data={"token": token + "x"})  # a wrong one
    assert caplog.records  # the access log spoke...
    assert token not in caplog.text and token[:20] not in caplog.text  # ...never of it
