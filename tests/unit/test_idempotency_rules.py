"""The pure parts of idempotency keys: a key's form, a request's fingerprint, which answers
are kept, what a request finds when its key is held, and which operation a path names."""

from __future__ import annotations

import pytest

from ledgerflow import errors
from ledgerflow.access.idempotency import IdempotencyRow
from ledgerflow.server import idempotency_rules as rules
from ledgerflow.server.operations import Operations


def test_a_key_is_taken_as_sent_or_from_inside_quotes() -> None:
    assert rules.parse_key("abc-1") == "abc-1"
    assert rules.parse_key(' "abc-1" ') == "abc-1"
    assert rules.parse_key("k" * 255) == "k" * 255


@pytest.mark.parametrize("value", ["", "  ", '""', "k" * 256])
def test_an_empty_or_too_long_key_is_a_400(value: str) -> None:
    with pytest.raises(errors.HttpProblem) as info:
        rules.parse_key(value)
    assert (info.value.status, info.value.code) == (400, "malformed")


def test_the_fingerprint_tells_method_path_and_body_apart() -> None:
    base = rules.fingerprint("POST", "/api/v1/tokens", b'{"role":"viewer"}')
    assert base == rules.fingerprint("post", "/api/v1/tokens", b'{"role":"viewer"}')
    others = {rules.fingerprint("PUT", "/api/v1/tokens", b'{"role":"viewer"}'),
              rules.fingerprint("POST", "/api/v1/verify", b'{"role":"viewer"}'),
              rules.fingerprint("POST", "/api/v1/tokens?x=1", b'{"role":"viewer"}'),
              rules.fingerprint("POST", "/api/v1/tokens", b'{"role":"admin"}'),
              # the parts are length-prefixed: moving a byte between them changes it
              rules.fingerprint("POST", "/api/v1/tokens{", b'"role":"viewer"}')}
    assert base not in others and len(others) == 5


@pytest.mark.parametrize(("status", "kept"), [(200, True), (201, True), (204, True),
                                              (400, True), (404, True), (422, True),
                                              (304, False), (500, False), (503, False)])
def test_2xx_and_4xx_answers_are_kept(status: int, kept: bool) -> None:
    assert rules.kept(status) is kept


def row(state: str, fingerprint: str = "f") -> IdempotencyRow:
    return IdempotencyRow(tenant_id="acme", key="k", fingerprint=fingerprint, state=state,
                          created_at="t0", expires_at="t1")


def test_what_a_request_finds_when_its_key_is_held() -> None:
    assert rules.found(row("done"), "f") == "replay"
    assert rules.found(row("in_flight"), "f") == "in_flight"
    assert rules.found(row("done"), "g") == "reused"
    assert rules.found(row("in_flight"), "g") == "reused"  # another request: said at once
    assert rules.reused("k").status == 422 and rules.reused("k").code == "idempotency-key-reused"
    busy = rules.in_flight("k")
    assert (busy.status, busy.code, busy.problem_retryable) == (409, "idempotency-in-flight",
                                                                True)
    assert busy.headers == {"Retry-After": "1"}


def test_operations_are_found_by_method_and_path_fixed_segments_first() -> None:
    ops = Operations({"paths": {
        "/api/v1/definitions/{name}": {"post": {"operationId": "by_name"},
                                       "get": {"operationId": "get_one"}},
        "/api/v1/definitions/validate": {"post": {"operationId": "validate"}},
        "/api/v1/agents/{name}/breaker/reset": {"post": {"operationId": "reset"}},
    }})
    assert ops.find("POST", "/api/v1/definitions/validate") == "validate"
    assert ops.find("POST", "/api/v1/definitions/flow") == "by_name"
    assert ops.find("get", "/api/v1/definitions/flow") == "get_one"
    assert ops.find("POST", "/api/v1/agents/a.b/breaker/reset") == "reset"
    assert ops.find("POST", "/api/v1/agents/a/b/breaker/reset") is None
    assert ops.find("DELETE", "/api/v1/definitions/flow") is None
    assert ops.find("POST", "/api/v1/nothing") is None
