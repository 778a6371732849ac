"""Bodies are refused before they are parsed: larger than ``MAX_BODY`` (413), or JSON that
nests deeper than ``MAX_DEPTH`` (422). A hostile request costs one bounded read, never a
recursion or the server's memory."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerflow.definition.limits import json_depth_problem

MAX_BODY = 1024 * 1024  # bytes
MAX_DEPTH = 64  # levels of JSON nesting


class BodyLimit:
    """ASGI middleware: reads a request's body (at most ``MAX_BODY`` bytes, by its
    Content-Length or as it streams), checks a JSON body's depth, and hands the route the
    same bytes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > MAX_BODY:
            await _refuse(scope, send, 413, "too-large",
                          f"the body is larger than {MAX_BODY:,} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await _refuse(scope, send, 413, "too-large",
                              f"the body is larger than {MAX_BODY:,} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b"json" in dict(scope.get("headers") or ()).get(b"content-type", b""):
            problem = json_depth_problem(body.decode("utf-8", "replace"), MAX_DEPTH)
            if problem is not None:
                await _refuse(scope, send, 422, "too-deep", f"the body {problem}")
                return
        await self.app(scope, replaying(body, receive), send)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over ``body`` (read already) whole, then what ``receive``
    says next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(scope: Scope, send: Send, status: int, code: str, detail: str) -> None:
    title = {413: "Content Too Large", 422: "Unprocessable Content"}[status]
    body = json.dumps({
        "type": f"urn:ledgerflow:problem:{code}", "title": title, "status": status,
        "detail": detail, "instance": scope.get("path", ""), "code": code,
        "request_id": None, "retryable": False, "errors": []}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
