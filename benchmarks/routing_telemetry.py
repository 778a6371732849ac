"""Routing and telemetry micro-benchmarks:

    .venv/bin/python benchmarks/routing_telemetry.py

``router_decision_us`` and ``telemetry_record_rate`` are also called by the main benchmark.
Figures are medians over chunks of the run, so a noisy shared machine skews them less.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from ledgerflow.routing import (  # noqa: E402
    CLOSED,
    BreakerPolicy,
    BreakerState,
    Candidate,
    allow,
    on_failure,
    rebuild,
    route,
)
from ledgerflow.telemetry import Record, TelemetryBuffer  # noqa: E402

NOW = 1_700_000_000.0
CHUNKS = 20


def _breaker(kind: str, policy: BreakerPolicy) -> BreakerState:
    if kind == "closed":
        return CLOSED
    state = CLOSED
    while state.state == "closed":
        state, _ = on_failure(state, policy, NOW - 10)  # opened 10 s ago: still cooling
    if kind == "half_open":
        _, state, _ = allow(state, policy, NOW - 10 + policy.cooldown)  # probe in flight
    return state


def make_candidates(n: int, unhealthy: int = 0) -> list[Candidate]:
    """``n`` agents with a few hundred outcomes each; the last ``unhealthy`` have their
    breaker open or half-open with a probe in flight (so they are excluded)."""
    policy = BreakerPolicy()
    out = []
    for i in range(n):
        outcomes = [(j % (5 + i) != 0, 20.0 + i * 3 + j % 11, "2025-01-01T00:00:00Z")
                    for j in range(300)]
        kind = "closed" if i < n - unhealthy else ("open" if i % 2 else "half_open")
        out.append(Candidate(name=f"agent-{i:02d}", priority=i % 3, weight=1.0,
                             breaker=_breaker(kind, policy), policy=policy,
                             stats=rebuild(outcomes), load=i % 4))
    return out


def _route_timings(candidates: int, decisions: int, unhealthy: int) -> list[float]:
    pool = make_candidates(candidates, unhealthy)
    per_chunk = max(1, decisions // CHUNKS)
    timings = []
    for _ in range(CHUNKS):
        started = time.perf_counter()
        for _ in range(per_chunk):
            route("kyc.verify", pool, NOW)
        timings.append((time.perf_counter() - started) / per_chunk * 1e6)
    return timings


def router_decision_us(candidates: int = 10, decisions: int = 200_000,
                       unhealthy: int = 0) -> float:
    """Microseconds per ``route`` call with ``candidates`` candidates (median of chunks);
    ``unhealthy`` of them have a breaker that excludes them."""
    return statistics.median(_route_timings(candidates, decisions, unhealthy))


def telemetry_record_rate(n: int = 2_000_000, flusher: bool = True,
                          fields: dict[str, Any] | None = None) -> float:
    """``TelemetryBuffer.record`` calls per second on one thread, with a sink that does
    nothing (median of chunks). Records carry ``fields``: one shared dict, or none (a record
    holding a dict stays tracked by the cyclic garbage collector, which costs extra). With
    ``flusher`` the background flusher runs meanwhile and shares the GIL with the producer;
    without, the buffer is flushed between chunks, outside the timing, so only ``record``
    itself is measured."""
    written = 0

    def sink(records: list[Record]) -> None:
        nonlocal written
        written += len(records)

    buf = TelemetryBuffer(capacity=n, sink=sink, batch=500, flush_interval=0.2)
    if flusher:
        buf.start()
    record = buf.record
    per_chunk = max(1, n // CHUNKS)
    rates = []
    for _ in range(CHUNKS):
        started = time.perf_counter()
        for _ in range(per_chunk):
            record("telemetry", "ex-1", "step-1", "heartbeat", fields, "2025-01-01T00:00:00Z")
        rates.append(per_chunk / (time.perf_counter() - started))
        if not flusher:
            buf.flush()
    buf.close()
    stats = buf.stats()
    if stats.dropped or stats.written != written or stats.produced != written:
        raise RuntimeError(f"telemetry accounting is off: {stats}")
    return statistics.median(rates)


def main() -> None:
    for unhealthy, label in ((0, "all closed"), (3, "3 excluded by their breakers")):
        timings = _route_timings(10, 200_000, unhealthy)
        print(f"router: {statistics.median(timings):.1f} us per decision (best chunk "
              f"{min(timings):.1f} us), 10 candidates, {label}")
    for fields in (None, {"attempt": 1}):
        what = "with fields" if fields else "no fields"
        print(f"telemetry: {telemetry_record_rate(fields=fields):,.0f} records/s on one "
              f"thread, flusher running, no-op sink, {what}")
        print(f"telemetry: {telemetry_record_rate(flusher=False, fields=fields):,.0f} "
              f"records/s on one thread, record() alone (flusher idle), {what}")


if __name__ == "__main__":
    main()
