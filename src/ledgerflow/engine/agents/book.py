"""The worker's book of its agents: breakers, statistics and load, kept in memory, loaded
from storage at start-up, and written back with the commits that change them.

The router (``routing.route``) decides; this book feeds it and records what follows: a
probe taken, an outcome (statistics, breaker), a transition (audited). Everything it
changes is handed over as ``AgentWrites`` for the writer's next transaction, so breaker and
statistics changes commit with the step results that caused them. Only the writer thread
uses it.

Statistics travel as increments: the book sends only what it recorded since its last write,
which the store adds to the stored totals, so any number of workers count every outcome
exactly once. What the router sees (``stats``) is the stored totals as last read (``sync``,
every ``TICK``) plus what this worker recorded since; without the latency histograms, which
only reports read.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache

from ledgerflow._frozen import maker
from ledgerflow.clock import Clock
from ledgerflow.engine.agents.registry import AgentRegistry, AgentSpec
from ledgerflow.engine.rules.dispatching import Choice
from ledgerflow.ledger.canonical import format_timestamp
from ledgerflow.routing import breaker as breakers
from ledgerflow.routing import stats as agent_stats
from ledgerflow.routing.breaker import BreakerPolicy, BreakerState
from ledgerflow.routing.router import (
    Candidate,
    Decision,
    lone_closed,
    lone_reason,
    route,
)
from ledgerflow.routing.stats import AgentStats
from ledgerflow.storage.base import AgentWrites, Store
from ledgerflow.storage.rows import (
    AgentRow,
    BreakerRow,
    BreakerTransitionRow,
    OutcomeRow,
    StatsRow,
)

Key = tuple[str, str]  # (capability, agent)
# made at every step, without their frozen ``__init__`` (``_frozen``)
_OUTCOME_ROW = maker(OutcomeRow)
_CHOICE = maker(Choice)
TICK = 1.0  # seconds between "alive" marks and syncs of breakers and statistics
ALIVE = timedelta(seconds=10)  # another worker heard from this recently offers its agents
HANDOFF_RETRY = 1.0  # seconds before a step handed over is routed again if still here
Notify = Callable[[str, str, str, str, str], None]  # capability, agent, from, to, reason


@dataclass(slots=True)
class _Pending:
    breakers: dict[Key, BreakerRow] = field(default_factory=dict)
    transitions: list[BreakerTransitionRow] = field(default_factory=list)
    stats: dict[Key, AgentStats] = field(default_factory=dict)  # increments not yet written
    outcomes: list[OutcomeRow] = field(default_factory=list)


class AgentBook:
    def __init__(self, registry: AgentRegistry, actor: str,
                 on_transition: Notify | None = None) -> None:
        self._registry = registry
        self._actor = actor
        self._on_transition = on_transition
        self.breakers: dict[Key, BreakerState] = {}
        self.stats: dict[Key, AgentStats] = {}
        self.load: Counter[Key] = Counter()
        # attempts whose outcome counted, by execution: dropped when the execution leaves
        # the worker (``forget``), so the book does not grow with the history
        self._settled: dict[str, set[tuple[str, int]]] = {}
        self._pending = _Pending()
        self._worker_id: str | None = None
        self._last_tick = 0.0
        self._by_capability: dict[str, list[AgentSpec]] = {}
        # the last choice made for a lone agent, with the statistics and spec it was made of
        self._lone: dict[Key, tuple[AgentStats, AgentSpec, Choice]] = {}
        self._elsewhere: dict[str, list[str]] = {}  # capability -> other live workers
        self.shared = False  # other workers may join: wait for one offering a capability
        self.tenant: str | None = None  # the tenant its worker works (None: every tenant)

    # start-up ---------------------------------------------------------------------------
    def load_from(self, store: Store, now: datetime) -> None:
        """Stored breakers (an open one whose cool-down passed comes back half-open) and
        statistics."""
        self._adopt_stats(store)
        policies = {(s.capability, s.name): s.policy for s in self._registry.all()}
        for row in store.load_breakers():
            key = (row.capability, row.agent)
            state = breakers.from_json(json.loads(row.data))
            policy = policies.get(key, breakers.DEFAULT_POLICY)
            new, transition = breakers.on_startup(state, policy, now.timestamp())
            self.breakers[key] = state
            self._set_breaker(key, new, transition, now)

    def sync(self, store: Store, now: datetime) -> None:
        """Adopt what changed outside this worker (another worker, a reset by hand): a
        breaker whose stored version is newer than ours, and the stored statistics (every
        worker's outcomes) plus this worker's not yet written."""
        for row in store.load_breakers():
            key = (row.capability, row.agent)
            mine = self.breakers.get(key)
            if (mine is None or row.version > mine.version) and key not in \
                    self._pending.breakers:
                self.breakers[key] = breakers.from_json(json.loads(row.data))
        self._adopt_stats(store)

    def _adopt_stats(self, store: Store) -> None:
        seen = {(row.capability, row.agent): stats_of(row)  # the router needs no p95
                for row in store.load_stats(histograms=False)}
        for key, unwritten in self._pending.stats.items():
            seen[key] = agent_stats.add(seen.get(key, agent_stats.EMPTY),
                                        replace(unwritten, buckets=()))
        self.stats = seen  # one assignment: a router reading meanwhile sees old or new

    def register(self, store: Store, worker_id: str, now: datetime) -> None:
        """Tell the database which agents this worker offers (``ledgerflow agents``)."""
        host, _, pid = worker_id.rpartition(":")
        at = format_timestamp(now)
        self._worker_id = worker_id
        store.register_agents(worker_id, [
            AgentRow(worker_id=worker_id, capability=s.capability, agent=s.name,
                     priority=s.priority, weight=s.weight, host=host or worker_id,
                     pid=int(pid) if pid.isdigit() else 0, started_at=at, seen_at=at)
            for s in self._registry.all()])

    def tick(self, store: Store, now: datetime) -> None:
        """Every ``TICK`` seconds: show this worker alive, adopt breakers reset by hand."""
        moment = now.timestamp()
        if moment - self._last_tick < TICK or self._worker_id is None:
            return
        self._last_tick = moment
        store.touch_agents(self._worker_id, format_timestamp(now))
        self.sync(store, now)
        self.look_around(store, now)

    def look_around(self, store: Store, now: datetime) -> None:
        """Which capabilities other live workers offer (heard from within ``ALIVE``) that
        may take this one's executions over: for a worker of one tenant, workers of that
        tenant or of every tenant."""
        alive = format_timestamp(now - ALIVE)
        found: dict[str, list[str]] = {}
        takers = None if self.tenant is None else {
            w.id for w in store.list_workers() if w.tenant_scope in (None, self.tenant)}
        for row in store.list_agents():
            if row.worker_id != self._worker_id and row.seen_at >= alive and \
                    (takers is None or row.worker_id in takers):
                found.setdefault(row.capability, []).append(row.worker_id)
        self._elsewhere = {cap: sorted(set(ids)) for cap, ids in found.items()}

    def unregister(self, store: Store) -> None:
        if self._worker_id is not None:
            store.unregister_agents(self._worker_id)

    # routing ----------------------------------------------------------------------------
    def choose(self, capability: str, now: datetime,
               avoid: str | None = None) -> Choice | None:
        """Route a step to one of this worker's agents; None when none offers it. A retry
        passes over ``avoid`` (the agent that just failed it) when another one can take it."""
        specs = self._specs(capability)
        if not specs and (capability in self._elsewhere or self.shared):
            offering = self._elsewhere.get(capability)
            return Choice(agent=None, candidates=[], handoff=True,
                          retry_at=now.timestamp() + HANDOFF_RETRY,
                          reason=f"only other workers offer {capability!r} "
                          f"({', '.join(offering)}): handed over" if offering else
                          f"no live worker offers {capability!r}: handed over to the "
                          "first one that does")
        if len(specs) == 1:  # the common case, decided without the general router
            lone = self._lone_closed(capability, specs[0])
            if lone is not None:
                return lone
        decision = None
        others = [s for s in specs if s.name != avoid]
        if avoid is not None and others and len(others) < len(specs):
            decision = route(capability, [self._candidate(capability, s) for s in others],
                             now.timestamp(), every=False)
            if decision is not None and decision.agent is None:
                decision = None  # the others refuse: the failed one may still take it
            elif decision is not None:
                decision = replace(decision, reason=f"{decision.reason}; passed over {avoid}, "
                                   "which failed the last attempt")
        if decision is None:
            decision = route(capability, [self._candidate(capability, s) for s in specs],
                             now.timestamp())
        if decision is None:
            return None
        for update in decision.updates:
            self._set_breaker((capability, update.agent), update.state, update.transition, now)
        return _choice(decision)

    def _lone_closed(self, capability: str, spec: AgentSpec) -> Choice | None:
        """The only agent of a capability, its breaker closed: ``route``'s choice (the same
        score, reason and stored candidates), without its general machinery; None when its
        breaker is not closed."""
        key = (capability, spec.name)
        breaker = self.breakers.get(key)
        if breaker is not None and breaker.state != "closed":
            return None
        stats = self.stats.get(key, agent_stats.EMPTY)
        made = self._lone.get(key)
        if made is not None and made[0] is stats and made[1] is spec:
            return made[2]  # the same statistics: the same choice (a batch's outcomes
            # are counted before its steps are routed, so its dispatches share one)
        score = lone_closed(Candidate(name=spec.name, weight=spec.weight, stats=stats))
        text = None
        if math.isfinite(score.total or 0.0):  # else JSON's own words for it (NaN, Infinity)
            text = (f'[{{"agent":{_json_text(score.agent)},"total":{score.total!r},'
                    f'"success":{score.success!r},"latency":{score.latency!r},'
                    f'"load":{score.load!r},"priority":{score.priority!r},'
                    f'"weight":{score.weight!r}}}]')
        parts = {"agent": score.agent, "total": score.total, "success": score.success,
                 "latency": score.latency, "load": score.load, "priority": score.priority,
                 "weight": score.weight}  # none of them None: nothing is excluded
        choice: Choice = _CHOICE(agent=spec.name, candidates=[parts],
                                 reason=lone_reason(score), candidates_json=text)
        self._lone[key] = (stats, spec, choice)
        return choice

    def _candidate(self, capability: str, spec: AgentSpec) -> Candidate:
        key = (capability, spec.name)
        return Candidate(name=spec.name, priority=spec.priority, weight=spec.weight,
                         breaker=self.breakers.get(key, breakers.CLOSED), policy=spec.policy,
                         stats=self.stats.get(key, agent_stats.EMPTY), load=self.load[key])

    def started(self, capability: str, agent: str) -> None:
        self.load[(capability, agent)] += 1

    # outcomes ---------------------------------------------------------------------------
    def outcome(self, *, capability: str, agent: str, execution_id: str, step_id: str,
                epoch: int, ok: bool, duration_ms: float, now: datetime) -> None:
        """An attempt ended (answered, failed or timed out): count it once."""
        settled = self._settled.setdefault(execution_id, set())
        if (step_id, epoch) in settled:
            return
        settled.add((step_id, epoch))
        key = (capability, agent)
        if self.load[key] > 0:
            self.load[key] -= 1
        at = format_timestamp(now)
        pending = self._pending.stats
        pending[key] = agent_stats.record(pending.get(key, agent_stats.EMPTY), ok,
                                          duration_ms, at)
        us = agent_stats.micros(duration_ms)
        self.stats[key] = agent_stats.counted(self.stats.get(key, agent_stats.EMPTY), ok, us,
                                              at)
        self._pending.outcomes.append(_OUTCOME_ROW(
            execution_id=execution_id, step_id=step_id, epoch=epoch,
            outcome="success" if ok else "failure", duration_ms=duration_ms,
            duration_us=us, bucket=agent_stats.bucket_of(us), finished_at=at))
        policy = self._policy(key)
        state = self.breakers.get(key, breakers.CLOSED)
        react = breakers.on_success if ok else breakers.on_failure
        new, transition = react(state, policy, now.timestamp())
        self._set_breaker(key, new, transition, now)

    def forget(self, execution_id: str) -> None:
        """The execution left this worker (ended, handed over, lost): its attempts' outcomes
        are no longer looked up."""
        self._settled.pop(execution_id, None)

    def take_writes(self, now: datetime) -> AgentWrites | None:
        """What to write with the next transaction: the statistics increments go with the
        outcomes they count, so the stored statistics always add up to the stored
        decisions."""
        pending = self._pending
        if not (pending.breakers or pending.transitions or pending.outcomes or pending.stats):
            return None
        self._pending = _Pending()
        at = format_timestamp(now)
        return AgentWrites(breakers=tuple(pending.breakers.values()),
                           transitions=tuple(pending.transitions),
                           stats=tuple(stats_row(key, delta, at)
                                       for key, delta in pending.stats.items()),
                           outcomes=tuple(pending.outcomes))

    # internals --------------------------------------------------------------------------
    def _specs(self, capability: str) -> list[AgentSpec]:
        found = self._by_capability.get(capability)
        if found is None:  # the registry does not change while a worker runs
            found = self._by_capability[capability] = self._registry.candidates(capability)
        return found

    def _policy(self, key: Key) -> BreakerPolicy:
        for spec in self._specs(key[0]):
            if spec.name == key[1]:
                return spec.policy
        return breakers.DEFAULT_POLICY

    def _set_breaker(self, key: Key, new: BreakerState,
                     transition: breakers.Transition | None, now: datetime) -> None:
        old = self.breakers.get(key)
        self.breakers[key] = new
        if transition is None and old is not None and not _worth_writing(old, new):
            return  # only the recent-outcome window moved: kept in memory until it matters
        at = format_timestamp(now)
        self._pending.breakers[key] = BreakerRow(
            capability=key[0], agent=key[1], state=new.state,
            data=json.dumps(breakers.to_json(new), separators=(",", ":")),
            version=new.version, updated_at=at)
        if transition is not None:
            self._pending.transitions.append(BreakerTransitionRow(
                capability=key[0], agent=key[1], from_state=transition.from_state,
                to_state=transition.to_state, reason=transition.reason,
                actor=transition.actor or self._actor, occurred_at=at))
            if self._on_transition is not None:
                self._on_transition(key[0], key[1], transition.from_state,
                                    transition.to_state, transition.reason)


def _worth_writing(old: BreakerState, new: BreakerState) -> bool:
    """A breaker state to persist without a transition: its failures or probes changed."""
    return (new.state != old.state or new.consecutive_failures != old.consecutive_failures
            or new.probes != old.probes or new.version != old.version)


_json_text = lru_cache(maxsize=256)(json.dumps)  # an agent's name as a JSON string


def _choice(decision: Decision) -> Choice:
    scores = [{k: v for k, v in s._asdict().items() if v is not None}
              for s in decision.scores]
    return Choice(agent=decision.agent, candidates=scores, reason=decision.reason,
                  retry_at=decision.retry_at)


def stats_of(row: StatsRow) -> AgentStats:
    return AgentStats(total=row.total, successes=row.successes, failures=row.failures,
                      duration_us=row.duration_us, buckets=row.buckets,
                      last_update=row.last_update)


def stats_row(key: Key, stats: AgentStats, updated_at: str) -> StatsRow:
    """Statistics (totals, or an increment) as a row; ``stats`` has at least one outcome."""
    assert stats.last_update is not None, "statistics without an outcome are not written"
    return StatsRow(capability=key[0], agent=key[1], total=stats.total,
                    successes=stats.successes, failures=stats.failures,
                    duration_us=stats.duration_us, last_update=stats.last_update,
                    updated_at=updated_at, buckets=stats.buckets)


class LockedBook:
    """A worker's book behind one lock: ``choose`` also runs on callers' threads (a start
    in the worker's process routes its first steps in the caller's transaction)."""

    def __init__(self, book: AgentBook, clock: Clock) -> None:
        self._book = book
        self._clock = clock
        self._lock = threading.Lock()

    def choose(self, capability: str, avoid: str | None = None) -> Choice | None:
        with self._lock:
            return self._book.choose(capability, self._clock.now(), avoid)

    def outcome(self, execution_id: str, step_id: str, epoch: int, capability: str,
                agent: str, ok: bool, duration_ms: float) -> None:
        with self._lock:
            self._book.outcome(capability=capability, agent=agent, execution_id=execution_id,
                               step_id=step_id, epoch=epoch, ok=ok, duration_ms=duration_ms,
                               now=self._clock.now())

    def take_writes(self) -> AgentWrites | None:
        with self._lock:
            return self._book.take_writes(self._clock.now())

    def forget(self, execution_id: str) -> None:
        with self._lock:
            self._book.forget(execution_id)
