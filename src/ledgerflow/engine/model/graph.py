"""Derived facts about a definition's graph, computed once per definition content."""

from __future__ import annotations

from dataclasses import dataclass

from ledgerflow.definition.model import Definition, Step, StepType


@dataclass(frozen=True, kw_only=True, slots=True)
class Graph:
    order: tuple[str, ...]  # step ids in definition order
    steps: dict[str, Step]
    dependents: dict[str, tuple[str, ...]]  # step id -> ids that need it, definition order
    ends: tuple[str, ...]  # steps no other step needs
    types: frozenset[StepType]  # the step types it uses (what each does: ``rules.kinds``)


_CACHE: dict[str, Graph] = {}


def graph_of(definition: Definition) -> Graph:
    """The graph of a definition (cached by its SHA-256: same content, same graph)."""
    found = _CACHE.get(definition.sha256)
    if found is None:
        order = definition.step_ids
        needed_by: dict[str, list[str]] = {sid: [] for sid in order}
        for step in definition.steps:  # one pass: thousands of steps stay quick
            for dep in step.needs:
                needed_by[dep].append(step.id)
        dependents = {sid: tuple(ids) for sid, ids in needed_by.items()}
        found = Graph(
            order=order,
            steps={s.id: s for s in definition.steps},
            dependents=dependents,
            ends=tuple(sid for sid in order if not dependents[sid]),
            types=frozenset(s.type for s in definition.steps),
        )
        _CACHE[definition.sha256] = found
    return found
