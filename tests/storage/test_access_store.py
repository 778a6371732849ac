"""Tenants and tokens in the store, on every backend."""

from __future__ import annotations

import pytest

from ledgerflow import errors
from ledgerflow.storage.access_tables import TenantRow, TokenRow
from ledgerflow.storage.base import Store


def token(id: str, tenant: str | None = "default", role: str = "viewer",
          lookup: str | None = None) -> TokenRow:
    return TokenRow(id=id, tenant_id=tenant, name=f"{id} name", role=role,
                    lookup=lookup or f"look{id}", sha256="ab" * 32,
                    created_at=f"2026-12-01T00:00:0{id[-1]}.000000Z", created_by="cli:test",
                    expires_at="2027-03-01T00:00:00.000000Z")


@pytest.fixture(autouse=True)
def default_tenant(store: Store) -> None:
    store.create_tenant(TenantRow(id="default", created_at="2026-12-01T00:00:00.000000Z"))


def test_a_tenant_is_created_once(store: Store) -> None:
    row = TenantRow(id="acme", created_at="2026-12-01T00:00:00.000000Z")
    assert store.create_tenant(row) is True
    assert store.create_tenant(TenantRow(id="acme", created_at="2026-12-02T00:00:00.000000Z")
                               ) is False
    assert store.load_tenant("acme") == row
    assert store.load_tenant("nobody") is None
    assert [t.id for t in store.list_tenants()] == ["acme", "default"]


def test_tokens_are_found_by_lookup_and_listed_per_tenant(store: Store) -> None:
    store.create_tenant(TenantRow(id="acme", created_at="2026-12-01T00:00:00.000000Z"))
    rows = [token("t1"), token("t2", "acme", "admin"), token("t3"),
            token("t4", None, "system")]
    for row in rows:
        store.insert_token(row)
    assert store.token_by_lookup("lookt2") == rows[1]
    assert store.token_by_lookup("nothing") is None
    assert store.load_token("t3") == rows[2]
    assert store.load_token("t9") is None
    assert store.list_tokens("default") == [rows[0], rows[2]]
    assert store.list_tokens("acme") == [rows[1]]
    assert store.list_tokens(None) == [rows[3]]


def test_a_revoked_token_keeps_its_first_revocation(store: Store) -> None:
    store.insert_token(token("t1"))
    assert store.revoke_token("t1", "2026-12-02T00:00:00.000000Z") is True
    assert store.revoke_token("t1", "2026-12-03T00:00:00.000000Z") is False
    assert store.revoke_token("unknown", "2026-12-03T00:00:00.000000Z") is False
    found = store.load_token("t1")
    assert found is not None and found.revoked_at == "2026-12-02T00:00:00.000000Z"


def test_a_use_is_recorded_at_most_once_per_period(store: Store) -> None:
    store.insert_token(token("t1"))
    store.token_used("t1", "2026-12-02T00:00:00.000000Z", "2026-12-01T23:59:00.000000Z")
    store.token_used("t1", "2026-12-02T00:00:30.000000Z", "2026-12-01T23:59:30.000000Z")
    found = store.load_token("t1")
    assert found is not None and found.last_used_at == "2026-12-02T00:00:00.000000Z"
    store.token_used("t1", "2026-12-02T00:01:01.000000Z", "2026-12-02T00:00:01.000000Z")
    found = store.load_token("t1")
    assert found is not None and found.last_used_at == "2026-12-02T00:01:01.000000Z"


@pytest.mark.parametrize("broken", [
    token("t1", None, "viewer"),      # only a system token has no tenant
    token("t1", "default", "system"),  # a system token has none
    token("t1", "nobody"),             # the tenant must exist
    token("t1", role="root"),          # not a role
])
def test_the_schema_refuses_an_inconsistent_token(store: Store, broken: TokenRow) -> None:
    with pytest.raises(errors.StorageError):
        store.insert_token(broken)
    assert store.load_token("t1") is None


def test_two_tokens_never_share_a_lookup(store: Store) -> None:
    store.insert_token(token("t1", lookup="same"))
    with pytest.raises(errors.StorageError):
        store.insert_token(token("t2", lookup="same"))
