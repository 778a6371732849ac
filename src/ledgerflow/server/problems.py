"""Every error as RFC 9457 ``application/problem+json``: ``type``
(``urn:ledgerflow:problem:CODE``), ``title``, ``status``, ``detail``, ``instance``, ``code``,
``request_id``, ``retryable``, ``errors[{path, message}]`` and members such as
``current_status`` and ``allowed_actions``. Bad input is never a 500; an unexpected error is
a 500 that names its request id and shows no traceback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ledgerflow import errors
from ledgerflow.server import seed_shapes

log = logging.getLogger("ledgerflow.server")
MEDIA_TYPE = "application/problem+json"


Problem = errors.HttpProblem  # what a route raises for an answer it gives as it is


SEED_PREFIX = "/api/v1/process-engine/"  # the seed's routes answer errors in its shape


def response(request: Request, problem: Problem) -> JSONResponse:
    if request.url.path.startswith(SEED_PREFIX):
        return JSONResponse(seed_shapes.failure(problem.code, str(problem)),
                            status_code=problem.status, headers=problem.headers)
    body: dict[str, Any] = {
        "type": f"urn:ledgerflow:problem:{problem.code}",
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": str(problem),
        "instance": request.url.path,
        "code": problem.code,
        "request_id": getattr(request.state, "request_id", None),
        "retryable": problem.problem_retryable,
        "errors": problem.problems,
        **problem.members,
    }
    return JSONResponse(body, status_code=problem.status, media_type=MEDIA_TYPE,
                        headers=problem.headers)


def _paths(lines: Sequence[str]) -> list[dict[str, str]]:
    """``path: message`` lines (a definition's or an input's problems) as ``{path, message}``."""
    found = []
    for line in lines:
        path, sep, message = line.partition(": ")
        found.append({"path": path, "message": message} if sep else
                     {"path": "", "message": line})
    return found


def from_error(exc: errors.LedgerflowError) -> Problem:
    """The HTTP answer for an error the engine raised on purpose."""
    detail = str(exc)
    if isinstance(exc, errors.HttpProblem):
        return exc
    if isinstance(exc, errors.Unauthorized):
        return Problem(401, "unauthorized", detail, reason=exc.reason,
                       headers={"WWW-Authenticate": 'Bearer realm="ledgerflow"'})
    if isinstance(exc, errors.Forbidden):
        return Problem(403, "forbidden", detail, role=exc.role, needed_role=exc.needed)
    if isinstance(exc, errors.NotFound):
        return Problem(404, "not-found", detail, kind=exc.kind, id=exc.id)
    if isinstance(exc, errors.InvalidTransition):
        return Problem(409, "invalid-transition", detail, current_status=exc.current_status,
                       allowed_actions=list(exc.allowed_actions), action=exc.action)
    if isinstance(exc, errors.ConcurrentChange):
        return Problem(409, "concurrent-change", detail, current_status=exc.current_status,
                       action=exc.action, seq=exc.seq)
    if isinstance(exc, errors.VersionMismatch):
        return Problem(412, "version-mismatch", detail, current_version=exc.current_version)
    if isinstance(exc, errors.ExecutionBusy):
        return Problem(409, "busy", detail, retryable=True, headers={"Retry-After": "1"})
    if isinstance(exc, errors.IdempotencyConflict):
        return Problem(409, "duplicate", detail)
    if isinstance(exc, errors.Conflict):
        return Problem(409, "conflict", detail)
    if isinstance(exc, errors.DefinitionError):
        return Problem(422, "invalid-definition", detail, problems=_paths(exc.problems))
    if isinstance(exc, errors.InputValidationError):
        return Problem(422, "invalid-input", detail,
                       problems=_paths(exc.problems) if exc.problems else
                       [{"path": exc.path or "", "message": detail}])
    if isinstance(exc, errors.InvalidValue | errors.ConfigurationError):
        return Problem(422, "invalid-value", detail)
    if isinstance(exc, errors.ConnectionLost):
        return Problem(503, "database-unavailable", detail, retryable=True,
                       headers={"Retry-After": "1"})
    if isinstance(exc, errors.MigrationRequired):
        return Problem(503, "migration-required", detail)
    if isinstance(exc, errors.UnstorableValue):
        return Problem(422, "unstorable-value", detail)
    if isinstance(exc, errors.AgentError):
        return Problem(422, "agent-error", detail)
    return Problem(500, "internal", detail)


def _validation(exc: RequestValidationError) -> Problem:
    problems = []
    malformed = False
    for e in exc.errors():
        malformed = malformed or e.get("type") == "json_invalid"
        path = ".".join(str(p) for p in e.get("loc", ()))
        problems.append({"path": path, "message": str(e.get("msg", ""))})
    if malformed:
        return Problem(400, "malformed", "the body is not valid JSON: " + "; ".join(
            p["message"] for p in problems), problems=problems)
    count = len(problems)
    return Problem(422, "invalid-request", f"{count} problem{'s' if count != 1 else ''} "
                   "with the request: " + "; ".join(f"{p['path']}: {p['message']}"
                                                    for p in problems),
                   problems=problems)


def install(api: FastAPI) -> None:
    """Answer every error of ``api`` as problem+json."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return response(request, exc)

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.LedgerflowError)
        problem = from_error(exc)
        if problem.status >= 500:
            log.warning("request %s: %s", getattr(request.state, "request_id", "-"),
                        type(exc).__name__)
        return response(request, problem)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return response(request, _validation(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = {404: "no-route", 405: "method-not-allowed"}.get(exc.status_code, "http")
        detail = (f"no route {request.method} {request.url.path}: /api/v1/docs lists them"
                  if exc.status_code == 404 else str(exc.detail))
        return response(request, Problem(exc.status_code, code, detail,
                                         headers=dict(exc.headers or {})))

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", "-")
        log.error("request %s failed: %s", request_id, type(exc).__name__, exc_info=exc)
        return response(request, Problem(
            500, "internal", f"an unexpected error; the server's log has request {request_id}"))

    api.add_exception_handler(Problem, on_problem)
    api.add_exception_handler(errors.LedgerflowError, on_error)
    api.add_exception_handler(RequestValidationError, on_validation)
    api.add_exception_handler(HTTPException, on_http)
    api.add_exception_handler(Exception, on_crash)
