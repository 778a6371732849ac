"""Per-agent statistics add up: deltas recorded by any number of workers, added in any
order, equal a rebuild from every outcome; the histogram's percentiles stay within their
stated error."""

from __future__ import annotations

import math
import random
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerflow.routing.stats import (
    EMPTY,
    EXACT,
    MAX_MS,
    SUB,
    AgentStats,
    add,
    bucket_bounds,
    bucket_of,
    micros,
    percentile,
    rebuild,
    record,
    smoothed_success,
)

Outcome = tuple[bool, float, str]


def fold(outcomes: list[Outcome], start: AgentStats = EMPTY) -> AgentStats:
    return reduce(lambda s, o: record(s, *o), outcomes, start)


def exact_nearest_rank(values_us: list[int], pct: float) -> int:
    ordered = sorted(values_us)
    return ordered[max(1, math.ceil(pct / 100.0 * len(ordered))) - 1]


def test_empty_stats_have_no_rates() -> None:
    assert EMPTY.total == 0
    assert EMPTY.success_rate is None and EMPTY.mean_ms is None and EMPTY.p95_ms is None
    assert rebuild([]) == EMPTY


def test_record_counts_sums_and_times() -> None:
    s = record(EMPTY, True, 100.0, "2025-01-01T00:00:00Z")
    s = record(s, False, 300.0, "2025-01-01T00:00:02Z")
    s = record(s, True, 200, "2025-01-01T00:00:01Z")  # recorded late: still not the latest
    assert (s.total, s.successes, s.failures) == (3, 2, 1)
    assert s.duration_us == 600_000 and s.mean_ms == 200.0 and s.duration_sum_ms == 600.0
    assert s.success_rate == pytest.approx(2 / 3)
    assert sum(n for _, n in s.buckets) == 3
    assert s.last_update == "2025-01-01T00:00:02Z"


def test_durations_count_in_whole_microseconds_rounded_down() -> None:
    assert micros(0.0) == 0 and micros(0.0009) == 0 and micros(0.001) == 1
    assert micros(12.3456789) == 12_345
    assert micros(MAX_MS) == int(MAX_MS) * 1000


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, MAX_MS * 2])
def test_bad_durations_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="duration_ms must be a finite number from 0"):
        record(EMPTY, True, bad, "t")
    with pytest.raises(ValueError, match="duration_ms must be a finite number from 0"):
        rebuild([(True, 1.0, "t"), (False, bad, "u")])


def test_buckets_are_exact_below_exact_then_sub_per_doubling() -> None:
    assert [bucket_of(us) for us in range(EXACT)] == list(range(EXACT))
    assert bucket_of(EXACT) == EXACT and bucket_bounds(EXACT) == (EXACT, EXACT + 1)
    # one doubling later, SUB buckets further on
    assert bucket_of(2 * EXACT) == EXACT + SUB
    assert bucket_of(4 * EXACT) == EXACT + 2 * SUB


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**53))
def test_a_bucket_holds_its_duration_is_contiguous_and_narrow(us: int) -> None:
    bucket = bucket_of(us)
    low, high = bucket_bounds(bucket)
    assert low <= us <= high
    assert bucket_of(low) == bucket == bucket_of(high)
    assert bucket_of(high + 1) == bucket + 1  # no gaps, no overlaps
    if low >= EXACT:
        assert (high - low + 1) / low <= 1 / SUB  # at most 3.1 % wide
    else:
        assert high == low  # exact


@pytest.mark.parametrize(
    ("values", "p95"),
    [
        (list(range(1, 61)), 57),  # ceil(0.95 * 60) = 57th smallest
        ([7], 7),
        ([5, 1, 3], 5),
        ([0, 0, 0, 40], 40),
    ],
)
def test_p95_is_the_nearest_rank_exactly_below_exact_microseconds(values: list[int],
                                                                   p95: int) -> None:
    s = rebuild((True, v / 1000.0, "t") for v in values)
    assert s.p95_ms == p95 / 1000.0


