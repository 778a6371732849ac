"""Bodies of the definition routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ProblemPath(BaseModel):
    path: str
    message: str


class Applied(BaseModel):
    name: str
    version: int
    sha256: str
    created: bool


class Validated(BaseModel):
    valid: bool
    errors: list[ProblemPath]


class DefinitionInfo(BaseModel):
    name: str
    version: int
    sha256: str
    created_at: str


class DefinitionList(BaseModel):
    items: list[DefinitionInfo]


class DefinitionVersion(DefinitionInfo):
    spec: dict[str, Any]
