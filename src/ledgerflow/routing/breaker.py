"""Circuit breakers: one per (capability, agent), an immutable value and pure transitions.

::

    closed ──failures reach the policy──▶ open ──cool-down passed──▶ half_open
    half_open ──probe succeeded──▶ closed
    half_open ──probe failed, or timed out──▶ open (cool-down starts again)

Every function takes the current state, the policy and ``now`` (epoch seconds) and returns
the new state with at most one ``Transition``. A change of ``state`` increments ``version``;
bookkeeping inside a state (counters, probes recorded) does not. Nothing here reads a clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ledgerflow._frozen import maker

StateName = Literal["closed", "open", "half_open"]
STATES: tuple[StateName, ...] = ("closed", "open", "half_open")


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When a breaker opens and how it recovers.

    Rate mode (the default): it opens when the failure rate over the last ``window``
    outcomes is at least ``failure_rate`` and at least ``min_calls`` outcomes are known; the
    consecutive count is then kept for information only. Count mode (``failure_rate`` is
    None): ``failure_threshold`` consecutive failures open it.

    Defaults: a dead agent is isolated after ``min_calls`` (5) failed calls, and the router
    moves its traffic to the other agents of the capability at once; a flaky agent whose
    retries succeed fails about half of its calls, so 50 % over 20 calls opens it too, but
    an open breaker never excludes the only agent of a capability (``router.route``), so it
    cannot stall one. After the 30 s cool-down, 3 probes may go at once: one failure among
    them (the first attempt of a flaky call) reopens it, one success closes it.
    """

    failure_threshold: int = 5
    failure_rate: float | None = 0.5
    window: int = 20
    min_calls: int = 5
    cooldown: float = 30.0
    half_open_probes: int = 3
    probe_timeout: float = 60.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.failure_threshold < 1:
            problems.append(f"failure_threshold must be at least 1, got {self.failure_threshold}")
        rate = self.failure_rate
        if rate is not None and not (0.0 < rate <= 1.0):
            problems.append(f"failure_rate must be in (0, 1], got {rate}")
        if self.window < 1:
            problems.append(f"window must be at least 1, got {self.window}")
        if rate is not None and not 1 <= self.min_calls <= max(self.window, 1):
            problems.append(f"min_calls must be between 1 and window ({self.window}), "
                            f"got {self.min_calls}")
        if not (math.isfinite(self.cooldown) and self.cooldown >= 0):
            problems.append(f"cooldown must be a finite number of seconds >= 0, "
                            f"got {self.cooldown}")
        if self.half_open_probes < 1:
            problems.append(f"half_open_probes must be at least 1, got {self.half_open_probes}")
        if not (math.isfinite(self.probe_timeout) and self.probe_timeout > 0):
            problems.append(f"probe_timeout must be a finite number of seconds > 0, "
                            f"got {self.probe_timeout}")
        if problems:
            raise ValueError("bad breaker policy: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class BreakerState:
    """One breaker's state. ``recent`` holds outcomes (True = success), newest last, at most
    ``policy.window`` of them; ``probes`` the start times of probes in flight."""

    state: StateName = "closed"
    consecutive_failures: int = 0
    recent: tuple[bool, ...] = ()
    opened_at: float | None = None
    probes: tuple[float, ...] = ()
    version: int = 0


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of a breaker's state, with a readable reason (``"5 consecutive failures"``)."""

    from_state: StateName
    to_state: StateName
    reason: str
    at: float | None = None
    actor: str | None = None


CLOSED = BreakerState()
DEFAULT_POLICY = BreakerPolicy()

Result = tuple[BreakerState, Transition | None]


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _push(recent: tuple[bool, ...], ok: bool, window: int) -> tuple[bool, ...]:
    out = (*recent, ok)
    return out[-window:] if len(out) > window else out


def _open(state: BreakerState, now: float, reason: str, failures: int,
          recent: tuple[bool, ...]) -> Result:
    new = BreakerState("open", failures, recent, now, (), state.version + 1)
    return new, Transition(state.state, "open", reason, now)


def _trip_reason(policy: BreakerPolicy, failures: int, recent: tuple[bool, ...]) -> str | None:
    """Why a closed breaker with these counters must open, or None."""
    rate = policy.failure_rate
    if rate is None:
        if failures >= policy.failure_threshold:
            return f"{failures} consecutive failures"
        return None
    calls = len(recent)
    if calls < policy.min_calls:
        return None
    observed = recent.count(False) / calls
    if observed >= rate:
        return f"failure rate {observed:.0%} over last {calls} calls"
    return None


def cooled(state: BreakerState, policy: BreakerPolicy, now: float) -> bool:
    """True when an open breaker's cool-down has passed at ``now``."""
    return state.opened_at is None or now - state.opened_at >= policy.cooldown


_STATE = maker(BreakerState)  # one a success (every step): without the frozen __init__


def on_success(state: BreakerState, policy: BreakerPolicy, now: float) -> Result:
    """An attempt succeeded. In half_open this was a probe: the breaker closes."""
    if state.state == "half_open":
        new = BreakerState("closed", 0, (), None, (), state.version + 1)
        return new, Transition("half_open", "closed", "probe succeeded", now)
    recent = _push(state.recent, True, policy.window)
    return _STATE(state=state.state, consecutive_failures=0, recent=recent,
                  opened_at=state.opened_at, probes=state.probes, version=state.version), None


def on_failure(state: BreakerState, policy: BreakerPolicy, now: float) -> Result:
    """An attempt failed. A closed breaker may open; a half-open one opens again."""
    failures = state.consecutive_failures + 1
    recent = _push(state.recent, False, policy.window)
    if state.state == "half_open":
        return _open(state, now, "probe failed", failures, recent)
    if state.state == "closed":
        reason = _trip_reason(policy, failures, recent)
        if reason is not None:
            return _open(state, now, reason, failures, recent)
    # closed below the limit, or a late answer while open: counters only, cool-down unchanged
    new = BreakerState(state.state, failures, recent, state.opened_at, state.probes, state.version)
    return new, None


def allow(state: BreakerState, policy: BreakerPolicy,
          now: float) -> tuple[bool, BreakerState, Transition | None]:
    """May a call go to this agent now? Returns (allowed, new state, transition).

    closed: allowed. open: allowed once the cool-down has passed, and the breaker turns
    half_open with this call as its first probe. half_open: a probe older than
    ``probe_timeout`` counts as a failure and opens the breaker again; otherwise allowed while
    fewer than ``half_open_probes`` probes are in flight, recording this call as one.
    A call allowed by a non-closed breaker is a probe: commit the new state only for the
    call that is actually made.
    """
    name = state.state
    if name == "closed":
        return True, state, None
    if name == "open":
        if not cooled(state, policy, now):
            return False, state, None
        new = BreakerState("half_open", state.consecutive_failures, state.recent,
                           state.opened_at, (now,), state.version + 1)
        reason = f"cool-down of {_seconds(policy.cooldown)} passed"
        return True, new, Transition("open", "half_open", reason, now)
    probes = state.probes
    timeout = policy.probe_timeout
    if probes and now - min(probes) >= timeout:
        expired = sum(1 for started in probes if now - started >= timeout)
        recent = state.recent
        for _ in range(expired):
            recent = _push(recent, False, policy.window)
        reason = f"probe timed out after {_seconds(timeout)}"
        new, transition = _open(state, now, reason, state.consecutive_failures + expired, recent)
        return False, new, transition
    if len(probes) < policy.half_open_probes:
        new = BreakerState("half_open", state.consecutive_failures, state.recent,
                           state.opened_at, (*probes, now), state.version)
        return True, new, None
    return False, state, None


def on_startup(state: BreakerState, policy: BreakerPolicy, now: float) -> Result:
    """A process restarted with this persisted state.

    An open breaker whose cool-down has passed comes back half_open (no probe yet). Probes
    recorded before the restart are forgotten: their worker is gone.
    """
    if state.state == "open" and cooled(state, policy, now):
        new = BreakerState("half_open", state.consecutive_failures, state.recent,
                           state.opened_at, (), state.version + 1)
        reason = f"cool-down of {_seconds(policy.cooldown)} passed"
        return new, Transition("open", "half_open", reason, now)
    if state.state == "half_open" and state.probes:
        new = BreakerState("half_open", state.consecutive_failures, state.recent,
                           state.opened_at, (), state.version)
        return new, None
    return state, None


def reset(state: BreakerState, now: float, actor: str | None = None) -> Result:
    """Close a breaker by hand, clearing its counters. Closing a closed breaker only clears
    its counters (no transition)."""
    if state.state == "closed":
        return BreakerState(version=state.version), None
    new = BreakerState("closed", 0, (), None, (), state.version + 1)
    return new, Transition(state.state, "closed", "reset by hand", now, actor)


def retry_at(state: BreakerState, policy: BreakerPolicy) -> float | None:
    """The earliest time at which ``allow`` may answer differently for a breaker that refuses
    calls now: the end of an open breaker's cool-down, or when the oldest probe in flight of a
    full half-open breaker times out. None for a closed breaker."""
    if state.state == "open":
        return None if state.opened_at is None else state.opened_at + policy.cooldown
    if state.state == "half_open" and state.probes:
        return min(state.probes) + policy.probe_timeout
    return None


# persistence ------------------------------------------------------------------------------
def to_json(state: BreakerState) -> dict[str, Any]:
    """A state as a dict of plain JSON values."""
    return {
        "state": state.state,
        "consecutive_failures": state.consecutive_failures,
        "recent": list(state.recent),
        "opened_at": state.opened_at,
        "probes": list(state.probes),
        "version": state.version,
    }


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"breaker state: {key} must be a finite number, got {value!r}")
    return float(value)


