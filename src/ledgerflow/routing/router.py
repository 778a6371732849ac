"""Choosing an agent for a step: a pure function of the candidates, their breakers and
statistics, and ``now`` (epoch seconds).

Each candidate's breaker is asked first (``breaker.allow``); those it refuses are excluded,
with the reason, unless it is the only candidate: a breaker moves traffic to other agents,
it never stalls a capability that has no other agent. The rest are scored, each component in [0, 1]:

* success:  smoothed success rate (Beta(1, 1) prior, so a new agent starts at 0.5)
* latency:  (fastest mean + 1 ms) / (own mean + 1 ms); 0.5 for an agent with no outcomes yet
* load:     (fewest in flight + 1) / (own in flight + 1)
* priority: (own - lowest) / (highest - lowest) among the candidates; 1.0 when all are equal

total = weight x (weighted sum of the components, the weights in ``ScoreWeights`` summing to
1). The highest total wins, ties by name. A candidate allowed by a non-closed breaker is a
probe; only the chosen candidate's probe is committed (``Decision.updates``), so scoring a
half-open agent that is not chosen takes none of its probe slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from ledgerflow.routing import breaker as _breaker
from ledgerflow.routing.breaker import (
    CLOSED,
    DEFAULT_POLICY,
    BreakerPolicy,
    BreakerState,
    Transition,
)
from ledgerflow.routing.stats import EMPTY, AgentStats

_new = tuple.__new__  # builds a Score without the NamedTuple constructor's overhead
UNKNOWN_LATENCY = 0.5  # latency component of an agent without outcomes
LATENCY_FLOOR_MS = 1.0


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """How much each component counts; the defaults sum to 1."""

    success: float = 0.45
    latency: float = 0.2
    load: float = 0.2
    priority: float = 0.15


DEFAULT_WEIGHTS = ScoreWeights()


@dataclass(frozen=True, slots=True)
class Candidate:
    """An agent offering the capability, with what the router needs to know about it.
    ``priority``: higher is preferred. ``load``: its attempts in flight."""

    name: str
    priority: int = 0
    weight: float = 1.0
    breaker: BreakerState = CLOSED
    policy: BreakerPolicy = DEFAULT_POLICY
    stats: AgentStats = EMPTY
    load: int = 0


class Score(NamedTuple):
    """One candidate in a decision: its score and components, or why it was excluded
    (components None, ``retry_at`` when its breaker may let a call through)."""

    agent: str
    total: float | None
    success: float | None
    latency: float | None
    load: float | None
    priority: float | None
    weight: float
    excluded: str | None = None
    retry_at: float | None = None


@dataclass(frozen=True, slots=True)
class BreakerUpdate:
    """A breaker state to commit with the decision (a probe recorded, or a timed-out probe
    that reopened the breaker)."""

    agent: str
    state: BreakerState
    transition: Transition | None


@dataclass(frozen=True, slots=True)
class Decision:
    """The router's answer. ``agent`` is None when every candidate is excluded; then
    ``retry_at`` says when the earliest breaker may let a probe through."""

    capability: str
    agent: str | None
    probe: bool
    scores: tuple[Score, ...]
    reason: str
    at: float
    retry_at: float | None = None
    updates: tuple[BreakerUpdate, ...] = ()

    @property
    def breaker(self) -> BreakerState | None:
        """The chosen agent's new breaker state, when ``allow`` changed it."""
        for update in self.updates:
            if update.agent == self.agent:
                return update.state
        return None

    def to_json(self) -> dict[str, Any]:
        """The decision as a dict of plain JSON values, for storing."""
        return {
            "capability": self.capability,
            "agent": self.agent,
            "probe": self.probe,
            "reason": self.reason,
            "at": self.at,
            "retry_at": self.retry_at,
            "scores": [s._asdict() for s in self.scores],
            "updates": [
                {
                    "agent": u.agent,
                    "state": _breaker.to_json(u.state),
                    "transition": None if u.transition is None else {
                        "from_state": u.transition.from_state,
                        "to_state": u.transition.to_state,
                        "reason": u.transition.reason,
                        "at": u.transition.at,
                    },
                }
                for u in self.updates
            ],
        }


@lru_cache(maxsize=4096)  # open breakers' retry times repeat from one decision to the next
def format_epoch(seconds: float) -> str:
    """Epoch seconds as a UTC timestamp, ``2025-01-02T03:04:05Z``."""
    stamp = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
    return stamp.replace("+00:00", "Z")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _exclusion(state: BreakerState, policy: BreakerPolicy,
               transition: Transition | None) -> tuple[str, str, float | None]:
    """(full reason, short reason, retry_at) for a candidate whose breaker refused the call."""
    when = _breaker.retry_at(state, policy)
    if state.state == "open":
        full = "breaker open" if when is None else f"breaker open until {format_epoch(when)}"
        if transition is not None:
            full += f" ({transition.reason})"
        return full, "breaker open", when
    inflight = _plural(len(state.probes), "probe")
    full = f"breaker half-open, {inflight} in flight"
    if when is not None:
        full += f" (times out at {format_epoch(when)})"
    return full, "breaker half-open, probe in flight", when


_Row = tuple[Candidate, BreakerState | None, Transition | None, float, float | None, int]


