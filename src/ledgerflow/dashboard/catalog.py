"""The dashboard's catalog pages: definitions (with a start form generated from the
definition's ``input_schema``), agents and their breakers, workers, and the tenant's tokens.

Like ``dashboard.pages``, each page reads the API's public read model (``App`` as the
session's tenant sees it, through the API routes' own helpers) and needs the role of the
API operation it mirrors; each action runs the API route's helper, with the session's CSRF
token (a form field or the header htmx sends)."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
import yaml
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from ledgerflow import errors
from ledgerflow.access import roles
from ledgerflow.access.tokens import KINDS
from ledgerflow.dashboard import session
from ledgerflow.dashboard.render import UiRoute, page, read_at
from ledgerflow.dashboard.session import acting, may, signed_in
from ledgerflow.server import graph_svg
from ledgerflow.server.routes import agents, executions, tokens
from ledgerflow.server.schemas import executions as exec_schemas
from ledgerflow.server.schemas import operating
from ledgerflow.server.security import Caller

router = APIRouter(prefix="/ui", route_class=UiRoute, include_in_schema=False)
VERSIONS_SHOWN = 50  # the newest versions of a definition listed on its page
TRANSITIONS_SHOWN = 10  # breaker moves shown per agent
RAW = "input_json"  # the form field of the raw JSON input


# definitions ----------------------------------------------------------------------------------
@router.get("/definitions", response_class=HTMLResponse)
def definitions(request: Request,
                who: Annotated[Caller, Depends(signed_in("list_definitions"))]) -> HTMLResponse:
    return page(request, "definitions.html", who=who, nav="definitions",
                items=who.app.workflows())


@dataclass
class Field:
    """One input of the start form: a top-level property of an object ``input_schema``."""

    name: str
    kind: str  # string, number, integer, boolean, enum
    required: bool
    description: str = ""
    choices: list[Any] = field(default_factory=list)  # an enum's values
    default: Any = None

    @property
    def options(self) -> list[tuple[str, str]]:
        """An enum's choices: what the form sends (its JSON) and what it shows."""
        return [(json.dumps(c), c if isinstance(c, str) else json.dumps(c))
                for c in self.choices]

    @property
    def form_name(self) -> str:
        return f"in.{self.name}"

    def shown(self, value: Any) -> str:
        """A value as the form's field holds it."""
        if self.kind == "enum":
            return json.dumps(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)


SCALARS = ("string", "number", "integer", "boolean")


def form_of(schema: Any) -> tuple[list[Field], bool]:
    """The fields a start form has for ``schema``, and whether the raw JSON field is needed
    too (no schema, a schema that is not an object of properties, or a property the form
    cannot give a field of)."""
    if not isinstance(schema, dict) or schema.get("type") != "object" or not isinstance(
            schema.get("properties"), dict):
        return [], True
    required = set(schema.get("required") or ())
    fields: list[Field] = []
    raw = False
    for name, prop in schema["properties"].items():
        if not isinstance(prop, dict):
            raw = True
            continue
        kind = prop.get("type")
        if isinstance(prop.get("enum"), list) and prop["enum"]:
            kind = "enum"
        elif kind not in SCALARS:
            raw = True
            continue
        fields.append(Field(name=str(name), kind=str(kind), required=name in required,
                            description=str(prop.get("description") or ""),
                            choices=list(prop.get("enum") or ()), default=prop.get("default")))
    return fields, raw or not fields


def input_of(fields: list[Field], raw_needed: bool, given: dict[str, str]
             ) -> tuple[Any, list[str]]:
    """The execution's input made of the form's fields, and the problems found making it
    (``path: message``, as the engine's input check says them)."""
    problems: list[str] = []
    raw_text = given.get(RAW, "").strip()
    value: Any = None
    if raw_needed and raw_text:
        try:
            value = json.loads(raw_text)
        except ValueError as exc:
            problems.append(f"(raw JSON): not JSON ({exc})")
    if not fields:
        return value, problems
    if value is None:
        value = {}
    elif not isinstance(value, dict):
        problems.append("(raw JSON): must be a JSON object, whose members join the fields")
        value = {}
    for f in fields:
        text = given.get(f.form_name, "").strip()
        if text == "":
            continue  # not given: the schema says whether it must be
        if f.kind == "string":
            value[f.name] = given.get(f.form_name, "")
        elif f.kind == "boolean":
            value[f.name] = text == "true"
        elif f.kind == "enum":
            try:
                value[f.name] = json.loads(text)
            except ValueError:
                problems.append(f"{f.name}: not one of the choices")
        else:
            try:
                number = float(text) if f.kind == "number" else int(text)
            except ValueError:
                problems.append(f"{f.name}: {text[:40]!r} is not "
                                f"{'a number' if f.kind == 'number' else 'a whole number'}")
                continue
            if isinstance(number, float) and not math.isfinite(number):
                problems.append(f"{f.name}: {text[:40]!r} is not a finite number")
                continue
            value[f.name] = number
    return value, problems


