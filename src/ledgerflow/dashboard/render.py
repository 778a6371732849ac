"""Rendering: the Jinja2 templates (autoescaped), their filters, and the error pages.

``UiRoute`` is the route class of every dashboard page and action: an error becomes a page
(or, for an htmx request, a banner fragment) instead of the API's problem+json; no
session sends the visitor to the sign-in page. No traceback and no token is ever shown."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from ledgerflow import __version__, errors
from ledgerflow.dashboard.session import COOKIE, CSRF_REFUSED
from ledgerflow.server import problems
from ledgerflow.server.security import Caller

log = logging.getLogger("ledgerflow.dashboard")
STALE = "This execution changed since you loaded it — reload to see the new state."


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 120:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def _utc(stamp: str | None) -> str:
    """A stored time as people read UTC (the page's script shows it in local time)."""
    if not stamp:
        return "—"
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)  # in its own order


def _actor(actor: Any) -> str:
    if isinstance(actor, dict):
        return str(actor.get("id") or actor.get("kind") or "—")
    return str(actor or "—")


ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("ledgerflow.dashboard", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(duration=_duration, utc=_utc, pretty=_pretty, actor=_actor,
                   short=lambda h: (h or "")[:12], urlq=lambda s: quote(str(s), safe=""))
ENV.globals.update(asset_version=__version__, stale=STALE)
ENV.policies["json.dumps_kwargs"] = {"sort_keys": False}  # values in their own key order


def page(request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
    """A whole page (or a fragment template) rendered for this request: the session's
    principal and CSRF token are given to every template."""
    who = context.pop("who", None)
    context.setdefault("nav", "")
    html = ENV.get_template(template).render(
        request=request, who=who.principal if who is not None else None,
        csrf=getattr(request.state, "csrf", None), **context)
    return HTMLResponse(html, status_code=code,
                        headers={"Cache-Control": "no-store",
                                 "Content-Security-Policy": CSP,
                                 "X-Frame-Options": "DENY",
                                 "Referrer-Policy": "same-origin"})


# scripts and styles only from this server; htmx's own indicator style is turned off
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def failure(request: Request, status: int, title: str, detail: str) -> Response:
    """An error as a page, or as the banner an htmx action shows in place."""
    if _htmx(request):
        return page(request, "banner.html", status, kind="error", title=title, detail=detail)
    return page(request, "error.html", status, title=title, detail=detail)


def sign_in(request: Request, exc: errors.Unauthorized) -> Response:
    """To the sign-in page, which says why when the session's token stopped working."""
    reason = "" if exc.reason == "missing" else (
        exc.reason if exc.reason in ("revoked", "expired") else "invalid")
    target = "/ui/login"
    query = []
    if request.method == "GET" and not _htmx(request):
        query.append("next=" + quote(request.url.path, safe="/"))
    if reason:
        query.append("why=" + reason)
    if query:
        target += "?" + "&".join(query)
    if _htmx(request):  # htmx follows this header with a full page load
        return Response(status_code=401, headers={"HX-Redirect": target})
    response = RedirectResponse(target, status_code=303)
    if reason:  # the cookie holds a token that no longer works
        response.delete_cookie(COOKIE, path="/")
    return response


NOT_FOUND = "Not found"
NOT_FOUND_DETAIL = ("There is no such page here, or it belongs to another tenant. Check the "
                    "address, or find the execution in the list.")


# what is looked up only inside an execution the session may see: said as it is
WITHIN_AN_EXECUTION = ("state version", "ledger entry", "step")


def answer_error(request: Request, exc: Exception) -> Response:
    """The page for an error raised by a dashboard route or its dependencies."""
    if isinstance(exc, errors.Unauthorized):
        return sign_in(request, exc)
    if isinstance(exc, errors.HttpProblem) and exc.code == CSRF_REFUSED:
        return failure(request, 403, "Refused", str(exc))
    if isinstance(exc, errors.Forbidden):
        return failure(request, 403, "Not allowed",
                       f"Your token's role ({exc.role}) may not do this: it needs the "
                       f"{exc.needed} role.")
    if isinstance(exc, errors.NotFound) and exc.kind in WITHIN_AN_EXECUTION:
        return failure(request, 404, NOT_FOUND, f"{exc}.")  # its execution was found
    if isinstance(exc, errors.NotFound) or (
            isinstance(exc, HTTPException) and exc.status_code == 404):
        # another tenant's execution answers exactly like a missing one
        return failure(request, 404, NOT_FOUND, NOT_FOUND_DETAIL)
    if isinstance(exc, errors.VersionMismatch):
        return page(request, "banner.html", 412, kind="stale", title="Changed",
                    detail=STALE, reload=True)
    if isinstance(exc, RequestValidationError):
        return failure(request, 422, "Invalid request", "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()))
    if isinstance(exc, HTTPException):
        return failure(request, exc.status_code, "Request refused", str(exc.detail))
    if isinstance(exc, errors.LedgerflowError):
        problem = problems.from_error(exc)
        if problem.status >= 500:
            log.warning("dashboard %s: %s", request.url.path, type(exc).__name__)
        return failure(request, problem.status, problem.code.replace("-", " ").capitalize(),
                       str(problem))
    raise exc


class UiRoute(APIRoute):
    """A dashboard route: errors are answered by ``answer_error``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except (errors.LedgerflowError, HTTPException, RequestValidationError) as exc:
                return answer_error(request, exc)

        return guarded


def read_at(who: Caller) -> datetime:
    """When a live part was read (its "updated" note), on the engine's clock."""
    return who.app.clock.now().replace(microsecond=0)
