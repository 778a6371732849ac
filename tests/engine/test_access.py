"""Tenants and tokens through ``App.access``, on both backends, on a fake clock."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest

from ledgerflow import App, errors
from ledgerflow.access import tokens
from ledgerflow.testing import FakeClock


@pytest.fixture
def clocked(backend_url: str, clock: FakeClock) -> Iterator[App]:
    a = App(backend_url, clock=clock)
    yield a
    a.close()


def test_a_new_tenant_comes_with_an_admin_token_that_authenticates(clocked: App) -> None:
    issued = clocked.access.create_tenant("acme")
    assert issued.row.tenant_id == "acme" and issued.row.role == "admin"
    assert tokens.LEAK.fullmatch(issued.secret) and issued.secret.startswith("lf_adm_")
    who = clocked.access.authenticate(issued.secret)
    assert (who.tenant, who.role, who.token_id) == ("acme", "admin", issued.row.id)
    assert [t.id for t in clocked.access.tenants()] == ["acme", "default"]


def test_the_secret_is_not_stored(clocked: App) -> None:
    issued = clocked.access.create_token("default", "viewer", name="ci")
    stored = clocked.access.token(issued.row.id)
    assert issued.secret not in repr(stored)
    assert stored.sha256 == tokens.digest(issued.secret)


def test_a_tenant_is_created_once_with_a_valid_id(clocked: App) -> None:
    clocked.access.create_tenant("acme")
    with pytest.raises(errors.Conflict, match="exists already"):
        clocked.access.create_tenant("acme")
    for bad in ["", "Acme", "-acme", "a" * 64, "a_b", "acme-"]:
        with pytest.raises(errors.InvalidValue, match="not a valid tenant id"):
            clocked.access.create_tenant(bad)


def test_tokens_expire_on_the_clock(clocked: App, clock: FakeClock) -> None:
    issued = clocked.access.create_token("default", "operator", expires_in_days=1)
    clocked.access.authenticate(issued.secret)
    clock.advance(86_400 - 1)
    clocked.access.authenticate(issued.secret)
    clock.advance(1)
    with pytest.raises(errors.Unauthorized, match="expired") as caught:
        clocked.access.authenticate(issued.secret)
    assert caught.value.reason == "expired"


def test_a_token_without_expiry_never_expires(clocked: App, clock: FakeClock) -> None:
    issued = clocked.access.create_token("default", "viewer", expires_in_days=None)
    assert issued.row.expires_at is None
    clock.advance(4000 * 86_400)
    assert clocked.access.authenticate(issued.secret).role == "viewer"


def test_revocation_takes_effect_at_once(clocked: App) -> None:
    issued = clocked.access.create_token("default", "viewer")
    clocked.access.authenticate(issued.secret)
    row = clocked.access.revoke(issued.row.id)
    assert row.revoked_at is not None
    assert clocked.access.revoke(issued.row.id).revoked_at == row.revoked_at  # twice: harmless
    with pytest.raises(errors.Unauthorized, match="revoked") as caught:
        clocked.access.authenticate(issued.secret)
    assert caught.value.reason == "revoked"


def test_another_tenants_token_is_unknown(clocked: App) -> None:
    clocked.access.create_tenant("acme")
    theirs = clocked.access.create_token("acme", "viewer")
    with pytest.raises(errors.NotFound, match="no token"):
        clocked.access.revoke(theirs.row.id, tenant="default")
    assert clocked.access.token(theirs.row.id).revoked_at is None


@pytest.mark.parametrize(("presented", "reason"), [
    (None, "missing"), ("", "missing"), ("hunter2", "malformed"),
    (tokens.new("viewer").text, "unknown"),
])
def test_what_does_not_authenticate_says_why(clocked: App, presented: str | None,
                                             reason: str) -> None:
    with pytest.raises(errors.Unauthorized) as caught:
        clocked.access.authenticate(presented)
    assert caught.value.reason == reason


def test_a_forged_secret_with_a_known_lookup_is_unknown(clocked: App) -> None:
    issued = clocked.access.create_token("default", "admin")
    head = issued.secret[:19] + "x" * 31  # same lookup, other random part
    forged = f"{head}_{tokens.base62(zlib.crc32(head.encode()), 6)}"
    assert tokens.parse(forged) is not None
    with pytest.raises(errors.Unauthorized, match="unknown"):
        clocked.access.authenticate(forged)


def test_last_use_is_recorded_about_once_a_minute(clocked: App, clock: FakeClock) -> None:
    issued = clocked.access.create_token("default", "viewer")
    assert clocked.access.token(issued.row.id).last_used_at is None
    clocked.access.authenticate(issued.secret)
    first = clocked.access.token(issued.row.id).last_used_at
    assert first is not None
    clock.advance(30)
    clocked.access.authenticate(issued.secret)
    assert clocked.access.token(issued.row.id).last_used_at == first
    clock.advance(31)
    clocked.access.authenticate(issued.secret)
    assert clocked.access.token(issued.row.id).last_used_at > first


def test_no_token_makes_a_wider_one(clocked: App) -> None:
    operator = clocked.access.authenticate(
        clocked.access.create_token("default", "operator").secret)
    admin = clocked.access.authenticate(clocked.access.create_token("default", "admin").secret)
    with pytest.raises(errors.Forbidden):
        clocked.access.create_token("default", "viewer", by=operator)
    with pytest.raises(errors.Forbidden):
        clocked.access.create_token("default", "metrics", by=admin)
    made = clocked.access.create_token("default", "operator", by=admin)
    assert made.row.created_by == admin.token_id


@pytest.mark.parametrize(("tenant", "role", "match"), [
    ("default", "root", "not a role"), ("default", "system", "belongs to no tenant"),
    (None, "admin", "needs one"), ("nobody", "viewer", "no tenant 'nobody'"),
])
def test_bad_token_requests_name_the_problem(clocked: App, tenant: str | None, role: str,
                                              match: str) -> None:
    with pytest.raises((errors.InvalidValue, errors.NotFound), match=match):
        clocked.access.create_token(tenant, role)


def test_a_first_admin_is_made_only_for_a_tenant_without_tokens(clocked: App) -> None:
    first = clocked.access.first_admin("default")
    assert first is not None and first.row.role == "admin"
    assert clocked.access.first_admin("default") is None
