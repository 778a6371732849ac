"""Which operation a request asks for, before the router runs: the method and path looked
up in the API's OpenAPI document (the registry ``permissions.NEEDS`` is checked against).
Pure: built from the document, asked with a method and a path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.routing import compile_path


@dataclass(frozen=True, slots=True)
class Operation:
    method: str  # upper case
    pattern: re.Pattern[str]
    operation_id: str
    literal: int  # characters of the template outside its parameters: the more, the sooner


class Operations:
    def __init__(self, document: dict[str, Any]) -> None:
        found = []
        for template, operations in document.get("paths", {}).items():
            pattern = compile_path(template)[0]
            literal = len(re.sub(r"\{[^}]*\}", "", template))
            for method, operation in operations.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    found.append(Operation(method.upper(), pattern, operation["operationId"],
                                           literal))
        # a fixed segment wins over a parameter (``/definitions/validate`` over ``/{name}``)
        self._all = sorted(found, key=lambda o: -o.literal)

    def find(self, method: str, path: str) -> str | None:
        """The operation id of ``method`` on ``path``, or None (no such route)."""
        for operation in self._all:
            if operation.method == method.upper() and operation.pattern.match(path):
                return operation.operation_id
        return None
