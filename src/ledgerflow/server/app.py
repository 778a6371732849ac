"""``create_app``: the REST API around an ``App`` (the engine, as its default tenant sees
it; each request acts as its token's tenant)."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response

from ledgerflow import __version__, dashboard
from ledgerflow.server import batches, idempotency, limits, problems, sse
from ledgerflow.server.feed import make_feed
from ledgerflow.server.metrics import server_metrics
from ledgerflow.server.routes import (
    agents,
    control,
    definitions,
    events,
    executions,
    ledger,
    metrics,
    seed,
    system,
    tokens,
)

if TYPE_CHECKING:
    from ledgerflow import App

API = "/api/v1"
access = logging.getLogger("ledgerflow.server.access")


def create_app(engine: App, *, keepalive: float = sse.KEEPALIVE) -> FastAPI:
    """``keepalive``: seconds between two keep-alive comments of an idle event stream."""
    feed = make_feed(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        feed.close()  # the watcher's connection and thread

    api = FastAPI(
        title="ledgerflow", version=__version__,
        summary="Durable workflows with a verifiable ledger",
        openapi_url=f"{API}/openapi.json", docs_url=f"{API}/docs", redoc_url=None,
        lifespan=lifespan)
    api.state.engine = engine
    api.state.feed = feed
    api.state.streams = streams = sse.StreamSlots()
    api.state.sse_keepalive = keepalive
    api.state.metrics = server_metrics(engine, open_streams=streams.open)
    api.state.batches = batches.Batches()
    problems.install(api)
    idempotency.install(api)  # first: the middleware below sees its replays too

    @api.middleware("http")
    async def request_id(request: Request,
                         call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = "req_" + secrets.token_hex(8)
        began = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        route = request.scope.get("route")  # its template: labels stay bounded
        path = getattr(route, "path", "unmatched")
        counted = api.state.metrics
        counted.http_requests.labels(path, request.method, str(response.status_code)).inc()
        counted.http_duration.labels(path, request.method).observe(time.perf_counter() - began)
        # the path only: a query string or a header may hold a secret, a log line never
        access.info("%s %s %d %s", request.method, request.url.path, response.status_code,
                    request.state.request_id)
        return response

    api.add_middleware(limits.BodyLimit)
    for routes in (system, metrics, executions, control, seed, definitions, ledger, events,
                   agents, tokens):
        api.include_router(routes.router)
    dashboard.install(api)  # /ui: pages, not API operations (none in the OpenAPI document)
    return api
