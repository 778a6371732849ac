"""Who causes ledger events. Apart from the chain (``chain`` re-exports it) so an app that
only reads (a status) names its actor without defining the chain's types."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class Actor:
    """Who caused an event: ``Actor(kind="worker", id="host:pid")``, ``Actor(kind="cli", ...)``."""

    kind: str
    id: str
