"""Loading the agents modules a worker is started with, refusing one that offers nothing:
a worker without agents cannot run a step, so a module that registers none is a mistake
(a wrong file, a missing decorator) to report before any work is claimed."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ledgerflow import errors
from ledgerflow.engine.agents.registry import DEFAULT_REGISTRY, AgentRegistry, load_modules


def load_agents(modules: Sequence[str], registry: AgentRegistry = DEFAULT_REGISTRY) -> None:
    """Import agents modules by dotted name (or ``path/to/file.py``), each once; one that
    registers no agent in ``registry`` is an ``errors.AgentError`` naming it."""
    for module in dict.fromkeys(m.strip() for m in modules if m.strip()):
        imported = module in sys.modules  # imported before: its agents are registered
        before = registry.registrations
        load_modules([module])
        if registry.registrations > before or (imported and any(
                s.handler.__module__ == module for s in registry.all())):
            continue
        raise errors.AgentError(
            f"agents module {module!r} registers no agent: decorate its handlers with "
            "@ledgerflow.agent(\"capability\")", module=module)
