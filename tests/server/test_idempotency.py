"""``Idempotency-Key`` through HTTP on each backend: a retry gets the first answer again
(``Idempotent-Replayed: true``) and acts once; the key with another request is a 422, while
the first is answered a 409; keys are per tenant, expire after 24 hours, and a 5xx frees
them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledgerflow import Listing
from ledgerflow.access.idempotency import Keys
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.server import permissions
from ledgerflow.server.app import create_app
from ledgerflow.server.idempotency_rules import fingerprint
from ledgerflow.storage.postgres import PostgresStore
from ledgerflow.storage.sqlite import SqliteStore
from ledgerflow.testing import FakeClock
from tests.server.conftest import Served

if TYPE_CHECKING:
    from httpx2 import Response

API = "/api/v1"
VIEWER = {"role": "viewer", "name": "ci"}


def post(served: Served, path: str, body: Any, headers: dict[str, str],
         key: str | None = None) -> Response:
    sent = {**headers, "Content-Type": "application/json"}
    if key is not None:
        sent["Idempotency-Key"] = key
    return served.client.post(f"{API}{path}", content=json.dumps(body).encode(), headers=sent)


def named(served: Served, name: str, tenant: str = "default") -> list[str]:
    return [t.id for t in served.engine.access.tokens(tenant) if t.name == name]


def replayed(r: Response) -> bool:
    return r.headers.get("Idempotent-Replayed") == "true"


def test_a_retry_gets_the_first_answer_and_makes_no_second_token(served: Served) -> None:
    admin = served.headers()
    first = post(served, "/tokens", VIEWER, admin, key="key-1")
    assert first.status_code == 201, first.text
    assert not replayed(first)
    again = post(served, "/tokens", VIEWER, admin, key="key-1")
    assert again.status_code == 201 and replayed(again)
    assert again.content == first.content  # the secret too: it is the same token
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    assert named(served, "ci") == [first.json()["id"]]
    quoted = post(served, "/tokens", VIEWER, admin, key='"key-1"')  # the draft's form
    assert quoted.status_code == 201 and replayed(quoted)


def test_a_replayed_start_names_the_execution_it_made_as_the_first_did(
        served: Served) -> None:
    served.engine.apply({"name": "waits", "steps": [{"id": "w", "type": "wait",
                                                     "signal": "go"}]})
    operator = served.headers("operator")
    body = {"workflow": "waits", "input": {}}
    first = post(served, "/executions", body, operator, key="start-1")
    assert first.status_code == 201, first.text
    again = post(served, "/executions", body, operator, key="start-1")
    assert again.status_code == 201 and replayed(again)
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert len(served.engine.page(Listing())) == 1  # started once


def test_without_a_key_every_request_acts(served: Served) -> None:
    admin = served.headers()
    assert post(served, "/tokens", VIEWER, admin).status_code == 201
    r = post(served, "/tokens", VIEWER, admin)
    assert r.status_code == 201 and not replayed(r)
    assert len(named(served, "ci")) == 2


def test_a_system_tokens_retry_makes_the_tenant_once(served: Served) -> None:
    system = served.headers("system", None)
    first = post(served, "/admin/tenants", {"tenant": "acme"}, system, key="t-1")
    assert first.status_code == 201, first.text
    again = post(served, "/admin/tenants", {"tenant": "acme"}, system, key="t-1")
    assert again.status_code == 201 and replayed(again)  # not a 409: it ran once
    assert again.json() == first.json()
    fresh = post(served, "/admin/tenants", {"tenant": "acme"}, system, key="t-2")
    assert fresh.status_code == 409 and not replayed(fresh)


def test_a_4xx_answer_is_kept_as_well(served: Served) -> None:
    admin = served.headers()
    bad = {"name": "broken", "steps": [{"id": "a"}]}
    first = post(served, "/definitions", bad, admin, key="def-1")
    assert first.status_code == 422, first.text
    again = post(served, "/definitions", bad, admin, key="def-1")
    assert again.status_code == 422 and replayed(again)
    assert again.json() == first.json()
    assert again.headers["content-type"] == "application/problem+json"


def test_the_key_with_another_request_is_refused(served: Served) -> None:
    admin = served.headers()
    assert post(served, "/tokens", VIEWER, admin, key="key-1").status_code == 201
    other_body = post(served, "/tokens", {"role": "viewer", "name": "other"}, admin,
                      key="key-1")
    assert other_body.status_code == 422
    problem = other_body.json()
    assert problem["code"] == "idempotency-key-reused" and problem["key"] == "key-1"
    assert problem["type"] == "urn:ledgerflow:problem:idempotency-key-reused"
    other_path = post(served, "/verify", VIEWER, admin, key="key-1")
    assert other_path.status_code == 422
    assert other_path.json()["code"] == "idempotency-key-reused"
    assert named(served, "other") == []


def test_while_the_first_is_answered_a_retry_is_told_to_wait(served: Served) -> None:
    admin = served.headers()
    body = json.dumps(VIEWER).encode()
    keys = Keys(served.engine.store, served.engine.clock)
    claim, claimed = keys.claim("default", "busy", fingerprint("POST", f"{API}/tokens", body))
    assert claimed
    r = post(served, "/tokens", VIEWER, admin, key="busy")
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "idempotency-in-flight" and r.json()["retryable"] is True
    assert r.headers["Retry-After"] == "1"
    assert named(served, "ci") == []
    keys.release(claim)  # the first request ended without an answer to keep
    r = post(served, "/tokens", VIEWER, admin, key="busy")
    assert r.status_code == 201 and not replayed(r)


def test_another_tenants_key_never_replays(served: Served) -> None:
    mine = post(served, "/tokens", VIEWER, served.headers(), key="shared")
    theirs = post(served, "/tokens", VIEWER, served.headers(tenant="acme"), key="shared")
    assert mine.status_code == theirs.status_code == 201
    assert not replayed(theirs) and theirs.json()["tenant"] == "acme"
    assert theirs.json()["id"] != mine.json()["id"]
    assert len(named(served, "ci", "acme")) == 1


def test_a_caller_the_route_refuses_gets_its_refusal_not_the_stored_answer(
        served: Served) -> None:
    assert post(served, "/tokens", VIEWER, served.headers(), key="key-1").status_code == 201
    viewer = post(served, "/tokens", VIEWER, served.headers("viewer"), key="key-1")
    assert viewer.status_code == 403 and not replayed(viewer)
    anonymous = post(served, "/tokens", VIEWER, {}, key="key-1")
    assert anonymous.status_code == 401 and not replayed(anonymous)


def test_a_kept_answer_expires_after_24_hours(served: Served, clock: FakeClock) -> None:
    admin = served.headers()
    first = post(served, "/tokens", VIEWER, admin, key="daily")
    clock.advance(24 * 3600 - 1)
    assert replayed(post(served, "/tokens", VIEWER, admin, key="daily"))
    clock.advance(1)
    later = post(served, "/tokens", VIEWER, admin, key="daily")
    assert later.status_code == 201 and not replayed(later)
    assert later.json()["id"] != first.json()["id"]
    assert len(named(served, "ci")) == 2


def test_the_server_deletes_expired_keys(served: Served, clock: FakeClock) -> None:
    admin = served.headers()
    post(served, "/tokens", VIEWER, admin, key="old")
    clock.advance(25 * 3600)
    post(served, "/tokens", VIEWER, admin, key="new")  # its end deletes what expired
    assert served.engine.store.purge_idempotency_keys(format_timestamp(clock.now())) == 0


@contextmanager
def refusing_new_tokens(served: Served) -> Iterator[None]:
    """The database refuses every new token (a trigger) until the block ends."""
    store = served.engine.store
    if isinstance(store, SqliteStore):
        conn = sqlite3.connect(store.path, isolation_level=None)
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON api_tokens "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        try:
            yield
        finally:
            conn.execute("DROP TRIGGER refuse")
            conn.close()
        return
    assert isinstance(store, PostgresStore)
    with psycopg.connect(store.target.conninfo, autocommit=True) as pg:
        pg.execute("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$")
        pg.execute("CREATE TRIGGER refuse BEFORE INSERT ON api_tokens "
                   "FOR EACH ROW EXECUTE FUNCTION refuse()")
        try:
            yield
        finally:
            pg.execute("DROP TRIGGER refuse ON api_tokens")
            pg.execute("DROP FUNCTION refuse()")


def test_a_5xx_frees_the_key_so_a_retry_runs(served: Served) -> None:
    admin = served.headers()
    with refusing_new_tokens(served):
        failed = post(served, "/tokens", VIEWER, admin, key="retry-me")
    assert failed.status_code == 500, failed.text
    retried = post(served, "/tokens", VIEWER, admin, key="retry-me")
    assert retried.status_code == 201 and not replayed(retried)
    assert replayed(post(served, "/tokens", VIEWER, admin, key="retry-me"))
    assert len(named(served, "ci")) == 1


def test_a_route_that_crashes_frees_the_key(served: Served,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error (the exception passes through the layer): the key is freed."""
    monkeypatch.setitem(permissions.NEEDS, "boom", "viewer")
    api = create_app(served.engine)
    calls: list[int] = []

    @api.post(f"{API}/boom", operation_id="boom")
    def boom() -> dict[str, int]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the first call fails")
        return {"calls": len(calls)}

    viewer = served.headers("viewer")
    with TestClient(api, raise_server_exceptions=False) as client:
        def call() -> Response:
            return client.post(f"{API}/boom", headers={**viewer, "Idempotency-Key": "b"})

        assert call().status_code == 500
        again = call()
        assert again.status_code == 200 and not replayed(again)
        third = call()
        assert replayed(third) and third.json() == {"calls": 2}
    assert len(calls) == 2


def test_an_empty_or_too_long_key_is_malformed(served: Served) -> None:
    admin = served.headers()
    for key in ("", "k" * 256):
        r = post(served, "/tokens", VIEWER, admin, key=key)
        assert r.status_code == 400 and r.json()["code"] == "malformed", r.text
        assert "Idempotency-Key" in r.json()["detail"]
        assert r.json()["request_id"] == r.headers["X-Request-ID"]
    assert post(served, "/tokens", VIEWER, admin, key="k" * 255).status_code == 201
    assert len(named(served, "ci")) == 1


def test_the_openapi_document_offers_the_header_on_every_post(served: Served) -> None:
    doc = served.client.get(f"{API}/openapi.json").json()
    posts = gets = 0
    for operations in doc["paths"].values():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            if method == "post":
                posts += 1
                assert names.count("Idempotency-Key") == 1, operation["operationId"]
            else:
                gets += 1
                assert "Idempotency-Key" not in names
    assert posts and gets
    again = served.client.get(f"{API}/openapi.json").json()
    assert again == doc  # documented once, not once per fetch
