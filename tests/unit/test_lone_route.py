"""One agent with a closed breaker is chosen without the general router: the decision it
records (agent, candidates as stored, reason) is the one the router would have made."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerflow.engine.agents.book import AgentBook
from ledgerflow.engine.agents.registry import AgentRegistry
from ledgerflow.engine.rules.dispatching import candidates_json
from ledgerflow.routing import breaker as breakers
from ledgerflow.routing.router import Candidate, route
from ledgerflow.routing.stats import EMPTY, rebuild

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
CAP = "kyc.verify"


def lone_book(name: str, weight: float) -> AgentBook:
    registry = AgentRegistry()
    registry.register(CAP, lambda ctx, data: None, name=name, weight=weight)
    return AgentBook(registry, "test")


@settings(max_examples=300, deadline=None)
@given(name=st.text(min_size=1, max_size=12),
       weight=st.floats(min_value=0.01, max_value=1e6),
       outcomes=st.lists(st.tuples(st.booleans(), st.floats(min_value=0, max_value=1e7)),
                         max_size=6),
       load=st.integers(min_value=0, max_value=50))
def test_the_lone_closed_agent_gets_the_routers_decision(
        name: str, weight: float, outcomes: list[tuple[bool, float]], load: int) -> None:
    book = lone_book(name, weight)
    key = (CAP, name)
    stats = rebuild([(ok, ms, "2026-12-05T08:00:00Z") for ok, ms in outcomes]) \
        if outcomes else EMPTY
    book.stats[key] = stats
    book.load[key] = load
    chosen = book.choose(CAP, NOW)
    decision = route(CAP, [Candidate(name=name, weight=weight, stats=stats, load=load)],
                     NOW.timestamp())
    assert chosen is not None and decision is not None
    expected = [{k: v for k, v in s._asdict().items() if v is not None}
                for s in decision.scores]
    assert (chosen.agent, chosen.candidates, chosen.reason) == (
        decision.agent, expected, decision.reason)
    assert chosen.candidates_json == candidates_json(expected)  # the row's bytes


def test_a_choice_is_made_again_once_an_outcome_changed_the_statistics() -> None:
    """Steps routed between two outcomes share one choice; an outcome makes a new one."""
    book = lone_book("only", 1.0)
    first = book.choose(CAP, NOW)
    assert first is not None and book.choose(CAP, NOW) is first
    book.started(CAP, "only")
    book.outcome(capability=CAP, agent="only", execution_id="e", step_id="s", epoch=1,
                 ok=False, duration_ms=2_000.0, now=NOW)
    after = book.choose(CAP, NOW)
    decision = route(CAP, [Candidate(name="only", stats=book.stats[(CAP, "only")])],
                     NOW.timestamp())
    assert after is not None and decision is not None and after is not first
    assert (after.reason, after.candidates_json) == (decision.reason, candidates_json(
        [{k: v for k, v in s._asdict().items() if v is not None} for s in decision.scores]))
    assert after.reason != first.reason


def test_a_lone_agent_whose_breaker_is_open_is_still_routed_by_the_router() -> None:
    book = lone_book("only", 1.0)
    policy = breakers.DEFAULT_POLICY
    state = breakers.CLOSED
    for _ in range(50):
        state, _ = breakers.on_failure(state, policy, NOW.timestamp() - 1)
    assert state.state == "open"
    book.breakers[(CAP, "only")] = state
    chosen = book.choose(CAP, NOW)
    assert chosen is not None and chosen.agent == "only"
    assert "the only agent offering kyc.verify: called although its breaker open" in \
        chosen.reason
    assert chosen.candidates_json is None  # rendered when the row is written
