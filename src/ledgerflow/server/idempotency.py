"""``Idempotency-Key`` on every POST of the API (FACES.md §2; the rules are in
``idempotency_rules``). A request with the header claims its key among its tenant's (the
token's tenant, never another's) before the route runs; the route's answer, if a 2xx or a
4xx, is stored for 24 hours and given again, with ``Idempotent-Replayed: true``, to every
retry of the same request; any other answer, or a request that ends without one, frees the
key. A request without the header, or whose token the route would refuse (401, 403), goes
to the route as it is."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerflow import errors
from ledgerflow.access import roles
from ledgerflow.access.idempotency import SYSTEM, IdempotencyRow, Keys
from ledgerflow.server import idempotency_rules as rules
from ledgerflow.server import limits, permissions, problems, security
from ledgerflow.server.operations import Operations

if TYPE_CHECKING:
    from ledgerflow import App

log = logging.getLogger("ledgerflow.server")
_HEADER = rules.HEADER.lower().encode("latin-1")
KEPT_HEADERS = frozenset({b"content-type", b"location", b"etag"})  # repeated by a replay
PURGE_EVERY = 3600.0  # seconds between two deletions of expired keys (per server process)

PARAMETER: dict[str, Any] = {
    "name": rules.HEADER, "in": "header", "required": False,
    "description": "A unique value per request (such as a UUID), at most 255 characters. A "
                   "retry with the same key and the same request gets the first answer "
                   f"again (with `{rules.REPLAYED}: true`) for 24 hours instead of acting "
                   "twice; the same key with another request is a 422 "
                   "(`idempotency-key-reused`); while the first is still being answered, "
                   "a 409 (`idempotency-in-flight`, retryable).",
    "schema": {"type": "string", "minLength": 1, "maxLength": rules.MAX_KEY},
}


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]  # those a replay repeats (``KEPT_HEADERS``)


def install(api: FastAPI) -> None:
    """Apply idempotency keys to every POST of ``api`` and say so in its OpenAPI document.
    Call it before adding the middleware that should see replays (added later: outside)."""
    api.add_middleware(Idempotency)
    document(api)


def document(api: FastAPI) -> None:
    """Every POST operation of the OpenAPI document takes the ``Idempotency-Key`` header."""
    build = api.openapi

    def openapi() -> dict[str, Any]:
        fresh = api.openapi_schema is None
        schema = build()
        if fresh:
            for operations in schema.get("paths", {}).values():
                post = operations.get("post")
                if post is not None:
                    post.setdefault("parameters", []).append(dict(PARAMETER))
        return schema

    api.openapi = openapi  # type: ignore[method-assign]


class Idempotency:
    """ASGI middleware: claims, replays, stores and frees idempotency keys."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._next_purge = 0.0  # on the engine clock's monotonic time
        self._operations: Operations | None = None  # read from the API on first use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        value = _key_header(scope)
        if value is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            key = rules.parse_key(value)
        except errors.HttpProblem as problem:
            await problems.response(request, problem)(scope, receive, send)
            return
        body = await _body(receive)
        if body is None:  # the client went away
            return
        receive = limits.replaying(body, receive)
        engine: App = request.app.state.engine
        if self._operations is None:
            self._operations = Operations(request.app.openapi())
        needed = permissions.NEEDS.get(
            self._operations.find(scope["method"], scope["path"]) or "")
        tenant = await run_in_threadpool(_tenant, request, engine, needed)
        if tenant is None:
            await self.app(scope, receive, send)
            return
        target = scope["path"] + ("?" + scope["query_string"].decode("latin-1")
                                  if scope.get("query_string") else "")
        fingerprint = rules.fingerprint(scope["method"], target, body)
        keys = Keys(engine.store, engine.clock)
        try:
            row, claimed = await run_in_threadpool(keys.claim, tenant, key, fingerprint)
        except errors.LedgerflowError as exc:
            await problems.response(request, problems.from_error(exc))(scope, receive, send)
            return
        if not claimed:
            await _stored(request, key, row, fingerprint)(scope, receive, send)
            return
        await self._answer(scope, receive, send, engine, keys, row)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, engine: App,
                      keys: Keys, claim: IdempotencyRow) -> None:
        """Run the route for the claim; keep its answer or free the key."""
        status: int = 0  # what the route sent
        kept: dict[str, str] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, kept
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = _kept_headers(message.get("headers") or ())
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(self._settle, engine, keys, claim, None)
            raise
        await run_in_threadpool(self._settle, engine, keys, claim,
                                Answer(status, b"".join(chunks), kept))

    def _settle(self, engine: App, keys: Keys, claim: IdempotencyRow,
                answer: Answer | None) -> None:
        """Keep ``answer`` for replays if it is to be kept, else free the key; then, now
        and then, delete expired keys. The answer was sent already: a failure is logged."""
        text = _text(answer.body) if answer is not None and rules.kept(answer.status) else None
        try:
            if answer is not None and text is not None:
                keys.finish(claim, answer.status, text, answer.headers)
            else:
                keys.release(claim)
            if engine.clock.monotonic() >= self._next_purge:
                self._next_purge = engine.clock.monotonic() + PURGE_EVERY
                keys.purge()
        except errors.LedgerflowError as exc:
            log.warning("idempotency key of tenant %s not settled: %s", claim.tenant_id, exc)


def _key_header(scope: Scope) -> str | None:
    """The Idempotency-Key of a POST, if it has one."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    for name, value in scope.get("headers") or ():
        if name == _HEADER:
            return bytes(value).decode("latin-1")
    return None


def _kept_headers(headers: Any) -> dict[str, str]:
    """The headers of an answer that a replay repeats."""
    return {bytes(name).lower().decode("latin-1"): bytes(value).decode("latin-1")
            for name, value in headers if bytes(name).lower() in KEPT_HEADERS}


def _replayed_headers(row: IdempotencyRow) -> dict[str, str]:
    """The kept headers of a stored answer (a row kept before they were: its type)."""
    if row.headers is not None:
        try:
            stored = json.loads(row.headers)
        except ValueError:
            stored = None
        if isinstance(stored, dict):
            return {str(k): str(v) for k, v in stored.items()}
    return {"content-type": row.content_type} if row.content_type else {}


def _text(body: bytes) -> str | None:
    """A body as stored (text); None for one that is not UTF-8 (not kept)."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


async def _body(receive: Receive) -> bytes | None:
    """The whole request body (its size was bounded by ``limits`` already)."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _tenant(request: Request, engine: App, needed: str | None) -> str | None:
    """Whose keys the request's key is among: its token's tenant (``SYSTEM`` for a
    system token). None when the route refuses the request anyway (no route, an operation
    ``needed`` by no role, no valid token, a role below ``needed``): it goes to the route,
    which says why."""
    if needed is None or needed == permissions.NONE:
        return None
    try:
        principal = engine.access.authenticate(security.bearer(request))
    except errors.LedgerflowError:
        return None
    if not roles.allows(principal.role, needed):
        return None
    return principal.tenant if principal.tenant is not None else SYSTEM


def _stored(request: Request, key: str, row: IdempotencyRow, fingerprint: str) -> Response:
    """The answer to a request whose key another request holds."""
    verdict = rules.found(row, fingerprint)
    if verdict == "reused":
        return problems.response(request, rules.reused(key))
    if verdict == "in_flight" or row.status is None or row.body is None:
        return problems.response(request, rules.in_flight(key))
    headers = {**_replayed_headers(row), rules.REPLAYED: "true"}
    return Response(content=row.body.encode("utf-8"), status_code=row.status, headers=headers)
