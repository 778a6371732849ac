"""The dashboard's requests that change something (each with the session's CSRF token)
and its live stream: sign-in and sign-out, control actions, verification, an execution's
events. Control runs the API's own helpers (``routes.control.act``), with the version the
page showed as ``If-Match`` would send it; the stream is the API's
(``routes.events.execution_events``) for the cookie's caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from ledgerflow import errors
from ledgerflow.dashboard import session
from ledgerflow.dashboard.render import UiRoute, failure, page
from ledgerflow.dashboard.session import acting, signed_in
from ledgerflow.server import sse
from ledgerflow.server.routes import agents, control, events
from ledgerflow.server.schemas import operating
from ledgerflow.server.security import Caller, caller_as

router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)
REASONS = {"revoked": "Your token was revoked: sign in with another one.",
           "expired": "Your token has expired: sign in with another one.",
           "invalid": "Your session's token no longer works: sign in again.",
           "signed-out": "You have signed out."}  # the only messages a link can ask for


# signing in and out -------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: Annotated[str, Query(max_length=500)] = "/ui/",
               why: Annotated[str, Query(max_length=300)] = "") -> HTMLResponse:
    return page(request, "login.html", next=_local(next), message=REASONS.get(why, ""))


def _local(target: str) -> str:
    """Where to go after signing in: a dashboard page of this server, never elsewhere."""
    return target if target.startswith("/ui/") and not target.startswith("//") else "/ui/"


def _same_origin(request: Request) -> bool:
    """A sign-in posted by a page of this server (a browser sends ``Origin``): another
    site may not sign a visitor in with its own token."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return origin == f"{request.url.scheme}://{request.url.netloc}"


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    if not _same_origin(request):
        return failure(request, 403, "Refused", "A sign-in must come from this server's own "
                       "sign-in page.")
    fields = await session.form_fields(request)
    token = fields.get("token", "").strip()
    target = _local(fields.get("next", "/ui/"))
    try:  # as the API would, for a page every dashboard user may read
        await anyio.to_thread.run_sync(caller_as, request, token, "get_execution")
    except errors.Forbidden as exc:
        return page(request, "login.html", 403, next=target, message=(
            f"A {exc.role} token cannot use the dashboard: sign in with a viewer, operator "
            "or admin token."))
    except errors.Unauthorized as exc:
        message = {"missing": "Paste a token to sign in.",
                   "malformed": "That is not a ledgerflow token: a token looks like "
                                "lf_api_… (the server printed an admin token on its first "
                                "start).",
                   "unknown": "This token is not known here: check that you copied all of "
                              "it, for this server."}.get(exc.reason, REASONS.get(
                                  exc.reason, "This token cannot sign in."))
        return page(request, "login.html", 401, next=target, message=message)
    response = RedirectResponse(target, status_code=303)
    session.set_cookie(response, request, token)
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request,
           _: Annotated[Caller, Depends(acting("me"))]) -> Response:
    response = RedirectResponse("/ui/login?why=signed-out", status_code=303)
    session.clear_cookie(response, request)
    return response


# control ------------------------------------------------------------------------------------
def _version(given: str | None) -> int | None:
    if given is None or not given.strip():
        return None
    if not given.strip().isdigit() or len(given.strip()) > 18:
        raise errors.InvalidValue(f"version {given[:40]!r} is not a ledger seq")
    return int(given.strip())


def _control(action: str) -> Callable[..., object]:
    """The action's page route: the engine method ``routes.control`` calls, with the
    reason and the version (``expected_seq``) the page sent."""

    needs = acting(f"{action}_execution")  # a default, not an annotation: made per action

    async def act(request: Request, execution_id: str,
                  who: Caller = Depends(needs)) -> Response:  # noqa: B008
        fields = await session.form_fields(request)
        reason = fields.get("reason", "").strip()[:500] or None
        seen = _version(fields.get("version"))
        method = getattr(who.app, action)

        def command(i: str) -> object:
            return method(i, reason, expected_seq=seen)

        done = await anyio.to_thread.run_sync(
            control.act, who, execution_id, action, command, Response())
        return page(request, "banner.html", kind="ok" if done.changed else "info",
                    title="", version=done.version, detail=(
                        f"{_past(action)}: the execution is {done.status} (version "
                        f"{done.version})." if done.changed else
                        f"Nothing to do: the execution is {done.status} already."))

    act.__name__ = f"ui_{action}"
    return act


def _past(action: str) -> str:
    return {"pause": "Paused", "resume": "Resumed", "cancel": "Cancelled",
            "retry": "Retrying"}.get(action, action.capitalize())


for _action in ("pause", "resume", "cancel", "retry"):
    router.add_api_route(f"/executions/{{execution_id}}/{_action}", _control(_action),
                         methods=["POST"], response_class=HTMLResponse)


@router.post("/executions/{execution_id}/verify", response_class=HTMLResponse)
def verify(request: Request, execution_id: str,
           who: Annotated[Caller, Depends(acting("verify"))]) -> HTMLResponse:
    """The verify route of the API for this one execution: a badge, green or red."""
    found = who.app.execution(execution_id)
    checked = agents.verify(who, operating.VerifyRequest(execution_ids=[found.id]))
    failed = checked.failures[0] if checked.failures else None
    return page(request, "verified.html", failure=failed, execution_id=found.id)


# live ---------------------------------------------------------------------------------------
@router.get("/executions/{execution_id}/events")
def execution_events(
        request: Request, execution_id: str,
        who: Annotated[Caller, Depends(signed_in("stream_execution_events"))],
        after_seq: Annotated[int | None, Query(ge=0)] = None,
        last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> sse.EventStream:
    """The API's event stream of one execution, for the session's cookie (an
    ``EventSource`` cannot send an ``Authorization`` header)."""
    return events.execution_stream(request, who, execution_id,
                                   sse.resume_point(last_event_id, after_seq))


@router.get("/{rest:path}", response_class=HTMLResponse)
def unknown(request: Request, rest: str) -> Response:
    """Any other address under /ui: the not-found page (signed in or not)."""
    raise errors.NotFound(f"no dashboard page {quote(rest)}")
