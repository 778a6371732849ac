"""Routes: definitions (see FACES.md §3). Each route's operation id is in
``permissions.NEEDS``. A body is YAML or JSON, by its ``Content-Type``."""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request, Response

from ledgerflow import errors
from ledgerflow.server import graph_svg
from ledgerflow.server.problems import Problem, from_error
from ledgerflow.server.schemas.definitions import (
    Applied,
    DefinitionInfo,
    DefinitionList,
    DefinitionVersion,
    ProblemPath,
    Validated,
)
from ledgerflow.server.security import Caller, caller

router = APIRouter(prefix="/api/v1/definitions", tags=["definitions"])
Who = Annotated[Caller, Depends(caller)]
FORMATS = {"application/json": "json", "application/yaml": "yaml", "text/yaml": "yaml",
           "application/x-yaml": "yaml"}
BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    kind: {"schema": {"type": "object"}} for kind in FORMATS}}}


async def definition_text(request: Request) -> tuple[str, str]:
    """The body's text and format (``json`` or ``yaml``); 415 for any other media type."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    fmt = FORMATS.get(kind)
    if fmt is None:
        raise Problem(415, "unsupported-media-type",
                      f"a definition is sent as {', '.join(FORMATS)}, not {kind or 'nothing'}")
    raw = await request.body()
    try:
        return raw.decode("utf-8"), fmt
    except UnicodeDecodeError:
        raise Problem(400, "malformed", "the body is not UTF-8 text") from None


Text = Annotated[tuple[str, str], Depends(definition_text)]


@router.post("", operation_id="apply_definition", response_model=Applied, status_code=201,
             openapi_extra=BODY, responses={200: {"model": Applied,
                                                  "description": "the same content"}})
def apply_definition(who: Who, text: Text, response: Response) -> Applied:
    """Store a definition: 201 a new version, 200 when its content is stored already; 422
    lists every problem with its path."""
    applied = who.app.apply(who.app.load_definition(*text))
    if not applied.created:
        response.status_code = 200
    return Applied(name=applied.name, version=applied.version, sha256=applied.sha256,
                   created=applied.created)


@router.post("/validate", operation_id="validate_definition", response_model=Validated,
             openapi_extra=BODY)
def validate_definition(who: Who, text: Text) -> Validated:
    """Check a definition without storing it."""
    try:
        who.app.load_definition(*text)
    except errors.DefinitionError as exc:
        return Validated(valid=False, errors=[ProblemPath(**p) for p in from_error(exc).problems])
    return Validated(valid=True, errors=[])


@router.get("", operation_id="list_definitions", response_model=DefinitionList)
def list_definitions(who: Who) -> DefinitionList:
    """The latest version of every stored workflow, by name."""
    return DefinitionList(items=[DefinitionInfo(**d.to_dict()) for d in who.app.workflows()])


@router.get("/{name}/versions/{version}", operation_id="get_definition",
            response_model=DefinitionVersion, responses={200: {"content": {
                "application/yaml": {"schema": {"type": "string"}},
                "image/svg+xml": {"schema": {"type": "string"}}}}})
def get_definition(who: Who, name: str, version: str, request: Request) -> Any:
    """One version (a number, or ``latest``): JSON, YAML with ``Accept: application/yaml``,
    or its graph with ``Accept: image/svg+xml``; its ``ETag`` is the definition's SHA-256."""
    if version == "latest":
        number = None
    elif version.isdigit() and 0 < int(version) < 2**31:
        number = int(version)
    else:
        raise Problem(422, "invalid-request", f"version {version!r} is not a number or "
                      "'latest'", problems=[{"path": "path.version",
                                             "message": "a positive number or 'latest'"}])
    found = who.app.definition(name, number)
    headers = {"ETag": f'"{found.sha256}"'}
    accept = request.headers.get("accept", "")
    if "image/svg+xml" in accept:
        return Response(graph_svg.render(graph_svg.nodes_of(found.spec),
                                         f"{found.name} version {found.version}"),
                        media_type="image/svg+xml", headers=headers)
    if "yaml" in accept and "json" not in accept:
        return Response(yaml.safe_dump(found.spec, sort_keys=False, allow_unicode=True),
                        media_type="application/yaml", headers=headers)
    spec = found.spec if isinstance(found.spec, dict) else {}
    body = DefinitionVersion(name=found.name, version=found.version, sha256=found.sha256,
                             created_at=found.created_at, spec=spec)
    return Response(body.model_dump_json(), media_type="application/json", headers=headers)
