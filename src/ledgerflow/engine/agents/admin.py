"""What operators see and do about agents: who is alive where, breakers, statistics (and
their rebuild from the stored decisions), and resetting a breaker by hand."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ledgerflow import errors
from ledgerflow.engine.agents.book import stats_from, stats_json
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.routing import breaker as breakers
from ledgerflow.routing import stats as agent_stats
from ledgerflow.routing.stats import AgentStats
from ledgerflow.storage.base import AgentWrites, Store
from ledgerflow.storage.rows import BreakerRow, BreakerTransitionRow, StatsRow

ALIVE_WITHIN = timedelta(seconds=10)  # a worker not seen for longer is presumed gone


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentInfo:
    capability: str
    agent: str
    priority: int | None
    weight: float | None
    workers: tuple[str, ...]  # live workers offering it
    last_seen: str | None
    breaker: str  # closed | open | half_open
    breaker_since: str | None  # when it opened
    probes_in_flight: int
    stats: dict[str, Any]

    @property
    def alive(self) -> bool:
        return bool(self.workers)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "alive": self.alive}


def stats_dict(stats: AgentStats) -> dict[str, Any]:
    return {"total": stats.total, "successes": stats.successes, "failures": stats.failures,
            "success_rate": stats.success_rate, "mean_ms": stats.mean_ms,
            "p95_ms": stats.p95_ms, "last_update": stats.last_update}


def agents(store: Store, now: datetime) -> list[AgentInfo]:
    """Every agent known from live workers, breakers or statistics."""
    cutoff = format_timestamp(now - ALIVE_WITHIN)
    offered: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in store.list_agents():
        offered[(row.capability, row.agent)].append(row)
    states = {(b.capability, b.agent): b for b in store.load_breakers()}
    stats = {(s.capability, s.agent): stats_from(s.data) for s in store.load_stats()}
    found: list[AgentInfo] = []
    for key in sorted(set(offered) | set(states) | set(stats)):
        rows = offered.get(key, [])
        live = [r for r in rows if r.seen_at >= cutoff]
        state = breakers.from_json(json.loads(states[key].data)) if key in states \
            else breakers.CLOSED
        found.append(AgentInfo(
            capability=key[0], agent=key[1],
            priority=rows[0].priority if rows else None,
            weight=rows[0].weight if rows else None,
            workers=tuple(sorted(r.worker_id for r in live)),
            last_seen=max((r.seen_at for r in rows), default=None),
            breaker=state.state,
            breaker_since=_iso(state.opened_at) if state.state != "closed" else None,
            probes_in_flight=len(state.probes),
            stats=stats_dict(stats.get(key, agent_stats.EMPTY)),
        ))
    return found


def reset(store: Store, agent: str, capability: str | None, actor: str,
          now: datetime) -> list[BreakerTransitionRow]:
    """Close an agent's breaker(s) by hand; recorded as transitions with the actor."""
    rows = [b for b in store.load_breakers()
            if b.agent == agent and (capability is None or b.capability == capability)]
    if not rows:
        known = sorted({f"{b.agent} ({b.capability})" for b in store.load_breakers()})
        raise errors.NotFound(
            f"no breaker for agent {agent!r}"
            + (f" and capability {capability!r}" if capability else "")
            + (f"; breakers exist for: {', '.join(known)}" if known
               else "; no agent has a breaker yet (they appear once agents run steps)"),
            kind="breaker", id=agent,
        )
    at = format_timestamp(now)
    new_rows: list[BreakerRow] = []
    transitions: list[BreakerTransitionRow] = []
    for row in rows:
        state = breakers.from_json(json.loads(row.data))
        new, transition = breakers.reset(state, now.timestamp(), actor)
        # a newer version makes a running worker adopt the reset (AgentBook.sync)
        new = breakers.BreakerState(new.state, 0, (), None, (), state.version + 1)
        new_rows.append(BreakerRow(capability=row.capability, agent=row.agent,
                                   state=new.state, data=json.dumps(breakers.to_json(new)),
                                   version=new.version, updated_at=at))
        transitions.append(BreakerTransitionRow(
            capability=row.capability, agent=row.agent, from_state=state.state,
            to_state="closed",
            reason=transition.reason if transition else "reset by hand (was closed)",
            actor=actor, occurred_at=at))
    store.write_agents(AgentWrites(breakers=new_rows, transitions=transitions))
    return transitions


@dataclass(frozen=True, kw_only=True, slots=True)
class Recalculated:
    capability: str
    agent: str
    stored: dict[str, Any] | None
    rebuilt: dict[str, Any]
    agree: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recalculate(store: Store, *, write: bool, now: datetime) -> list[Recalculated]:
    """Statistics rebuilt from the stored decisions, compared with the incremental ones;
    ``write`` stores the rebuilt ones."""
    history: dict[tuple[str, str], list[tuple[bool, float, str]]] = defaultdict(list)
    for capability, agent, outcome, duration_ms, finished_at in store.decision_outcomes():
        history[(capability, agent)].append((outcome == "success", duration_ms, finished_at))
    stored = {(s.capability, s.agent): s.data for s in store.load_stats()}
    found: list[Recalculated] = []
    rows: list[StatsRow] = []
    for key in sorted(set(history) | set(stored)):
        rebuilt = agent_stats.rebuild(history.get(key, []))
        text = stats_json(rebuilt)
        before = stored.get(key)
        found.append(Recalculated(
            capability=key[0], agent=key[1],
            stored=stats_dict(stats_from(before)) if before is not None else None,
            rebuilt=stats_dict(rebuilt), agree=before == text))
        rows.append(StatsRow(capability=key[0], agent=key[1], data=text,
                             updated_at=format_timestamp(now)))
    if write and rows:
        store.write_agents(AgentWrites(stats=rows))
    return found


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else format_timestamp(datetime.fromtimestamp(epoch, UTC))
