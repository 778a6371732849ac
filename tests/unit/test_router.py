"""The router: breakers first, then scores; probes committed only for the chosen agent."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerflow.routing.breaker import (
    CLOSED,
    BreakerPolicy,
    BreakerState,
    Transition,
    allow,
    on_failure,
)
from ledgerflow.routing.router import Candidate, Decision, ScoreWeights, format_epoch, route
from ledgerflow.routing.stats import EMPTY, AgentStats, rebuild, smoothed_success

NOW = 1_700_000_000.0
POLICY = BreakerPolicy(failure_rate=None, half_open_probes=1)  # count mode


def history(successes: int, failures: int, ms: float = 100.0) -> AgentStats:
    return rebuild([(True, ms, "t")] * successes + [(False, ms, "t")] * failures)


def open_breaker(at: float = NOW - 10) -> BreakerState:
    state = CLOSED
    for _ in range(POLICY.failure_threshold):
        state, _ = on_failure(state, POLICY, at)
    assert state.state == "open"
    return state


def half_open(at: float = NOW - 40) -> BreakerState:
    ok, state, _ = allow(open_breaker(at - 30), POLICY, at)
    assert ok and state.state == "half_open" and state.probes == (at,)
    return state


def chosen(decision: Decision | None) -> str | None:
    assert decision is not None
    return decision.agent


def test_no_candidates_no_decision() -> None:
    assert route("kyc.verify", [], NOW) is None


def test_single_candidate() -> None:
    d = route("kyc.verify", [Candidate("kyc-main")], NOW)
    assert d is not None and d.agent == "kyc-main" and not d.probe
    assert d.reason.startswith("highest score ") and d.reason.endswith(" of 1 candidate")
    assert d.updates == () and d.breaker is None and d.retry_at is None and d.at == NOW
    (score,) = d.scores
    assert score.agent == "kyc-main" and score.excluded is None
    assert score.success == 0.5 and score.latency == 0.5 and score.load == 1.0
    assert score.priority == 1.0


def test_better_success_rate_wins() -> None:
    good = Candidate("b-good", stats=history(9, 1))
    bad = Candidate("a-bad", stats=history(5, 5))
    assert chosen(route("x", [bad, good], NOW)) == "b-good"


def test_lower_latency_wins() -> None:
    fast = Candidate("b-fast", stats=history(10, 0, ms=50))
    slow = Candidate("a-slow", stats=history(10, 0, ms=500))
    d = route("x", [slow, fast], NOW)
    assert chosen(d) == "b-fast"
    assert d is not None
    by_name = {s.agent: s for s in d.scores}
    assert by_name["b-fast"].latency == 1.0
    assert by_name["a-slow"].latency == pytest.approx(51 / 501)


def test_fewer_in_flight_wins() -> None:
    busy = Candidate("a-busy", load=4)
    idle = Candidate("b-idle", load=0)
    d = route("x", [busy, idle], NOW)
    assert chosen(d) == "b-idle"
    assert d is not None and {s.agent: s.load for s in d.scores}["a-busy"] == 1 / 5


def test_higher_priority_wins_all_else_equal() -> None:
    assert chosen(route("x", [Candidate("a", priority=1), Candidate("b", priority=2)],
                        NOW)) == "b"


def test_weight_multiplies_the_score() -> None:
    d = route("x", [Candidate("a", weight=0.5), Candidate("b", weight=1.0)], NOW)
    assert d is not None and d.agent == "b"
    totals = {s.agent: s.total for s in d.scores}
    assert totals["a"] == pytest.approx(totals["b"] * 0.5)  # type: ignore[operator]


def test_ties_are_broken_by_name() -> None:
    assert chosen(route("x", [Candidate("kyc-b"), Candidate("kyc-a")], NOW)) == "kyc-a"


def test_custom_weights() -> None:
    fast_but_flaky = Candidate("a", stats=history(1, 9, ms=10))
    slow_but_sure = Candidate("b", stats=history(10, 0, ms=1000))
    assert chosen(route("x", [fast_but_flaky, slow_but_sure], NOW)) == "b"
    latency_only = ScoreWeights(success=0.0, latency=1.0, load=0.0, priority=0.0)
    assert chosen(route("x", [fast_but_flaky, slow_but_sure], NOW, latency_only)) == "a"


def test_open_breaker_is_excluded_with_its_reason() -> None:
    main = Candidate("kyc-main", stats=history(9, 1))
    backup = Candidate("kyc-backup", breaker=open_breaker(NOW - 10), policy=POLICY)
    d = route("kyc.verify", [main, backup], NOW)
    assert d is not None and d.agent == "kyc-main"
    assert d.reason.endswith(" of 2 candidates (kyc-backup excluded: breaker open)")
    excluded = {s.agent: s for s in d.scores}["kyc-backup"]
    assert excluded.total is None and excluded.retry_at == NOW + 20
    assert excluded.excluded == f"breaker open until {format_epoch(NOW + 20)}"
    assert d.updates == ()


def test_a_cooled_open_breaker_is_probed_when_chosen() -> None:
    only = Candidate("kyc-main", breaker=open_breaker(NOW - 30))
    d = route("kyc.verify", [only], NOW)
    assert d is not None and d.agent == "kyc-main" and d.probe
    assert "a probe of its half-open breaker" in d.reason
    (update,) = d.updates
    assert update.agent == "kyc-main"
    assert update.transition == Transition("open", "half_open", "cool-down of 30s passed", NOW)
    assert d.breaker == update.state and update.state.probes == (NOW,)


def test_only_the_chosen_candidates_probe_is_committed() -> None:
    healthy = Candidate("a-healthy", stats=history(50, 0, ms=10))
    recovering = Candidate("b-recovering", breaker=open_breaker(NOW - 60),
                           stats=history(5, 5, ms=900))
    d = route("x", [healthy, recovering], NOW)
    assert d is not None and d.agent == "a-healthy" and not d.probe
    assert d.updates == ()  # b was allowed a probe while scoring, but it was not chosen
    assert {s.agent: s.excluded for s in d.scores}["b-recovering"] is None
    # the same question gives the same answer: nothing was consumed
    assert route("x", [healthy, recovering], NOW) == d


def test_half_open_with_its_probe_in_flight_is_excluded() -> None:
    main = Candidate("kyc-main")
    busy = Candidate("kyc-backup", breaker=half_open(NOW - 5), policy=POLICY)
    d = route("x", [main, busy], NOW)
    assert d is not None and d.agent == "kyc-main"
    assert "(kyc-backup excluded: breaker half-open, probe in flight)" in d.reason
    assert {s.agent: s.retry_at for s in d.scores}["kyc-backup"] == NOW - 5 + 60


def test_a_timed_out_probe_reopens_the_breaker_even_when_not_chosen() -> None:
    main = Candidate("kyc-main")
    stale = Candidate("kyc-backup", breaker=half_open(NOW - 60))
    d = route("x", [main, stale], NOW)
    assert d is not None and d.agent == "kyc-main"
    (update,) = d.updates
    assert update.agent == "kyc-backup" and update.state.state == "open"
    assert update.transition == Transition("half_open", "open", "probe timed out after 60s", NOW)
    assert d.breaker is None  # the chosen agent's breaker did not change
    excluded = {s.agent: s for s in d.scores}["kyc-backup"]
    assert excluded.excluded is not None and "probe timed out after 60s" in excluded.excluded
    assert excluded.retry_at == NOW + 30


def test_all_excluded_says_when_to_try_again() -> None:
    a = Candidate("kyc-a", breaker=open_breaker(NOW - 5))
    b = Candidate("kyc-b", breaker=open_breaker(NOW - 20))
    d = route("kyc.verify", [a, b], NOW)
    assert d is not None and d.agent is None and not d.probe
    assert d.retry_at == NOW + 10
    assert d.reason == (
        "no candidate available for kyc.verify (kyc-a excluded: breaker open; "
        f"kyc-b excluded: breaker open); earliest probe at {format_epoch(NOW + 10)} (kyc-b)")
    assert [s.total for s in d.scores] == [None, None]
    # once that time comes, the router lets a probe through
    later = route("kyc.verify", [a, b], d.retry_at)
    assert later is not None and later.agent == "kyc-b" and later.probe


def test_decision_is_plain_json() -> None:
    d = route("x", [Candidate("a", stats=history(3, 1)),
                    Candidate("b", breaker=open_breaker(NOW - 31))], NOW)
    assert d is not None
    data = json.loads(json.dumps(d.to_json()))
    assert data["agent"] == d.agent and data["reason"] == d.reason
    assert {s["agent"] for s in data["scores"]} == {"a", "b"}
    if d.updates:
        assert data["updates"][0]["state"]["state"] == "half_open"


def test_format_epoch() -> None:
    assert format_epoch(0) == "1970-01-01T00:00:00Z"


# properties ---------------------------------------------------------------------------------
@st.composite
def candidate_sets(draw: st.DrawFn) -> list[Candidate]:
    names = draw(st.lists(st.sampled_from("abcdefghij"), min_size=1, max_size=8, unique=True))
    out = []
    for name in names:
        breaker = draw(st.sampled_from(
            [CLOSED, open_breaker(NOW - 5), open_breaker(NOW - 40), half_open(NOW - 5),
             half_open(NOW - 70)]))
        ok = draw(st.integers(0, 30))
        bad = draw(st.integers(0, 30))
        stats = EMPTY if ok + bad == 0 else history(ok, bad, draw(st.floats(0, 5000)))
        out.append(Candidate(name, priority=draw(st.integers(-3, 3)),
                             weight=draw(st.sampled_from([0.5, 1.0, 2.0])),
                             breaker=breaker, stats=stats, load=draw(st.integers(0, 5))))
    return out


@settings(max_examples=300, deadline=None)
@given(candidate_sets(), st.randoms(use_true_random=False))
def test_route_properties(candidates: list[Candidate], rnd: random.Random) -> None:
    d = route("cap", candidates, NOW)
    assert d is not None
    assert {s.agent for s in d.scores} == {c.name for c in candidates}
    scored = [s for s in d.scores if s.total is not None]
    if d.agent is None:
        assert not scored and d.retry_at is not None and d.retry_at > NOW
    else:
        best = max(scored, key=lambda s: (s.total, [-ord(ch) for ch in s.agent]))
        assert d.agent == best.agent
        stats_of = {c.name: c.stats for c in candidates}
        for s in scored:
            assert s.excluded is None and s.success == smoothed_success(stats_of[s.agent])
            for part in (s.success, s.latency, s.load, s.priority):
                assert part is not None and 0.0 <= part <= 1.0
        breaker_of = {c.name: c.breaker for c in candidates}
        lone = "the only agent offering" in d.reason  # called although its breaker refused
        assert lone <= (len(candidates) == 1)
        assert d.probe == (breaker_of[d.agent].state != "closed" and not lone)
        assert (d.breaker is not None) == d.probe
    for s in d.scores:
        if s.total is None:
            assert s.excluded and s.success is None
    committed = [u.agent for u in d.updates]
    assert len(committed) == len(set(committed))
    # purity and order independence
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    again = route("cap", shuffled, NOW)
    assert again is not None and again.agent == d.agent and again.retry_at == d.retry_at


def test_the_only_agent_is_called_although_its_breaker_is_open() -> None:
    lone = Candidate("flaky", breaker=BreakerState("open", 5, (), NOW - 1, (), 1),
                     policy=POLICY)
    d = route("x", [lone], NOW)
    assert d is not None and d.agent == "flaky" and not d.probe
    assert "only agent offering x: called although its breaker open" in d.reason
    other = Candidate("other", breaker=BreakerState("open", 5, (), NOW - 1, (), 1),
                      policy=POLICY)
    assert route("x", [lone, other], NOW).agent is None  # type: ignore[union-attr]
