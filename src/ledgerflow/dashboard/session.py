"""The dashboard's session: a cookie that carries the token itself, and the CSRF token of
each session.

Why the token itself: the server keeps no session table, so nothing can drift from the
token. Every request authenticates the cookie's token exactly as the API authenticates a
bearer header (``security.caller_as``): revoking or expiring the token ends the session on
the next request, and the role checked is the token's. The cookie is ``HttpOnly`` (no
script reads it), ``SameSite=Strict`` (no other site's page sends it), ``Path=/`` and, over
HTTPS, ``Secure``.

CSRF: every state-changing request carries ``X-CSRF-Token`` (or a ``csrf_token`` form
field, for the plain forms), which must equal HMAC-SHA256 keyed by the token of a fixed
label. Only a page that knows the token (ours, rendered for this session) can make it; it
is compared with ``hmac.compare_digest``. The token itself is never written to a page, a
log line or an error.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

import anyio
from fastapi import Request, Response

from ledgerflow import errors
from ledgerflow.access import roles
from ledgerflow.server import permissions
from ledgerflow.server.security import Caller, caller_as

COOKIE = "ledgerflow_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
_CSRF_LABEL = b"ledgerflow dashboard csrf v1"


CSRF_REFUSED = "csrf-refused"  # the problem code of a request without the CSRF token


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (what the dashboard's
    forms and htmx send), the first value of each; {} for any other body."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    text = (await request.body()).decode("utf-8", errors="replace")
    try:
        fields = parse_qs(text, max_num_fields=50)
    except ValueError:  # more fields than any dashboard form has
        return {}
    return {name: values[0] for name, values in fields.items()}


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


def csrf_ok(token: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        csrf_token(token).encode(), presented.encode())


def set_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")


def signed_in(operation: str) -> Callable[[Request], Caller]:
    """A dependency: the session's caller for the API operation ``operation`` (an id of
    ``permissions.NEEDS``), so a page or an action needs exactly the role its API route
    needs. No session, or a token no longer usable: ``errors.Unauthorized`` (whose
    ``reason`` the sign-in page explains); a role too low: ``errors.Forbidden``."""

    def dependency(request: Request) -> Caller:
        token = request.cookies.get(COOKIE)
        if not token:
            raise errors.Unauthorized("no session: sign in", reason="missing")
        who = caller_as(request, token, operation)
        request.state.csrf = csrf_token(token)
        return who

    return dependency


def acting(operation: str) -> Callable[[Request], Awaitable[Caller]]:
    """``signed_in`` for a state-changing request: it must carry the CSRF token too
    (checked before the role, so a forged request learns nothing)."""
    signed = signed_in(operation)

    async def dependency(request: Request) -> Caller:
        token = request.cookies.get(COOKIE)
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and token:
            presented = (await form_fields(request)).get(CSRF_FIELD)
        if token and not csrf_ok(token, presented):
            raise errors.HttpProblem(
                403, CSRF_REFUSED, "This request did not come from a dashboard page of your "
                "session (its CSRF token is missing or wrong). Reload the page and try again.")
        return await anyio.to_thread.run_sync(signed, request)  # it reads the database

    return dependency


def may(who: Caller, operation: str) -> bool:
    """Whether the session's role may do the API ``operation`` (its controls are shown)."""
    return roles.allows(who.principal.role, permissions.NEEDS[operation])
