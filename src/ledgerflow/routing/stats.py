"""Per-agent statistics that add up: outcomes recorded by any number of workers, in any
order, sum to exactly what a rebuild from the stored decisions gives.

Every part adds: the counts, the sum of durations in whole microseconds (integers, so the
sum does not depend on the order outcomes arrive in, as a float sum would), a latency
histogram with fixed buckets, and ``last_update``, the latest outcome's time (a maximum:
commutative and associative like a sum). So a worker records its outcomes into a delta,
the store adds each delta to the stored totals, and ``add`` of every delta equals
``rebuild`` of every outcome.

The histogram's buckets are those of an HDR histogram: one per microsecond below
``EXACT`` µs, then ``SUB`` buckets per doubling, so a bucket is at most 1/``SUB`` of its
lower bound wide; a percentile is read as the middle of its bucket, within 1/(2 x ``SUB``)
(1.6 %) of the exact value.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter

from ledgerflow._frozen import maker

SUB = 32  # histogram buckets per doubling of the duration
EXACT = 2 * SUB  # durations below this many microseconds have a bucket each
MAX_MS = float(2**53 // 1000)  # a longer duration is not a measurement (2^53 µs: 285 years)

Buckets = tuple[tuple[int, int], ...]  # (bucket, count), by bucket, counts above 0


@dataclass(frozen=True, slots=True)
class AgentStats:
    """Outcomes of one agent (or a delta: outcomes not yet added to the stored ones).
    ``duration_us`` is the sum of every outcome's duration in whole microseconds;
    ``buckets`` the latency histogram; ``last_update`` the latest outcome's time."""

    total: int = 0
    successes: int = 0
    failures: int = 0
    duration_us: int = 0
    buckets: Buckets = ()
    last_update: str | None = None

    @property
    def success_rate(self) -> float | None:
        """Successes over outcomes; None before the first outcome."""
        return self.successes / self.total if self.total else None

    @property
    def duration_sum_ms(self) -> float:
        return self.duration_us / 1000.0

    @property
    def mean_ms(self) -> float | None:
        """Mean duration over every outcome; None before the first outcome."""
        return self.duration_us / 1000.0 / self.total if self.total else None

    @property
    def p50_ms(self) -> float | None:
        """The median duration over every outcome (from the histogram); None before the
        first outcome."""
        return percentile(self.buckets, 50.0)

    @property
    def p95_ms(self) -> float | None:
        """The 95th percentile duration over every outcome (from the histogram); None
        before the first outcome."""
        return percentile(self.buckets, 95.0)


EMPTY = AgentStats()


def micros(duration_ms: float) -> int:
    """A duration in whole microseconds (rounded down), after checking it is one."""
    d = float(duration_ms)
    if not (math.isfinite(d) and 0.0 <= d <= MAX_MS):
        raise ValueError(f"duration_ms must be a finite number from 0 to {MAX_MS:.0f}, "
                         f"got {duration_ms!r}")
    return math.floor(d * 1000.0)


def bucket_of(us: int) -> int:
    """The histogram bucket of a duration in microseconds (>= 0)."""
    if us < EXACT:
        return us
    shift = us.bit_length() - EXACT.bit_length() + 1  # keeps the top bits: SUB..2*SUB-1
    return shift * SUB + (us >> shift)


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """The lowest and highest duration (µs) of a bucket: ``bucket_of`` inverted."""
    if bucket < EXACT:
        return bucket, bucket
    shift = bucket // SUB - 1
    top = bucket - shift * SUB
    return top << shift, ((top + 1) << shift) - 1


def percentile(buckets: Buckets, pct: float) -> float | None:
    """Nearest rank over a histogram: the middle (ms) of the bucket holding the smallest
    duration with at least ``pct`` % of durations at or below it; None when empty."""
    count = sum(n for _, n in buckets)
    if not count:
        return None
    rank = max(1, math.ceil(pct / 100.0 * count))
    seen = 0
    for bucket, n in buckets:
        seen += n
        if seen >= rank:
            low, high = bucket_bounds(bucket)
            return (low + high) / 2000.0
    raise AssertionError("unreachable: the ranks add up to the count")


