"""What operators see and do about agents: who is alive where, breakers, statistics (and
their check against the stored decisions), and resetting a breaker by hand."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ledgerflow import errors
from ledgerflow.engine.agents.book import stats_of, stats_row
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.routing import breaker as breakers
from ledgerflow.routing import stats as agent_stats
from ledgerflow.routing.stats import AgentStats
from ledgerflow.storage.base import AgentWrites, Store
from ledgerflow.storage.rows import (
    BreakerRow,
    BreakerTransitionRow,
    RemovedOutcomesRow,
    StatsRow,
    StatsSnapshot,
)

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
            "p50_ms": stats.p50_ms, "p95_ms": stats.p95_ms, "last_update": stats.last_update}


def agents(store: Store, now: datetime) -> list[AgentInfo]:
    """Every agent known from live workers, breakers or statistics."""
    cutoff = format_timestamp(now - ALIVE_WITHIN)
    offered: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in store.list_agents():
        offered[(row.capability, row.agent)].append(row)
    states = {(b.capability, b.agent): b for b in store.load_breakers()}
    stats = {(s.capability, s.agent): stats_of(s) for s in store.load_stats()}
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
          now: datetime, note: str | None = None) -> list[BreakerTransitionRow]:
    """Close an agent's breaker(s) by hand; recorded as transitions with the actor (and
    ``note``, the reason given, after the transition's own reason)."""
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
            reason=(transition.reason if transition else "reset by hand (was closed)")
            + (f": {note}" if note else ""),
            actor=actor, occurred_at=at))
    store.write_agents(AgentWrites(breakers=new_rows, transitions=transitions))
    return transitions


@dataclass(frozen=True, kw_only=True, slots=True)
class Recalculated:
    """One agent's stored statistics beside the ones rebuilt from the stored decisions
    (plus the outcomes retention removed). ``differs`` names what disagrees (a field, or
    ``histogram``); ``repaired``: the rebuilt ones were stored in place of the others."""

    capability: str
    agent: str
    stored: dict[str, Any] | None
    rebuilt: dict[str, Any]
    agree: bool
    differs: tuple[str, ...] = ()
    repaired: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recalculate(store: Store, *, write: bool, now: datetime) -> list[Recalculated]:
    """Check every agent's stored statistics against the ones rebuilt from the stored
    decisions and the outcomes retention removed, both read at one moment (so the check
    holds while workers run). Writes nothing unless ``write``: then the rebuilt statistics
    replace the stored ones, in a transaction that holds workers' increments back until
    it ends (they are added afterwards, so none is lost)."""
    if not write:
        return _compare(store.stats_snapshot())
    at = format_timestamp(now)

    def rows(found: StatsSnapshot) -> list[StatsRow]:
        return [stats_row(key, stats, at) for key, stats in sorted(_rebuilt(found).items())
                if stats.total]

    checked = _compare(store.replace_stats(rows))
    return [replace(c, repaired=not c.agree) for c in checked]


def _rebuilt(found: StatsSnapshot) -> dict[tuple[str, str], AgentStats]:
    """Every agent's statistics from the outcomes of its stored decisions and the sums of
    those retention removed."""
    history: dict[tuple[str, str], list[tuple[bool, float, str]]] = defaultdict(list)
    for capability, agent, outcome, duration_ms, finished_at in found.outcomes:
        history[(capability, agent)].append((outcome == "success", duration_ms, finished_at))
    removed: dict[tuple[str, str], list[RemovedOutcomesRow]] = defaultdict(list)
    for row in found.removed:
        removed[(row.capability, row.agent)].append(row)
    return {key: agent_stats.add(agent_stats.rebuild(history.get(key, ())),
                                 _removed(removed.get(key, ())))
            for key in set(history) | set(removed)}


def _removed(rows: Sequence[RemovedOutcomesRow]) -> AgentStats:
    """Sums of removed outcomes (per outcome and bucket) as statistics."""
    if not rows:
        return agent_stats.EMPTY
    successes = sum(r.count for r in rows if r.outcome == "success")
    total = sum(r.count for r in rows)
    buckets: dict[int, int] = defaultdict(int)
    for r in rows:
        buckets[r.bucket] += r.count
    return AgentStats(total=total, successes=successes, failures=total - successes,
                      duration_us=sum(r.duration_us for r in rows),
                      buckets=tuple(sorted((b, n) for b, n in buckets.items() if n)),
                      last_update=max(r.last_at for r in rows))


def _compare(found: StatsSnapshot) -> list[Recalculated]:
    stored = {(s.capability, s.agent): stats_of(s) for s in found.stats}
    fresh = _rebuilt(found)
    result: list[Recalculated] = []
    for key in sorted(set(stored) | set(fresh)):
        before, after = stored.get(key), fresh.get(key, agent_stats.EMPTY)
        differs = _differences(before or agent_stats.EMPTY, after)
        result.append(Recalculated(
            capability=key[0], agent=key[1],
            stored=stats_dict(before) if before is not None else None,
            rebuilt=stats_dict(after), agree=not differs, differs=differs))
    return result


def _differences(one: AgentStats, other: AgentStats) -> tuple[str, ...]:
    named = {"total": "total", "successes": "successes", "failures": "failures",
             "duration_us": "duration_us", "buckets": "histogram",
             "last_update": "last_update"}
    return tuple(label for name, label in named.items()
                 if getattr(one, name) != getattr(other, name))


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else format_timestamp(datetime.fromtimestamp(epoch, UTC))