def _said(problem: str) -> str:
    """A problem of the input check, with a missing member's path as its own."""
    path, _, message = problem.partition(": ")
    if message.endswith("' is a required property") and message.startswith("'"):
        name = message[1:-len("' is a required property")]
        return f"{name if path == '(root)' else f'{path}/{name}'}: required, but not given"
    return problem


def _version(given: str | None) -> int | None:
    if given is None or not given.strip():
        return None
    if not given.strip().isdigit() or not 0 < int(given.strip()[:10]) < 2**31:
        raise errors.InvalidValue(f"version {given[:40]!r} is not a version number")
    return int(given.strip())


def _definition_page(request: Request, who: Caller, name: str, version: int | None,
                     given: dict[str, str] | None = None, problems: list[str] | None = None,
                     code: int = 200) -> HTMLResponse:
    found = who.app.definition(name, version)
    latest = who.app.definition(found.name) if version is not None else found
    versions = [found if v == found.version else who.app.definition(found.name, v)
                for v in range(latest.version, max(latest.version - VERSIONS_SHOWN, 0), -1)]
    spec = found.spec if isinstance(found.spec, dict) else {}
    fields, raw = form_of(spec.get("input_schema"))
    # a big definition's graph: the collapsed view first, a link to every step
    svg = graph_svg.render_for_page(
        graph_svg.nodes_of(found.spec), f"{found.name} version {found.version}",
        show_all=request.query_params.get("graph") == "all",
        link=f"?version={found.version}&graph=all")
    given = given if given is not None else {
        f.form_name: f.shown(f.default) for f in fields if f.default is not None}
    bad = {p.split(":", 1)[0].split("/", 1)[0] for p in problems or ()}
    return page(request, "definition.html", code, who=who, nav="definitions", d=found,
                latest=latest.version, versions=versions, svg=svg,
                yaml_text=yaml.safe_dump(found.spec, sort_keys=False, allow_unicode=True),
                json_text=json.dumps(found.spec, indent=2, ensure_ascii=False),
                fields=fields, raw=raw, given=given, problems=problems or [], bad=bad,
                can_start=may(who, "start_execution"), raw_field=RAW)


@router.get("/definitions/{name}", response_class=HTMLResponse)
def definition(request: Request, name: str,
               who: Annotated[Caller, Depends(signed_in("get_definition"))],
               version: Annotated[str | None, Query(max_length=12)] = None) -> HTMLResponse:
    return _definition_page(request, who, name, _version(version))


@router.post("/definitions/{name}/start", response_class=HTMLResponse)
async def start(request: Request, name: str,
                who: Annotated[Caller, Depends(acting("start_execution"))]) -> Response:
    """The API's start route for the form's input: to the new execution's page, or the
    form again with every problem and what the user typed."""
    given = await session.form_fields(request)
    version = _version(given.get("version"))

    def run() -> Response:
        spec = who.app.definition(name, version).spec
        fields, raw = form_of(spec.get("input_schema") if isinstance(spec, dict) else None)
        value, problems = input_of(fields, raw, given)
        if not problems:
            try:
                started = executions.start_execution(who, exec_schemas.StartRequest(
                    workflow=name, version=version, input=value), Response())
            except errors.InputValidationError as exc:
                problems = [_said(p) for p in exc.problems] or [str(exc)]
            else:
                return RedirectResponse(f"/ui/executions/{started.id}", status_code=303)
        return _definition_page(request, who, name, version, given, problems, code=422)

    return await anyio.to_thread.run_sync(run)


# agents ---------------------------------------------------------------------------------------
def _ms(value: Any) -> str:
    """A latency in milliseconds as people read it."""
    if not isinstance(value, int | float):
        return "—"
    if value < 1:
        return "< 1 ms"
    if value < 1000:
        return f"{value:.0f} ms"
    return f"{value / 1000:.1f} s" if value < 120_000 else f"{value / 60_000:.0f} min"


def agents_context(who: Caller, with_time: bool = True) -> dict[str, Any]:
    """What the agents table and the breaker history show (the page and its live part),
    and when it was read unless ``with_time`` is false."""
    found = who.app.agents()
    running = Counter(str(st.get("agent")) for w in agents.list_workers(who).items
                      for st in w.get("steps", ()))
    history = {name: who.app.breaker_transitions(name, TRANSITIONS_SHOWN)
               for name in sorted({a.agent for a in found})}
    return {"items": found, "running": running, "history": history, "ms": _ms,
            "can_reset": may(who, "reset_breaker"),
            **({"updated": read_at(who)} if with_time else {})}




def _agents_page(request: Request, who: Caller, banner: dict[str, str] | None = None,
                 code: int = 200) -> HTMLResponse:
    return page(request, "agents.html", code, who=who, nav="agents", banner=banner,
                **agents_context(who))


@router.get("/agents", response_class=HTMLResponse)
def agents_page(request: Request,
                who: Annotated[Caller, Depends(signed_in("list_agents"))]) -> HTMLResponse:
    return _agents_page(request, who)


@router.get("/agents/live", response_class=HTMLResponse)
def agents_live(request: Request,
                who: Annotated[Caller, Depends(signed_in("list_agents"))]) -> HTMLResponse:
    """The agents page's table and breaker history as they are now (the page's event
    stream, ``live_tables``, sends it when it changes; read when the stream failed)."""
    return page(request, "agents_live.html", **agents_context(who))


