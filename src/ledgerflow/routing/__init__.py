"""Routing: circuit breakers, per-agent statistics and the router (pure, no I/O).

See DESIGN.md section 7. Time is passed in as epoch seconds; nothing here reads a clock.
"""

from __future__ import annotations

from ledgerflow.routing.breaker import (
    CLOSED,
    DEFAULT_POLICY,
    BreakerPolicy,
    BreakerState,
    Transition,
    allow,
    on_failure,
    on_startup,
    on_success,
    reset,
    retry_at,
)
from ledgerflow.routing.router import (
    DEFAULT_WEIGHTS,
    BreakerUpdate,
    Candidate,
    Decision,
    Score,
    ScoreWeights,
    route,
)
from ledgerflow.routing.stats import (
    EMPTY,
    AgentStats,
    add,
    rebuild,
    record,
    smoothed_success,
)

__all__ = [
    "CLOSED",
    "DEFAULT_POLICY",
    "DEFAULT_WEIGHTS",
    "EMPTY",
    "AgentStats",
    "BreakerPolicy",
    "BreakerState",
    "BreakerUpdate",
    "Candidate",
    "Decision",
    "Score",
    "ScoreWeights",
    "Transition",
    "add",
    "allow",
    "on_failure",
    "on_startup",
    "on_success",
    "rebuild",
    "record",
    "reset",
    "retry_at",
    "route",
    "smoothed_success",
]