@pytest.mark.parametrize(
    ("values", "p50"),
    [
        (list(range(1, 61)), 30),  # ceil(0.5 * 60) = 30th smallest
        ([7], 7),
        ([5, 1, 3], 3),
        ([0, 0, 0, 40], 0),
    ],
)
def test_p50_is_the_nearest_rank_median(values: list[int], p50: int) -> None:
    s = rebuild((True, v / 1000.0, "t") for v in values)
    assert s.p50_ms == p50 / 1000.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**10), min_size=1, max_size=300),
       st.sampled_from([50.0, 95.0, 99.0, 100.0]))
def test_a_percentile_is_within_half_a_bucket_of_the_exact_one(values: list[int],
                                                             pct: float) -> None:
    s = rebuild((True, v / 1000.0, "t") for v in values)
    found = percentile(s.buckets, pct)
    assert found is not None
    exact = exact_nearest_rank([micros(v / 1000.0) for v in values], pct) / 1000.0
    assert abs(found - exact) <= exact / (2 * SUB) + 0.0005  # + half a microsecond


outcome = st.tuples(
    st.booleans(),
    st.floats(0, 1e7, allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, 0.1, 0.2, 1e-300, 123.456, 0.0005]),
    st.sampled_from(["2025-01-01T00:00:00.000000Z", "2025-01-01T00:00:01.500000Z",
                     "2025-01-02T00:00:00.000000Z"]),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(outcome, max_size=80))
def test_rebuild_equals_recording_one_by_one(outcomes: list[Outcome]) -> None:
    assert rebuild(iter(outcomes)) == fold(outcomes)
    assert rebuild(outcomes).total == len(outcomes)


@settings(max_examples=150, deadline=None)
@given(st.lists(outcome, max_size=80), st.integers(1, 5), st.randoms(use_true_random=False))
def test_workers_deltas_add_up_to_the_rebuild_in_any_order(
        outcomes: list[Outcome], workers: int, rnd: random.Random) -> None:
    """The promise behind exact statistics: outcomes spread over workers, each worker's
    deltas cut at arbitrary writes, every delta added to the stored totals in an arbitrary
    order, equal the statistics rebuilt from all outcomes."""
    deltas: list[AgentStats] = []
    pending = [EMPTY] * workers
    for o in outcomes:
        w = rnd.randrange(workers)
        pending[w] = record(pending[w], *o)
        if rnd.random() < 0.3:  # this worker writes now
            deltas.append(pending[w])
            pending[w] = EMPTY
    deltas.extend(pending)
    rnd.shuffle(deltas)
    stored = reduce(add, deltas, EMPTY)
    assert stored == rebuild(outcomes)
    assert stored.p95_ms == rebuild(reversed(outcomes)).p95_ms


@settings(max_examples=100, deadline=None)
@given(st.lists(outcome, max_size=30), st.lists(outcome, max_size=30),
       st.lists(outcome, max_size=30))
def test_add_is_commutative_and_associative_with_empty_as_zero(
        a: list[Outcome], b: list[Outcome], c: list[Outcome]) -> None:
    x, y, z = rebuild(a), rebuild(b), rebuild(c)
    assert add(x, y) == add(y, x)
    assert add(add(x, y), z) == add(x, add(y, z))
    assert add(x, EMPTY) == x == add(EMPTY, x)


def test_smoothed_success_neither_trusts_nor_shuns_a_new_agent() -> None:
    assert smoothed_success(EMPTY) == 0.5
    s = rebuild([(True, 1.0, "t")] * 9 + [(False, 1.0, "t")])
    assert smoothed_success(s) == pytest.approx(10 / 12)
    assert smoothed_success(s, prior_successes=0, prior_failures=0) == pytest.approx(0.9)
    assert smoothed_success(s, prior_successes=2, prior_failures=8) == pytest.approx(11 / 20)
    lucky = rebuild([(True, 1.0, "t")])
    assert 0.5 < smoothed_success(lucky) < 1.0
    # from the additive counts alone: two workers' halves score as the whole
    halves = add(rebuild([(True, 1.0, "t")] * 9), rebuild([(False, 1.0, "t")]))
    assert smoothed_success(halves) == smoothed_success(s)
