"""Per-agent statistics: updated with each outcome, and rebuilt from the stored decisions.

``record`` (one outcome at a time) and ``rebuild`` (a whole history at once) give identical
values, float for float: both add durations in the same order, and both keep the last
``SAMPLE`` durations for the p95.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

SAMPLE = 1000  # durations kept for the p95


@dataclass(frozen=True, slots=True)
class AgentStats:
    """Outcomes of one agent. ``durations`` holds the last ``SAMPLE`` durations (ms), oldest
    first; ``duration_sum_ms`` covers every outcome."""

    total: int = 0
    successes: int = 0
    failures: int = 0
    duration_sum_ms: float = 0.0
    durations: tuple[float, ...] = ()
    last_update: str | None = None

    @property
    def success_rate(self) -> float | None:
        """Successes over outcomes; None before the first outcome."""
        return self.successes / self.total if self.total else None

    @property
    def mean_ms(self) -> float | None:
        """Mean duration over every outcome; None before the first outcome."""
        return self.duration_sum_ms / self.total if self.total else None

    @property
    def p95_ms(self) -> float | None:
        """Nearest-rank 95th percentile of the kept durations; None when there are none."""
        return percentile(self.durations, 95.0)


EMPTY = AgentStats()


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least ``pct`` % of values <= it."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _duration(value: float) -> float:
    d = float(value)
    if not (math.isfinite(d) and d >= 0.0):
        raise ValueError(f"duration_ms must be a finite number >= 0, got {value!r}")
    return d


def record(stats: AgentStats, ok: bool, duration_ms: float, at: str) -> AgentStats:
    """``stats`` with one more outcome (``at`` is its timestamp)."""
    d = _duration(duration_ms)
    kept = stats.durations
    kept = (*kept[1:], d) if len(kept) >= SAMPLE else (*kept, d)
    return AgentStats(
        total=stats.total + 1,
        successes=stats.successes + (1 if ok else 0),
        failures=stats.failures + (0 if ok else 1),
        duration_sum_ms=stats.duration_sum_ms + d,
        durations=kept,
        last_update=at,
    )


def rebuild(outcomes: Iterable[tuple[bool, float, str]]) -> AgentStats:
    """Statistics from a history of (ok, duration_ms, at), oldest first; equal to folding
    ``record`` over the same history from ``EMPTY``."""
    total = successes = 0
    duration_sum = 0.0
    kept: deque[float] = deque(maxlen=SAMPLE)
    last: str | None = None
    for ok, duration_ms, at in outcomes:
        d = _duration(duration_ms)
        total += 1
        if ok:
            successes += 1
        duration_sum += d
        kept.append(d)
        last = at
    if not total:
        return EMPTY
    return AgentStats(total, successes, total - successes, duration_sum, tuple(kept), last)


def smoothed_success(stats: AgentStats, prior_successes: float = 1.0,
                     prior_failures: float = 1.0) -> float:
    """Success rate with a Beta prior (Laplace by default): a new agent scores 0.5, neither
    trusted nor shunned, and evidence moves it from there."""
    return (stats.successes + prior_successes) / (
        stats.total + prior_successes + prior_failures)
