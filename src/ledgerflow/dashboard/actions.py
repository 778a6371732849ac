"""The dashboard's requests that change something (each with the session's CSRF token)
and its live streams: sign-in and sign-out, control actions (resume and rerun from a step
too), fork at a ledger entry, signals, state edits of a paused execution (and their
preview), batch control, verification, an execution's events and the tenant's. Each runs
the API route's own helper (``routes.control.act``, ``send_signal``, ``patch_state``,
``fork_execution``, ``batch_control``) with the version the page showed as ``If-Match``
would send it; the streams are the API's (``routes.events``) for the cookie's caller."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from ledgerflow import errors
from ledgerflow.dashboard import diffs, session
from ledgerflow.dashboard.render import UiRoute, failure, page
from ledgerflow.dashboard.session import acting, signed_in
from ledgerflow.definition.limits import json_depth_problem
from ledgerflow.engine.control import editing
from ledgerflow.engine.reports.listing import STATUSES
from ledgerflow.server import sse
from ledgerflow.server.routes import agents, control, events, executions, ledger
from ledgerflow.server.schemas import operating
from ledgerflow.server.schemas.executions import BatchRequest, ForkRequest, SignalRequest
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
    reason, the step (``from_step``: resume from it, rerun from it) and the version
    (``expected_seq``) the page sent."""

    needs = acting(f"{action}_execution")  # a default, not an annotation: made per action

    async def act(request: Request, execution_id: str,
                  who: Caller = Depends(needs)) -> Response:  # noqa: B008
        fields = await session.form_fields(request)
        reason = fields.get("reason", "").strip()[:500] or None
        seen = _version(fields.get("version"))
        step = fields.get("from_step", "").strip()[:200] or None
        if action == "rerun" and step is None:
            raise errors.InputValidationError("choose the step to rerun from")

        def command(i: str) -> object:
            if action == "resume":
                who.app.resume(i, reason, step, expected_seq=seen)
                return None
            if action == "rerun":
                return who.app.rerun(i, step or "", reason, expected_seq=seen)
            return getattr(who.app, action)(i, reason, expected_seq=seen)

        done = await anyio.to_thread.run_sync(
            control.act, who, execution_id, action, command, Response())
        where = f" from step {step}" if step and action in ("resume", "rerun") else ""
        return page(request, "banner.html", kind="ok" if done.changed else "info",
                    title="", version=done.version, detail=(
                        f"{_past(action)}{where}: the execution is {done.status} (version "
                        f"{done.version})." if done.changed else
                        f"Nothing to do: the execution is {done.status} already."))

    act.__name__ = f"ui_{action}"
    return act


def _past(action: str) -> str:
    return {"pause": "Paused", "resume": "Resumed", "cancel": "Cancelled",
            "retry": "Retrying", "rerun": "Rerunning"}.get(action, action.capitalize())


for _action in ("pause", "resume", "cancel", "retry", "rerun"):
    router.add_api_route(f"/executions/{{execution_id}}/{_action}", _control(_action),
                         methods=["POST"], response_class=HTMLResponse)


@router.post("/executions/{execution_id}/fork", response_class=HTMLResponse)
async def fork(request: Request, execution_id: str,
               who: Annotated[Caller, Depends(acting("fork_execution"))]) -> Response:
    """The API's fork at the ledger entry the page's row names; the page goes on to the
    new execution."""
    fields = await session.form_fields(request)
    at = _version(fields.get("at_seq"))
    forked = await anyio.to_thread.run_sync(
        control.fork_execution, who, execution_id, Response(), ForkRequest(at_seq=at))
    target = f"/ui/executions/{quote(forked.id, safe='')}"
    answer = page(request, "banner.html", kind="ok", title="", detail=(
        f"Forked at entry {at}: the new execution is {forked.id}."))
    answer.headers["HX-Redirect"] = target
    return answer


def _json_field(fields: dict[str, str], name: str, what: str) -> Any:
    """A field holding JSON, parsed; a clear 422 naming the field otherwise."""
    text = fields.get(name, "").strip()
    if not text:
        return None
    problem = json_depth_problem(text)
    if problem is not None:
        raise errors.HttpProblem(422, "invalid-request", f"{what} {problem}",
                                 problems=[{"path": name, "message": problem}])
    try:
        return json.loads(text)
    except ValueError as exc:
        raise errors.HttpProblem(422, "invalid-request", f"{what} is not valid JSON: {exc}",
                                 problems=[{"path": name, "message": str(exc)}]) from None


@router.post("/executions/{execution_id}/signals", response_class=HTMLResponse)
async def signal(request: Request, execution_id: str,
                 who: Annotated[Caller, Depends(acting("send_signal"))]) -> Response:
    """The API's signal route: a name, JSON data, the version the page showed."""
    fields = await session.form_fields(request)
    seen = _version(fields.get("version"))
    data = _json_field(fields, "data", "The signal's data")
    try:
        body = SignalRequest(name=fields.get("name", "").strip(), data=data)
    except ValidationError:
        raise errors.HttpProblem(422, "invalid-request", "A signal needs a name (at most 200 "
                                 "characters): the one a wait step listens for.") from None
    sent = await anyio.to_thread.run_sync(
        executions.send_signal, who, execution_id, body, Response(),
        None if seen is None else f'"{seen}"')
    return page(request, "banner.html", kind="ok", title="", version=sent.version,
                detail=f"Signal {sent.name} sent (version {sent.version}).")