@router.post("/agents/{name}/breaker/reset", response_class=HTMLResponse)
async def reset_breaker(request: Request, name: str,
                        who: Annotated[Caller, Depends(acting("reset_breaker"))]) -> Response:
    """The API's reset: close the agent's breaker for one capability (or all of its
    breakers), recorded with this session's token and the reason given."""
    given = await session.form_fields(request)
    capability = given.get("capability", "").strip()[:200] or None
    reason = given.get("reason", "").strip()[:500] or None

    def run() -> Response:
        moved = agents.reset_breaker(who, name, capability, reason)
        what = ", ".join(f"{t.capability} ({t.from_state} → {t.to_state})" for t in moved.items)
        return _agents_page(request, who, {"kind": "ok", "detail": (
            f"Breaker of {name} reset: {what}.")})

    return await anyio.to_thread.run_sync(run)


# workers --------------------------------------------------------------------------------------
@router.get("/workers", response_class=HTMLResponse)
def workers(request: Request,
            who: Annotated[Caller, Depends(signed_in("list_workers"))]) -> HTMLResponse:
    return page(request, "workers.html", who=who, nav="workers",
                items=agents.list_workers(who).items, updated=read_at(who))


@router.get("/workers/live", response_class=HTMLResponse)
def workers_live(request: Request,
                 who: Annotated[Caller, Depends(signed_in("list_workers"))]) -> HTMLResponse:
    """The workers page's list as it is now (sent by the page's event stream when it
    changes; read when the stream failed)."""
    return page(request, "workers_live.html", items=agents.list_workers(who).items,
                updated=read_at(who))


# overview: the last verification ------------------------------------------------------------
@router.get("/overview/verified", response_class=HTMLResponse)
def last_verified(request: Request,
                  who: Annotated[Caller, Depends(signed_in("count_executions"))]
                  ) -> HTMLResponse:
    """The overview's "last verify result": when the tenant's hash chains were last
    recomputed (``POST /api/v1/verify``, ``ledgerflow verify``), how many, which failed."""
    return page(request, "last_verified.html", run=who.app.last_verification())


# tokens ---------------------------------------------------------------------------------------
def _tokens_page(request: Request, who: Caller, code: int = 200, *,
                 new: operating.NewToken | None = None, problem: str = "",
                 given: dict[str, str] | None = None, revoked: str = "") -> HTMLResponse:
    tenant = who.principal.tenant
    rows = who.app.access.tokens(tenant) if tenant is not None else []
    prefixes = {r.id: f"lf_{KINDS.get(r.role, 'api')}_{r.lookup}…" for r in rows}
    listed = tokens.list_tokens(who).items if tenant is not None else []
    mintable = [r for r in roles.TENANT_ROLES if roles.may_mint(who.principal.role, r)]
    return page(request, "tokens.html", code, who=who, nav="tokens", items=listed,
                prefixes=prefixes, roles=mintable, new=new, problem=problem,
                given=given or {"role": "viewer", "days": "90", "name": ""},
                revoked=revoked, me=who.principal.token_id)


@router.get("/settings/tokens", response_class=HTMLResponse)
def tokens_page(request: Request,
                who: Annotated[Caller, Depends(signed_in("list_tokens"))],
                revoked: Annotated[str, Query(max_length=100)] = "") -> HTMLResponse:
    return _tokens_page(request, who, revoked=revoked)


@router.post("/settings/tokens", response_class=HTMLResponse)
async def create_token(request: Request,
                       who: Annotated[Caller, Depends(acting("create_token"))]) -> Response:
    """The API's create: the new token's secret is on this answer's page only."""
    given = await session.form_fields(request)
    shown = {"role": given.get("role", ""), "name": given.get("name", "")[:200],
             "days": given.get("days", "").strip()}

    def run() -> Response:
        days: float | None = None
        if shown["days"]:
            try:
                days = float(shown["days"][:20])
            except ValueError:
                days = math.nan
            if not math.isfinite(days):
                return _tokens_page(request, who, 422, given=shown, problem=(
                    f"Expiry: {shown['days'][:20]!r} is not a number of days."))
        try:
            made = tokens.create_token(who, operating.TokenRequest(
                role=shown["role"], name=shown["name"].strip() or None,
                expires_in_days=days))
        except errors.InvalidValue as exc:
            return _tokens_page(request, who, 422, given=shown, problem=str(exc))
        except errors.Forbidden as exc:
            return _tokens_page(request, who, 403, given=shown, problem=(
                f"A {exc.role} token may not make a {shown['role'][:20]} token."))
        return _tokens_page(request, who, 201, new=made)

    return await anyio.to_thread.run_sync(run)


@router.post("/settings/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, token_id: str,
                 who: Annotated[Caller, Depends(acting("revoke_token"))]) -> Response:
    """The API's revoke: at once, its sessions and streams end (this one too, if it is
    this session's token)."""
    tokens.revoke_token(who, token_id, request)
    return RedirectResponse(f"/ui/settings/tokens?revoked={token_id}", status_code=303)
