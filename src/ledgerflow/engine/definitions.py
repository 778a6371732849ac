"""Applying and loading workflow definitions (versioned, immutable, cached when compiled).

Compiling loads CEL and JSON Schema (through the lazy ``ledgerflow.definition`` package);
reads that only need a definition's steps take its ``outline`` and never load them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledgerflow import definition as defs
from ledgerflow import errors
from ledgerflow.clock import Clock
from ledgerflow.definition.model import Definition
from ledgerflow.definition.outline import StepOutline, outline
from ledgerflow.ledger import values
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.storage.base import Store
from ledgerflow.storage.rows import DefinitionRow, parse_column


@dataclass(frozen=True, kw_only=True, slots=True)
class Applied:
    name: str
    version: int
    sha256: str
    created: bool  # False: identical content was already stored as this version

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256,
                "created": self.created}


DefinitionSource = str | Path | Definition | Mapping[str, Any]


def to_definition(source: DefinitionSource) -> Definition:
    if isinstance(source, Definition):
        return source
    if isinstance(source, str | Path):
        return defs.load_file(Path(source))
    return defs.from_mapping(dict(source))


class Definitions:
    """Stores definition versions and hands out compiled ones, compiled once per version."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._compiled: dict[tuple[str, str, int], Definition] = {}
        self._lock = threading.Lock()

    def apply(self, tenant_id: str, source: DefinitionSource) -> Applied:
        definition = to_definition(source)
        spec_text = values.encode(definition.spec, "definition")  # keeps 2.0 and key order
        row, created = self._store.put_definition(
            tenant_id, definition.name, definition.sha256, spec_text,
            format_timestamp(self._clock.now()),
        )
        if row.spec == spec_text:  # else the same hash stored with other literals (2 for
            with self._lock:       # 2.0): every process compiles what is stored
                self._compiled[(tenant_id, row.name, row.version)] = definition
        return Applied(name=row.name, version=row.version, sha256=row.sha256, created=created)

    def row(self, tenant_id: str, name: str, version: int | None = None) -> DefinitionRow:
        row = self._store.get_definition(tenant_id, name, version)
        if row is None:
            known = [d.name for d in self._store.list_definitions(tenant_id)]
            what = f"workflow {name!r}" + (f" version {version}" if version else "")
            hint = f" (known: {', '.join(known)})" if known else " (none applied yet)"
            raise errors.WorkflowNotFound(f"{what} not found{hint}; apply it first",
                                          id=name, version=version)
        return row

    def outline(self, tenant_id: str, name: str, version: int) -> tuple[StepOutline, ...]:
        """The steps of a stored version (id, type, signal), without compiling it."""
        return outline(self._spec(tenant_id, name, version))

    def get(self, tenant_id: str, name: str, version: int) -> Definition:
        key = (tenant_id, name, version)
        with self._lock:
            found = self._compiled.get(key)
        if found is not None:
            return found
        spec = self._spec(tenant_id, name, version)
        # stored: a version applied before its step types were refused still loads
        definition = defs.from_mapping(spec, source=f"stored definition {name} v{version}",
                                       stored=True)
        with self._lock:
            self._compiled[key] = definition
        return definition

    def _spec(self, tenant_id: str, name: str, version: int) -> Any:
        row = self.row(tenant_id, name, version)
        return parse_column(row.spec, f"definition {name} v{version}")
