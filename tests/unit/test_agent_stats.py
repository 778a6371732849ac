"""Per-agent statistics: incremental updates equal a rebuild from the stored decisions."""

from __future__ import annotations

import math
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerflow.routing.stats import (
    EMPTY,
    SAMPLE,
    AgentStats,
    percentile,
    rebuild,
    record,
    smoothed_success,
)

Outcome = tuple[bool, float, str]


def fold(outcomes: list[Outcome]) -> AgentStats:
    return reduce(lambda s, o: record(s, *o), outcomes, EMPTY)


def test_empty_stats_have_no_rates() -> None:
    assert EMPTY.total == 0
    assert EMPTY.success_rate is None and EMPTY.mean_ms is None and EMPTY.p95_ms is None
    assert rebuild([]) == EMPTY


def test_record_counts_and_timestamps() -> None:
    s = record(EMPTY, True, 100.0, "2025-01-01T00:00:00Z")
    s = record(s, False, 300.0, "2025-01-01T00:00:01Z")
    s = record(s, True, 200, "2025-01-01T00:00:02Z")
    assert (s.total, s.successes, s.failures) == (3, 2, 1)
    assert s.duration_sum_ms == 600.0 and s.mean_ms == 200.0
    assert s.success_rate == pytest.approx(2 / 3)
    assert s.durations == (100.0, 300.0, 200.0)
    assert s.last_update == "2025-01-01T00:00:02Z"


@pytest.mark.parametrize(
    ("values", "p95"),
    [
        (list(range(1, 101)), 95),
        (list(range(1, 21)), 19),  # ceil(0.95 * 20) = 19th smallest
        (list(range(1, 22)), 20),  # ceil(19.95) = 20th
        ([7.0], 7.0),
        ([5, 1, 3], 5),
    ],
)
def test_p95_is_nearest_rank(values: list[float], p95: float) -> None:
    s = rebuild((True, float(v), "t") for v in values)
    assert s.p95_ms == p95
    assert percentile(values, 95) == p95


def test_only_the_last_sample_durations_are_kept() -> None:
    outcomes = [(True, float(i), f"t{i}") for i in range(SAMPLE + 5)]
    s = fold(outcomes)
    assert len(s.durations) == SAMPLE
    assert s.durations[0] == 5.0 and s.durations[-1] == float(SAMPLE + 4)
    assert s.total == SAMPLE + 5
    assert s.mean_ms == pytest.approx(sum(range(SAMPLE + 5)) / (SAMPLE + 5))  # every outcome
    assert s == rebuild(outcomes)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_bad_durations_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="duration_ms must be a finite number >= 0"):
        record(EMPTY, True, bad, "t")
    with pytest.raises(ValueError, match="duration_ms must be a finite number >= 0"):
        rebuild([(True, 1.0, "t"), (False, bad, "u")])


def test_smoothed_success_neither_trusts_nor_shuns_a_new_agent() -> None:
    assert smoothed_success(EMPTY) == 0.5
    s = rebuild([(True, 1.0, "t")] * 9 + [(False, 1.0, "t")])
    assert smoothed_success(s) == pytest.approx(10 / 12)
    assert smoothed_success(s, prior_successes=0, prior_failures=0) == pytest.approx(0.9)
    assert smoothed_success(s, prior_successes=2, prior_failures=8) == pytest.approx(11 / 20)
    lucky = rebuild([(True, 1.0, "t")])
    assert 0.5 < smoothed_success(lucky) < 1.0


outcome = st.tuples(
    st.booleans(),
    st.floats(0, 1e7, allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.0, 0.1, 0.2, 1e-300, 123.456]),
    st.sampled_from(["2025-01-01T00:00:00Z", "2025-01-01T00:00:01.5Z", "later"]),
)


@st.composite
def histories(draw: st.DrawFn) -> list[Outcome]:
    """A short random pattern, often repeated past SAMPLE so the sample window slides."""
    pattern = draw(st.lists(outcome, min_size=1, max_size=40))
    length = draw(st.integers(0, 60) | st.integers(SAMPLE - 2, SAMPLE + 300))
    return [pattern[i % len(pattern)] for i in range(length)]


@settings(max_examples=60, deadline=None)
@given(histories())
def test_rebuild_equals_incremental(outcomes: list[Outcome]) -> None:
    incremental = fold(outcomes)
    rebuilt = rebuild(iter(outcomes))
    assert rebuilt == incremental
    assert rebuilt.p95_ms == incremental.p95_ms
    assert rebuilt.mean_ms == incremental.mean_ms
    assert incremental.total == len(outcomes)
    assert len(incremental.durations) == min(len(outcomes), SAMPLE)


@settings(max_examples=60, deadline=None)
@given(histories(), st.integers(0, 2000))
def test_rebuild_then_continue_equals_incremental(outcomes: list[Outcome], cut: int) -> None:
    """Rebuilding the first part from storage and recording the rest gives the same stats."""
    cut = min(cut, len(outcomes))
    resumed = reduce(lambda s, o: record(s, *o), outcomes[cut:], rebuild(outcomes[:cut]))
    assert resumed == fold(outcomes)
