"""Circuit breakers: transitions, reasons, persistence, and that none is ever stuck."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerflow.routing.breaker import (
    CLOSED,
    STATES,
    BreakerPolicy,
    BreakerState,
    Transition,
    allow,
    from_json,
    on_failure,
    on_startup,
    on_success,
    reset,
    retry_at,
    to_json,
)

POLICY = BreakerPolicy(failure_rate=None, half_open_probes=1)  # 5 in a row, 30 s, 1 probe, 60 s
T0 = 1_700_000_000.0


def fail_times(state: BreakerState, policy: BreakerPolicy, n: int,
               now: float = T0) -> tuple[BreakerState, list[Transition]]:
    transitions = []
    for _ in range(n):
        state, t = on_failure(state, policy, now)
        if t is not None:
            transitions.append(t)
    return state, transitions


def opened(policy: BreakerPolicy = POLICY, at: float = T0) -> BreakerState:
    """A breaker that has just opened at ``at`` (count or rate mode)."""
    state = CLOSED
    while state.state == "closed":
        state, _ = on_failure(state, policy, at)
    assert state.state == "open" and state.version == 1
    return state


# count mode ------------------------------------------------------------------------------
def test_closed_breaker_allows_and_does_not_change() -> None:
    ok, state, transition = allow(CLOSED, POLICY, T0)
    assert ok and state is CLOSED and transition is None


def test_opens_after_threshold_consecutive_failures() -> None:
    state, transitions = fail_times(CLOSED, POLICY, 4)
    assert state.state == "closed" and state.consecutive_failures == 4 and not transitions
    state, transition = on_failure(state, POLICY, T0 + 5)
    assert transition == Transition("closed", "open", "5 consecutive failures", T0 + 5)
    assert state.state == "open" and state.opened_at == T0 + 5 and state.version == 1


def test_success_resets_the_consecutive_count() -> None:
    state, _ = fail_times(CLOSED, POLICY, 4)
    state, transition = on_success(state, POLICY, T0)
    assert transition is None and state.consecutive_failures == 0
    state, transitions = fail_times(state, POLICY, 4)
    assert state.state == "closed" and not transitions
    assert state.recent == (False,) * 4 + (True,) + (False,) * 4


def test_recent_keeps_at_most_window_outcomes_newest_last() -> None:
    policy = BreakerPolicy(failure_threshold=100, failure_rate=None, window=3)
    state = CLOSED
    for ok in (True, False, True, True):
        state, _ = (on_success if ok else on_failure)(state, policy, T0)
    assert state.recent == (False, True, True)


# rate mode -------------------------------------------------------------------------------
def test_rate_mode_waits_for_min_calls() -> None:
    policy = BreakerPolicy(failure_rate=0.5, window=20, min_calls=10)
    state, transitions = fail_times(CLOSED, policy, 9)
    assert state.state == "closed" and not transitions  # 100 % but only 9 calls
    state, transition = on_failure(state, policy, T0)
    assert transition is not None
    assert transition.reason == "failure rate 100% over last 10 calls"


def test_rate_mode_reason_over_a_full_window() -> None:
    policy = BreakerPolicy(failure_rate=0.6, window=20, min_calls=10)
    state = CLOSED
    outcomes = [True] * 8 + [False] * 11  # 19 calls: 58 %, stays closed
    for ok in outcomes:
        state, t = (on_success if ok else on_failure)(state, policy, T0)
        assert t is None
    state, transition = on_failure(state, policy, T0 + 1)
    assert transition == Transition("closed", "open", "failure rate 60% over last 20 calls",
                                    T0 + 1)


def test_rate_mode_tolerates_a_burst_below_the_rate() -> None:
    policy = BreakerPolicy(failure_rate=0.5, window=20, min_calls=10)
    state = CLOSED
    for _ in range(14):
        state, _ = on_success(state, policy, T0)
    state, transitions = fail_times(state, policy, 6)  # 6 in a row: 30 % of the window
    assert state.state == "closed" and not transitions
    assert state.consecutive_failures == 6


# open, half-open, probes -----------------------------------------------------------------
def test_open_refuses_until_the_cool_down_passes_then_lets_one_probe() -> None:
    state = opened()
    ok, same, transition = allow(state, POLICY, T0 + 29.9)
    assert not ok and same is state and transition is None
    ok, state2, transition = allow(state, POLICY, T0 + 30)
    assert ok
    assert transition == Transition("open", "half_open", "cool-down of 30s passed", T0 + 30)
    assert state2.state == "half_open" and state2.probes == (T0 + 30,)
    assert state2.version == state.version + 1
    ok, state3, transition = allow(state2, POLICY, T0 + 31)
    assert not ok and state3 is state2 and transition is None


def test_half_open_allows_as_many_probes_as_the_policy() -> None:
    policy = BreakerPolicy(failure_rate=None, half_open_probes=2)
    state = opened(policy)
    ok1, state, _ = allow(state, policy, T0 + 30)
    ok2, state, t2 = allow(state, policy, T0 + 31)
    ok3, state, _ = allow(state, policy, T0 + 32)
    assert (ok1, ok2, ok3) == (True, True, False)
    assert state.probes == (T0 + 30, T0 + 31) and t2 is None
    assert state.version == 2  # recording a probe is not a change of state


def test_probe_success_closes_and_clears_counters() -> None:
    _, state, _ = allow(opened(), POLICY, T0 + 30)
    state, transition = on_success(state, POLICY, T0 + 31)
    assert transition == Transition("half_open", "closed", "probe succeeded", T0 + 31)
    assert state == BreakerState(version=3)


def test_probe_failure_reopens_with_a_new_cool_down() -> None:
    _, state, _ = allow(opened(), POLICY, T0 + 30)
    state, transition = on_failure(state, POLICY, T0 + 31)
    assert transition == Transition("half_open", "open", "probe failed", T0 + 31)
    assert state.state == "open" and state.opened_at == T0 + 31 and state.probes == ()
    assert not allow(state, POLICY, T0 + 60)[0]
    assert allow(state, POLICY, T0 + 61)[0]


def test_a_probe_that_never_answers_times_out_as_a_failure() -> None:
    _, state, _ = allow(opened(), POLICY, T0 + 30)
    assert not allow(state, POLICY, T0 + 89.9)[0]
    ok, state2, transition = allow(state, POLICY, T0 + 90)
    assert not ok
    assert transition == Transition("half_open", "open", "probe timed out after 60s", T0 + 90)
    assert state2.state == "open" and state2.opened_at == T0 + 90
    assert state2.consecutive_failures == state.consecutive_failures + 1
    assert allow(state2, POLICY, T0 + 120)[0]


def test_late_answers_while_open_do_not_move_the_cool_down() -> None:
    state = opened()
    after_fail, t1 = on_failure(state, POLICY, T0 + 10)
    after_ok, t2 = on_success(state, POLICY, T0 + 10)
    assert t1 is None and t2 is None
    assert after_fail.state == after_ok.state == "open"
    assert after_fail.opened_at == after_ok.opened_at == T0
    assert after_ok.consecutive_failures == 0


# restart and reset -----------------------------------------------------------------------
def test_startup_brings_a_cooled_open_breaker_back_half_open() -> None:
    state = opened()
    same, transition = on_startup(state, POLICY, T0 + 10)
    assert same is state and transition is None
    state2, transition = on_startup(state, POLICY, T0 + 30)
    assert transition == Transition("open", "half_open", "cool-down of 30s passed", T0 + 30)
    assert state2.state == "half_open" and state2.probes == ()
    assert allow(state2, POLICY, T0 + 30)[0]


def test_startup_forgets_probes_whose_worker_is_gone() -> None:
    _, state, _ = allow(opened(), POLICY, T0 + 30)
    assert not allow(state, POLICY, T0 + 31)[0]
    state2, transition = on_startup(state, POLICY, T0 + 31)
    assert transition is None and state2.state == "half_open" and state2.probes == ()
    assert state2.version == state.version
    assert allow(state2, POLICY, T0 + 31)[0]


def test_startup_leaves_a_closed_breaker_alone() -> None:
    state, _ = fail_times(CLOSED, POLICY, 2)
    assert on_startup(state, POLICY, T0) == (state, None)


def test_reset_by_hand() -> None:
    state = opened()
    state2, transition = reset(state, T0 + 1, "ops@example.com")
    assert transition == Transition("open", "closed", "reset by hand", T0 + 1, "ops@example.com")
    assert state2 == BreakerState(version=state.version + 1)
    closed, _ = fail_times(CLOSED, POLICY, 3)
    cleared, transition = reset(closed, T0, "ops")
    assert transition is None and cleared == CLOSED


def test_retry_at() -> None:
    state = opened()
    assert retry_at(state, POLICY) == T0 + 30
    _, half, _ = allow(state, POLICY, T0 + 40)
    assert retry_at(half, POLICY) == T0 + 100
    assert retry_at(CLOSED, POLICY) is None


# policy and persistence ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"failure_threshold": 0}, "failure_threshold must be at least 1"),
        ({"failure_rate": 0.0}, "failure_rate must be in (0, 1]"),
        ({"failure_rate": 1.5}, "failure_rate must be in (0, 1]"),
        ({"failure_rate": 0.5, "window": 5, "min_calls": 6},
         "min_calls must be between 1 and window (5)"),
        ({"cooldown": -1.0}, "cooldown must be a finite number"),
        ({"half_open_probes": 0}, "half_open_probes must be at least 1"),
        ({"probe_timeout": 0.0}, "probe_timeout must be a finite number"),
    ],
)
def test_policy_rejects_bad_values(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match="bad breaker policy") as info:
        BreakerPolicy(**kwargs)
    assert fragment in str(info.value)


states = st.builds(
    BreakerState,
    state=st.sampled_from(STATES),
    consecutive_failures=st.integers(0, 1000),
    recent=st.lists(st.booleans(), max_size=20).map(tuple),
    opened_at=st.none() | st.floats(0, 4e9, allow_nan=False),
    probes=st.lists(st.floats(0, 4e9, allow_nan=False), max_size=3).map(tuple),
    version=st.integers(0, 10_000),
)


@given(states)
def test_json_round_trip(state: BreakerState) -> None:
    data = json.loads(json.dumps(to_json(state)))
    assert from_json(data) == state


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"state": "ajar"}, "state must be one of"),
        ({"recent": [1, 0]}, "recent must be a list of booleans"),
        ({"opened_at": "yesterday"}, "opened_at must be a finite number"),
        ({"probes": [None]}, "probes[] must be a finite number"),
        ({"version": -1}, "version must be an integer >= 0"),
        ({"consecutive_failures": True}, "consecutive_failures must be an integer"),
    ],
)
def test_from_json_names_the_bad_field(change: dict[str, Any], fragment: str) -> None:
    data = {**to_json(opened()), **change}
    with pytest.raises(ValueError) as info:
        from_json(data)
    assert fragment in str(info.value)


def test_from_json_names_missing_fields() -> None:
    with pytest.raises(ValueError, match="missing probes, version"):
        from_json({"state": "closed", "consecutive_failures": 0, "recent": [],
                   "opened_at": None})


# properties over any history ---------------------------------------------------------------
policies = st.builds(
    BreakerPolicy,
    failure_threshold=st.integers(1, 6),
    failure_rate=st.none() | st.sampled_from([0.3, 0.5, 1.0]),
    window=st.just(8),
    min_calls=st.integers(1, 8),
    cooldown=st.sampled_from([0.0, 1.0, 30.0]),
    half_open_probes=st.integers(1, 3),
    probe_timeout=st.sampled_from([0.5, 5.0, 60.0]),
)
ops = st.lists(
    st.tuples(st.sampled_from(["success", "failure", "allow", "startup", "reset"]),
              st.sampled_from([0.0, 0.0, 0.1, 1.0, 7.0, 61.0])),
    max_size=60,
)


def apply(op: str, state: BreakerState, policy: BreakerPolicy,
          now: float) -> tuple[BreakerState, Transition | None]:
    if op == "success":
        return on_success(state, policy, now)
    if op == "failure":
        return on_failure(state, policy, now)
    if op == "startup":
        return on_startup(state, policy, now)
    if op == "reset":
        return reset(state, now, "tester")
    _, new, transition = allow(state, policy, now)
    return new, transition


def check_shape(state: BreakerState, policy: BreakerPolicy) -> None:
    assert state.state in STATES
    assert len(state.recent) <= policy.window
    if state.state == "closed":
        assert state.opened_at is None and state.probes == ()
    elif state.state == "open":
        assert state.opened_at is not None and state.probes == ()
    else:
        assert len(state.probes) <= policy.half_open_probes


@settings(max_examples=300, deadline=None)
@given(policies, ops)
def test_every_change_of_state_is_one_transition_and_one_version(
        policy: BreakerPolicy, history: list[tuple[str, float]]) -> None:
    state, now = CLOSED, T0
    for op, step in history:
        now += step
        new, transition = apply(op, state, policy, now)
        check_shape(new, policy)
        if new.state != state.state:
            assert transition is not None and new.version == state.version + 1
            assert (transition.from_state, transition.to_state) == (state.state, new.state)
            assert transition.reason and transition.at == now
        else:
            assert transition is None and new.version == state.version
        state = new


@settings(max_examples=300, deadline=None)
@given(policies, ops)
def test_no_breaker_is_stuck_while_time_passes(
        policy: BreakerPolicy, history: list[tuple[str, float]]) -> None:
    """From any reachable state, with no answers at all, asking again as time passes lets a
    call through within three asks (half-open: the probe times out, then the cool-down)."""
    state, now = CLOSED, T0
    for op, step in history:
        now += step
        state, _ = apply(op, state, policy, now)
    gap = policy.cooldown + policy.probe_timeout + 1
    for ask in range(3):
        ok, state, _ = allow(state, policy, now + ask * gap)
        if ok:
            break
    assert ok, state


@settings(max_examples=200, deadline=None)
@given(policies, ops, st.floats(0, 1000))
def test_a_half_open_breaker_never_outlives_its_probe_timeout(
        policy: BreakerPolicy, history: list[tuple[str, float]], extra: float) -> None:
    state, now = opened(policy), T0
    for op, step in history:
        now += step
        state, _ = apply(op, state, policy, now)
    gap = policy.cooldown + policy.probe_timeout + 1
    for _ in range(3):  # ask until a probe is in flight
        if state.state == "closed" or state.probes:
            break
        now += gap
        _, state, _ = allow(state, policy, now)
    if state.state == "closed":
        return
    assert state.state == "half_open" and state.probes
    later = min(state.probes) + policy.probe_timeout + extra
    ok, new, transition = allow(state, policy, later)
    assert not ok and new.state == "open" and transition is not None
    assert transition.reason == f"probe timed out after {policy.probe_timeout:g}s"