def _count(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"breaker state: {key} must be an integer >= 0, got {value!r}")
    return value


def from_json(data: Mapping[str, Any]) -> BreakerState:
    """Read a state written by ``to_json``. Raises ValueError, naming the field, if malformed."""
    if not isinstance(data, Mapping):
        raise ValueError(f"breaker state must be an object, got {type(data).__name__}")
    expected = {"state", "consecutive_failures", "recent", "opened_at", "probes", "version"}
    missing = sorted(expected - set(data))
    if missing:
        raise ValueError(f"breaker state: missing {', '.join(missing)}")
    name = data["state"]
    if name not in STATES:
        raise ValueError(f"breaker state: state must be one of {', '.join(STATES)}, got {name!r}")
    recent = data["recent"]
    if not isinstance(recent, list) or not all(isinstance(v, bool) for v in recent):
        raise ValueError(f"breaker state: recent must be a list of booleans, got {recent!r}")
    probes = data["probes"]
    if not isinstance(probes, list):
        raise ValueError(f"breaker state: probes must be a list of numbers, got {probes!r}")
    opened = data["opened_at"]
    return BreakerState(
        state=name,
        consecutive_failures=_count(data["consecutive_failures"], "consecutive_failures"),
        recent=tuple(recent),
        opened_at=None if opened is None else _number(opened, "opened_at"),
        probes=tuple(_number(p, "probes[]") for p in probes),
        version=_count(data["version"], "version"),
    )