def _merge_patch(fields: dict[str, str]) -> Any:
    patch = _json_field(fields, "patch", "The merge patch")
    if not isinstance(patch, dict):
        raise errors.HttpProblem(422, "invalid-request", "The merge patch is a JSON object "
                                 'of the keys to change, such as {"risk": "low"} (null '
                                 "removes a key).", problems=[{"path": "patch",
                                                               "message": "not an object"}])
    return patch


@router.post("/executions/{execution_id}/state/preview", response_class=HTMLResponse)
async def preview_state(request: Request, execution_id: str,
                        who: Annotated[Caller, Depends(acting("patch_state"))]) -> Response:
    """What the merge patch would change (RFC 6902, as the API's diff gives it), each path
    with its value before and after; nothing is changed."""
    fields = await session.form_fields(request)
    patch = _merge_patch(fields)

    def read() -> tuple[int, list[dict[str, Any]]]:
        current = who.app.state(execution_id)
        return current.version, diffs.changes(current.state,
                                              editing.merge_patch(current.state, patch))

    version, changes = await anyio.to_thread.run_sync(read)
    return page(request, "state_preview.html", changes=changes, state_version=version)


@router.post("/executions/{execution_id}/state", response_class=HTMLResponse)
async def save_state(request: Request, execution_id: str,
                     who: Annotated[Caller, Depends(acting("patch_state"))]) -> Response:
    """The API's state edit (a merge patch) of a paused execution, with the reason and the
    version the page showed."""
    fields = await session.form_fields(request)
    patch = _merge_patch(fields)
    seen = _version(fields.get("version"))
    reason = fields.get("reason", "").strip()[:500] or None
    edited = await anyio.to_thread.run_sync(
        ledger.patch_state, who, execution_id, (patch, False), Response(), reason,
        None if seen is None else f'"{seen}"')
    return page(request, "banner.html", kind="ok", title="", version=edited.version,
                detail=f"State saved: state version {edited.state_version} (version "
                       f"{edited.version}).")


# bulk ---------------------------------------------------------------------------------------
@router.post("/executions/batch", response_class=HTMLResponse)
async def batch(request: Request,
                who: Annotated[Caller, Depends(acting("batch_control"))]) -> Response:
    """The API's batch control over the checked rows, or over the list's filter."""
    text = (await request.body()).decode("utf-8", errors="replace")
    try:
        fields = parse_qs(text, max_num_fields=600)
    except ValueError:
        raise errors.HttpProblem(422, "invalid-request", "Too many rows: a batch takes at "
                                 "most 500 executions.") from None

    def one(name: str) -> str:
        return fields.get(name, [""])[0].strip()

    statuses = [s for s in one("status").split(",") if s]
    scope = one("scope") or "checked"
    ids = fields.get("ids", [])
    if scope == "checked" and not ids:
        raise errors.HttpProblem(422, "invalid-request", "Check the executions to act on, "
                                 "or choose every one matching the filter.")
    try:
        body = BatchRequest(
            action=one("action"), reason=one("reason")[:500] or None,
            ids=ids if scope == "checked" else None,
            status=None if scope == "checked" else (statuses or list(STATUSES)),
            workflow=None if scope == "checked" else (one("workflow") or None))
    except ValidationError:
        raise errors.HttpProblem(422, "invalid-request", "Choose the action: pause, resume, "
                                 "cancel or retry (at most 500 executions).") from None
    started = await anyio.to_thread.run_sync(control.batch_control, who, body, request)
    return page(request, "batch.html", batch=started)


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch_progress(request: Request, batch_id: str,
                   who: Annotated[Caller, Depends(signed_in("get_batch"))]) -> Response:
    """A batch's progress, read again by its fragment until it is done."""
    return page(request, "batch.html", batch=control.get_batch(who, batch_id, request))


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
        logs_after: Annotated[int | None, Query(ge=0)] = None,
) -> sse.EventStream:
    """The API's event stream of one execution, for the session's cookie (an
    ``EventSource`` cannot send an ``Authorization`` header)."""
    return events.execution_stream(request, who, execution_id,
                                   sse.resume_point(last_event_id, after_seq), logs_after)


@router.get("/events")
def tenant_events(request: Request,
                  who: Annotated[Caller, Depends(signed_in("stream_tenant_events"))],
                  ) -> sse.EventStream:
    """The API's stream of the tenant's execution changes, for the list page's cookie."""
    return events.stream_tenant_events(who, request)


@router.get("/{rest:path}", response_class=HTMLResponse)
def unknown(request: Request, rest: str) -> Response:
    """Any other address under /ui: the not-found page (signed in or not)."""
    raise errors.NotFound(f"no dashboard page {quote(rest)}")
