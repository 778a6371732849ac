"""Tenants and tokens from the command line, as a user runs it: real processes, on both
backends (the secret printed once authenticates; nothing printed but it holds a secret)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ledgerflow import App, errors
from ledgerflow.access import tokens
from tests.support import run_cli


def cli(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(tmp_path, url, *args)


def test_a_tenant_its_tokens_and_a_revocation(tmp_path: Path, backend_url: str) -> None:
    made = json.loads(cli(tmp_path, backend_url, "tenants", "create", "acme", "--json").stdout)
    assert made["tenant"] == "acme" and tokens.LEAK.fullmatch(made["token"])
    viewer = json.loads(cli(tmp_path, backend_url, "tokens", "create", "--tenant", "acme",
                            "--role", "viewer", "--name", "ci", "--expires-in", "7",
                            "--json").stdout)
    assert set(viewer) >= {"id", "token"} and viewer["token"].startswith("lf_api_")
    with App(backend_url) as app:
        who = app.access.authenticate(viewer["token"])
        assert (who.tenant, who.role, who.name) == ("acme", "viewer", "ci")
        assert app.access.authenticate(made["token"]).role == "admin"

    listed = json.loads(cli(tmp_path, backend_url, "tokens", "list", "--tenant", "acme",
                            "--json").stdout)
    assert [(t["name"], t["role"], t["revoked_at"]) for t in listed] == [
        ("first admin", "admin", None), ("ci", "viewer", None)]
    shown = cli(tmp_path, backend_url, "tokens", "list", "--tenant", "acme")
    assert viewer["id"] in shown.stdout and "ci" in shown.stdout
    assert not tokens.LEAK.search(shown.stdout + shown.stderr)

    gone = cli(tmp_path, backend_url, "tokens", "revoke", viewer["id"])
    assert f"token {viewer['id']} (viewer of acme) revoked at" in gone.stdout
    with App(backend_url) as app, pytest.raises(errors.Unauthorized, match="revoked"):
        app.access.authenticate(viewer["token"])
    tenants = json.loads(cli(tmp_path, backend_url, "tenants", "list", "--json").stdout)
    assert [t["tenant"] for t in tenants] == ["acme", "default"]


def test_the_secret_goes_to_stdout_and_the_words_to_stderr(tmp_path: Path,
                                                           backend_url: str) -> None:
    """A script captures the token with $(...) and a person still reads what it is."""
    out = cli(tmp_path, backend_url, "tokens", "create", "--tenant", "default", "--role",
              "operator", "--no-expiry")
    assert tokens.LEAK.fullmatch(out.stdout.strip())
    assert "shown once" in out.stderr and "expires never" in out.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("tenants", "create", "Bad_Name"), "not a valid tenant id"),
    (("tokens", "create", "--role", "viewer"), "--tenant is needed"),
    (("tokens", "create", "--tenant", "nope", "--role", "viewer"), "no tenant 'nope'"),
    (("tokens", "create", "--tenant", "default", "--role", "root"), "'root' is not one of"),
    (("tokens", "create", "--tenant", "default", "--role", "system"), "belongs to no tenant"),
    (("tokens", "create", "--tenant", "default", "--role", "viewer", "--expires-in", "0"),
     "--expires-in"),
    (("tokens", "revoke", "tok_unknown"), "no token 'tok_unknown'"),
    (("tokens", "list", "--tenant", "nope"), "no tenant 'nope'"),
])
def test_bad_requests_say_what_to_do(tmp_path: Path, args: tuple[str, ...],
                                     message: str) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    proc = run_cli(tmp_path, url, *args, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_tenant_is_created_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    run_cli(tmp_path, url, "tenants", "create", "acme")
    again = run_cli(tmp_path, url, "tenants", "create", "acme", check=False)
    assert again.returncode == 1 and "exists already" in again.stderr
