"""The token format and the role rules: pure, no database."""

from __future__ import annotations

import pytest

from ledgerflow import errors
from ledgerflow.access import roles, tokens


@pytest.mark.parametrize(("role", "kind"), [("viewer", "api"), ("operator", "api"),
                                            ("metrics", "api"), ("admin", "adm"),
                                            ("system", "sys")])
def test_a_new_secret_has_the_documented_shape(role: str, kind: str) -> None:
    secret = tokens.new(role)
    assert secret.kind == kind
    assert secret.text.startswith(f"lf_{kind}_")
    assert len(secret.text) == len("lf_api_") + 43 + 1 + 6
    assert tokens.LEAK.fullmatch(secret.text)
    assert tokens.parse(secret.text) == secret
    assert secret.lookup == secret.text[7:19]
    assert secret.sha256 == tokens.digest(secret.text)


def test_secrets_are_all_different() -> None:
    assert len({tokens.new("viewer").text for _ in range(200)}) == 200


def test_a_mistyped_secret_fails_its_check_digits() -> None:
    text = tokens.new("operator").text
    body_char = text[10]
    other = "A" if body_char != "A" else "B"
    typo = text[:10] + other + text[11:]
    assert tokens.parse(typo) is None


@pytest.mark.parametrize("text", ["", "lf_api_short_123456", "bearer", "lf_xyz_" + "a" * 43
                                  + "_aaaaaa", "LF_API_" + "a" * 43 + "_aaaaaa"])
def test_what_is_not_shaped_as_a_secret_is_refused(text: str) -> None:
    assert tokens.parse(text) is None


def test_matches_compares_with_the_stored_digest() -> None:
    secret = tokens.new("viewer")
    assert tokens.matches(secret, secret.sha256)
    assert not tokens.matches(secret, tokens.digest(tokens.new("viewer").text))


def test_base62_pads_to_width() -> None:
    assert tokens.base62(0, 3) == "000"
    assert tokens.base62(61, 2) == "0z"
    assert tokens.base62(62, 1) == "10"


@pytest.mark.parametrize(("role", "needed", "allowed"), [
    ("viewer", "viewer", True), ("viewer", "operator", False), ("viewer", "admin", False),
    ("operator", "viewer", True), ("operator", "operator", True), ("operator", "admin", False),
    ("admin", "viewer", True), ("admin", "operator", True), ("admin", "admin", True),
    ("admin", "metrics", False), ("admin", "system", False), ("metrics", "metrics", True),
    ("metrics", "viewer", False), ("system", "viewer", False), ("system", "system", True),
    ("viewer", "any", True), ("metrics", "any", True), ("system", "any", True),
    ("nobody", "any", False),
])
def test_roles_allow_what_the_table_says(role: str, needed: str, allowed: bool) -> None:
    assert roles.allows(role, needed) is allowed


def test_require_names_the_role_needed() -> None:
    with pytest.raises(errors.Forbidden, match="needs the operator role") as caught:
        roles.require("viewer", "operator", "pause an execution")
    assert (caught.value.role, caught.value.needed) == ("viewer", "operator")


@pytest.mark.parametrize(("role", "wanted", "allowed"), [
    ("admin", "viewer", True), ("admin", "operator", True), ("admin", "admin", True),
    ("admin", "metrics", False), ("admin", "system", False), ("operator", "viewer", False),
    ("viewer", "viewer", False), ("system", "admin", True), ("system", "metrics", True),
    ("metrics", "metrics", False),
])
def test_no_token_makes_a_wider_one(role: str, wanted: str, allowed: bool) -> None:
    assert roles.may_mint(role, wanted) is allowed