_STATS = maker(AgentStats)  # two a step (``record``, ``counted``): without the frozen __init__


def record(stats: AgentStats, ok: bool, duration_ms: float, at: str) -> AgentStats:
    """``stats`` with one more outcome (``at`` is its time)."""
    us = micros(duration_ms)
    return _STATS(
        total=stats.total + 1,
        successes=stats.successes + (1 if ok else 0),
        failures=stats.failures + (0 if ok else 1),
        duration_us=stats.duration_us + us,
        buckets=_plus_one(stats.buckets, bucket_of(us)),
        last_update=_later(stats.last_update, at),
    )


def counted(stats: AgentStats, ok: bool, us: int, at: str) -> AgentStats:
    """``record`` of an outcome of ``us`` microseconds (``micros``) without the histogram:
    the counts, sum and time, with no buckets (what the router reads)."""
    return _STATS(total=stats.total + 1, successes=stats.successes + (1 if ok else 0),
                  failures=stats.failures + (0 if ok else 1),
                  duration_us=stats.duration_us + us, buckets=(),
                  last_update=_later(stats.last_update, at))


def add(one: AgentStats, other: AgentStats) -> AgentStats:
    """Both together: every count, sum and bucket added, the later ``last_update``.
    Commutative and associative, with ``EMPTY`` as its zero."""
    if other is EMPTY:
        return one
    if one is EMPTY:
        return other
    return AgentStats(
        total=one.total + other.total,
        successes=one.successes + other.successes,
        failures=one.failures + other.failures,
        duration_us=one.duration_us + other.duration_us,
        buckets=_merge(one.buckets, other.buckets),
        last_update=_later(one.last_update, other.last_update),
    )


def rebuild(outcomes: Iterable[tuple[bool, float, str]]) -> AgentStats:
    """Statistics from a history of (ok, duration_ms, at), in any order; equal to folding
    ``record`` over the same outcomes from ``EMPTY``."""
    total = successes = duration = 0
    counts: dict[int, int] = {}
    last: str | None = None
    for ok, duration_ms, at in outcomes:
        us = micros(duration_ms)
        total += 1
        successes += 1 if ok else 0
        duration += us
        bucket = bucket_of(us)
        counts[bucket] = counts.get(bucket, 0) + 1
        last = _later(last, at)
    if not total:
        return EMPTY
    return AgentStats(total, successes, total - successes, duration,
                      tuple(sorted(counts.items())), last)


def smoothed_success(stats: AgentStats, prior_successes: float = 1.0,
                     prior_failures: float = 1.0) -> float:
    """Success rate with a Beta prior (Laplace by default): a new agent scores 0.5, neither
    trusted nor shunned, and evidence moves it from there. Derived from the additive
    counts, so every worker that adopted the same totals scores alike."""
    return (stats.successes + prior_successes) / (
        stats.total + prior_successes + prior_failures)


def _plus_one(buckets: Buckets, bucket: int) -> Buckets:
    i = bisect_left(buckets, bucket, key=itemgetter(0))
    if i < len(buckets) and buckets[i][0] == bucket:
        return (*buckets[:i], (bucket, buckets[i][1] + 1), *buckets[i + 1:])
    return (*buckets[:i], (bucket, 1), *buckets[i:])


def _merge(one: Buckets, other: Buckets) -> Buckets:
    if not other:
        return one
    if not one:
        return other
    counts = dict(one)
    for bucket, n in other:
        counts[bucket] = counts.get(bucket, 0) + n
    return tuple(sorted((b, n) for b, n in counts.items() if n))


def _later(one: str | None, other: str | None) -> str | None:
    if one is None:
        return other
    if other is None:
        return one
    return max(one, other)