def route(capability: str, candidates: Sequence[Candidate], now: float,
          weights: ScoreWeights = DEFAULT_WEIGHTS, *, every: bool = True) -> Decision | None:
    """Choose an agent for ``capability`` at ``now``. None when there are no candidates.
    ``every``: the candidates are every agent of the capability (not a subset), so a lone
    one is called even when its breaker refuses."""
    if not candidates:
        return None
    # 1. ask the breakers (a closed one allows without a call: same answer as breaker.allow),
    #    and gather what the normalised components need
    rows: list[_Row] = []
    lone: tuple[Candidate, BreakerState, Transition | None] | None = None
    refused: list[tuple[Candidate, BreakerState, Transition | None]] = []
    fastest: float | None = None
    lowest_load = lowest = highest = 0
    for c in candidates:
        b = c.breaker
        if b.state == "closed":
            new: BreakerState | None = None
            transition: Transition | None = None
        else:
            ok, after, transition = _breaker.allow(b, c.policy, now)
            if not ok and (len(candidates) > 1 or not every):
                refused.append((c, after, transition))
                continue
            # the only agent of the capability: excluding it would stall every step (and
            # its retries) until a probe succeeds; it is called, not as a probe
            lone = None if ok else (c, after, transition)
            new = after if ok else None  # a probe: committed only if this candidate is chosen
        st = c.stats
        outcomes = st.total
        mean: float | None = None
        if outcomes:
            mean = st.duration_sum_ms / outcomes
            if fastest is None or mean < fastest:
                fastest = mean
        load = c.load if c.load > 0 else 0
        p = c.priority
        if rows:
            if load < lowest_load:
                lowest_load = load
            if p < lowest:
                lowest = p
            elif p > highest:
                highest = p
        else:
            lowest_load, lowest, highest = load, p, p
        success = (st.successes + 1.0) / (outcomes + 2.0)  # smoothed_success(st), inlined
        rows.append((c, new, transition, success, mean, load))

    # 2. excluded candidates, and breakers that changed while refusing (probe timed out)
    excluded: list[Score] = []
    updates: list[BreakerUpdate] = []
    notes: list[str] = []
    earliest: tuple[float, str] | None = None
    for c, refused_state, transition in refused:
        full, short, when = _exclusion(refused_state, c.policy, transition)
        excluded.append(_new(Score, (c.name, None, None, None, None, None, c.weight, full, when)))
        notes.append(f"{c.name} excluded: {short}")
        if transition is not None:
            updates.append(BreakerUpdate(c.name, refused_state, transition))
        if when is not None and (earliest is None or (when, c.name) < earliest):
            earliest = (when, c.name)

    if not rows:
        if earliest is None:
            reason = f"no candidate available for {capability}: {'; '.join(notes)}"
            retry = None
        else:
            retry = earliest[0]
            reason = (f"no candidate available for {capability} ({'; '.join(notes)}); "
                      f"earliest probe at {format_epoch(retry)} ({earliest[1]})")
        return Decision(capability, None, False, tuple(excluded), reason, now, retry,
                        tuple(updates))

    # 3. score the allowed ones
    spread = highest - lowest
    w_success, w_latency, w_load, w_priority = (
        weights.success, weights.latency, weights.load, weights.priority)
    fast_ms = (fastest if fastest is not None else 0.0) + LATENCY_FLOOR_MS
    load_base = lowest_load + 1
    scores: list[Score] = []
    best_total = 0.0
    best: _Row | None = None
    for row in rows:
        c, _, _, success, mean, load = row
        latency = UNKNOWN_LATENCY if mean is None else fast_ms / (mean + LATENCY_FLOOR_MS)
        load_part = load_base / (load + 1)
        prio = (c.priority - lowest) / spread if spread else 1.0
        weight = c.weight
        total = weight * (w_success * success + w_latency * latency
                          + w_load * load_part + w_priority * prio)
        scores.append(_new(Score, (c.name, total, success, latency, load_part, prio, weight,
                                   None, None)))
        if best is None or total > best_total or (total == best_total and c.name < best[0].name):
            best_total, best = total, row

    assert best is not None
    chosen, chosen_state, chosen_transition = best[0], best[1], best[2]
    if chosen_state is not None:
        updates.append(BreakerUpdate(chosen.name, chosen_state, chosen_transition))
    n = len(candidates)
    reason = (f"highest score {best_total:.2f} of {n} candidates" if n != 1
              else f"highest score {best_total:.2f} of 1 candidate")
    if chosen_state is not None:
        reason += ", a probe of its half-open breaker"
    if lone is not None:
        short = _exclusion(lone[1], chosen.policy, lone[2])[1]
        reason += f", the only agent offering {capability}: called although its {short}"
    if notes:
        reason += f" ({'; '.join(notes)})"
    return Decision(capability, chosen.name, chosen_state is not None,
                    (*scores, *excluded) if excluded else tuple(scores), reason, now, None,
                    tuple(updates))


def lone_closed(c: Candidate, weights: ScoreWeights = DEFAULT_WEIGHTS) -> Score:
    """``route``'s score of the only candidate when its breaker is closed, without its
    general machinery: nothing is excluded, no breaker changes, and the least loaded and
    the only priority score 1.0 (the same arithmetic, so the same floats)."""
    st = c.stats
    outcomes = st.total
    success = (st.successes + 1.0) / (outcomes + 2.0)
    if outcomes:
        mean = st.duration_sum_ms / outcomes
        latency = (mean + LATENCY_FLOOR_MS) / (mean + LATENCY_FLOOR_MS)
    else:
        latency = UNKNOWN_LATENCY
    load_part = prio = 1.0
    weight = c.weight
    total = weight * (weights.success * success + weights.latency * latency
                      + weights.load * load_part + weights.priority * prio)
    return _new(Score, (c.name, total, success, latency, load_part, prio, weight, None, None))


def lone_reason(score: Score) -> str:
    """Why the only candidate was chosen (as ``route`` says it)."""
    return f"highest score {score.total:.2f} of 1 candidate"
