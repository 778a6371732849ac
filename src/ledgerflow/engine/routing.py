"""Choosing an agent for a step. One candidate per capability is enough for now: the highest
priority wins, ties by name. The decision and every candidate are stored with the step."""

from __future__ import annotations

from collections.abc import Sequence

from ledgerflow.engine.agents import AgentSpec
from ledgerflow.engine.rules import Choice


def choose_agent(capability: str, candidates: Sequence[AgentSpec]) -> Choice | None:
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda a: (-a.priority, a.name))
    chosen = ranked[0]
    reason = (
        f"only agent offering {capability}"
        if len(ranked) == 1
        else f"highest priority ({chosen.priority}) among {len(ranked)} agents"
    )
    return Choice(
        agent=chosen.name,
        candidates=[{"agent": a.name, "priority": a.priority} for a in ranked],
        reason=reason,
    )
