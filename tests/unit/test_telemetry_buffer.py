"""The telemetry buffer: never blocks, bounded, and every record is accounted for."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerflow.telemetry import BufferStats, Record, TelemetryBuffer
from tests.support import SAFETY, wait_for

AT = "2025-01-01T00:00:00.000000Z"


class Collect:
    """A sink that keeps what it gets, optionally slow or failing."""

    def __init__(self, delay: float = 0.0, fail: Callable[[int], bool] | None = None) -> None:
        self.batches: list[list[Record]] = []
        self.calls = 0
        self.delay = delay
        self.fail = fail

    def __call__(self, records: list[Record]) -> None:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None and self.fail(self.calls):
            raise OSError(f"disk full on call {self.calls}")
        self.batches.append(records)

    @property
    def records(self) -> list[Record]:
        return [r for batch in self.batches for r in batch]


def balanced(s: BufferStats) -> bool:
    return s.produced == s.written + s.dropped + s.pending


def test_records_reach_the_sink_in_order_as_records() -> None:
    sink = Collect()
    buf = TelemetryBuffer(100, sink, batch=2)
    assert buf.record("decision", "ex-1", "kyc", "routed to kyc-main", {"score": 0.8}, AT)
    assert buf.record("error", None, None, "sink slow", None, AT)
    assert buf.record("telemetry", "ex-1", None, "third", {}, AT)
    assert buf.stats().pending == 3
    assert buf.flush() == 3
    assert [len(b) for b in sink.batches] == [2, 1]
    first, second, third = sink.records
    assert first == Record("decision", "ex-1", "kyc", "routed to kyc-main", {"score": 0.8}, AT)
    assert first.kind == "decision" and first.fields == {"score": 0.8}
    assert second.fields == {} and third.message == "third"
    with pytest.raises(AttributeError):
        first.kind = "error"  # type: ignore[misc]
    s = buf.stats()
    assert (s.produced, s.written, s.dropped, s.pending) == (3, 3, 0, 0)


def test_unknown_kind_is_refused_and_not_counted() -> None:
    buf = TelemetryBuffer(10, Collect())
    with pytest.raises(ValueError, match="unknown telemetry kind 'debug'"):
        buf.record("debug", None, None, "x", None, AT)  # type: ignore[arg-type]
    assert buf.stats().produced == 0


def test_a_full_buffer_drops_the_new_record_and_counts_it() -> None:
    sink = Collect()
    buf = TelemetryBuffer(3, sink)
    results = [buf.record("telemetry", None, None, str(i), None, AT) for i in range(5)]
    assert results == [True, True, True, False, False]
    s = buf.stats()
    assert (s.produced, s.pending, s.dropped, s.dropped_full) == (5, 3, 2, 2) and balanced(s)
    buf.close()
    assert [r.message for r in sink.records] == ["0", "1", "2"]  # the oldest are kept


def test_a_failing_sink_is_counted_and_the_flusher_carries_on() -> None:
    sink = Collect(fail=lambda call: call == 1)
    buf = TelemetryBuffer(100, sink, batch=4, flush_interval=0.01)
    buf.start()
    for i in range(4):
        buf.record("telemetry", None, None, f"a{i}", None, AT)
    wait_for(lambda: buf.stats().sink_errors == 1)
    for i in range(3):
        buf.record("telemetry", None, None, f"b{i}", None, AT)
    wait_for(lambda: buf.stats().written == 3)
    buf.close()
    s = buf.stats()
    assert (s.produced, s.written, s.dropped_sink, s.dropped, s.pending) == (7, 3, 4, 4, 0)
    assert s.last_error == "OSError: disk full on call 1"
    assert [r.message for r in sink.records] == ["b0", "b1", "b2"]


def test_background_flusher_writes_partial_batches_after_the_interval() -> None:
    sink = Collect()
    with TelemetryBuffer(100, sink, batch=50, flush_interval=0.02) as buf:
        buf.record("interaction", "ex", "s", "hello", None, AT)
        wait_for(lambda: buf.stats().written == 1)
    assert sink.records[0].message == "hello"


def test_close_flushes_everything_and_refuses_later_records() -> None:
    sink = Collect()
    buf = TelemetryBuffer(10_000, sink, batch=100, flush_interval=10.0)
    buf.start()
    for i in range(1234):
        buf.record("telemetry", None, None, str(i), None, AT)
    buf.close()
    s = buf.stats()
    assert s.pending == 0 and s.written == 1234 and s.dropped == 0
    assert [r.message for r in sink.records] == [str(i) for i in range(1234)]
    assert not buf.record("telemetry", None, None, "late", None, AT)
    s = buf.stats()
    assert s.dropped_closed == 1 and s.pending == 0 and balanced(s)
    buf.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        buf.start()


def test_exact_accounting_under_a_flood_from_several_threads_and_a_slow_sink() -> None:
    sink = Collect(delay=0.002, fail=lambda call: call % 7 == 0)
    buf = TelemetryBuffer(2_000, sink, batch=100, flush_interval=0.005)
    buf.start()
    threads_n, per_thread = 4, 20_000
    accepted = [0] * threads_n

    def produce(t: int) -> None:
        ok = 0
        for i in range(per_thread):
            if buf.record("telemetry", f"ex-{t}", None, f"{t}:{i}", None, AT):
                ok += 1
        accepted[t] = ok

    workers = [threading.Thread(target=produce, args=(t,)) for t in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    mid = buf.stats()
    assert mid.produced == threads_n * per_thread
    assert mid.pending <= buf.capacity + buf.batch + threads_n
    buf.close()
    s = buf.stats()
    assert s.produced == threads_n * per_thread == s.written + s.dropped
    assert s.pending == 0 and s.dropped_full > 0 and s.sink_errors > 0
    assert sum(accepted) == s.written + s.dropped_sink
    assert threads_n * per_thread - sum(accepted) == s.dropped_full + s.dropped_closed
    received = [r.message for r in sink.records]
    assert len(received) == s.written == len(set(received))
    for t in range(threads_n):  # each producer's records arrive in its order
        mine = [int(m.split(":")[1]) for m in received if m.startswith(f"{t}:")]
        assert mine == sorted(mine)


def test_record_does_not_wait_for_a_stuck_sink() -> None:
    entered, release, left = threading.Event(), threading.Event(), threading.Event()

    def stuck(records: list[Record]) -> None:
        entered.set()
        release.wait(2 * SAFETY)  # longer than the flood may take: stuck until released
        left.set()

    buf = TelemetryBuffer(1_000, stuck, batch=10, flush_interval=0.001)
    buf.start()
    for _ in range(10):
        buf.record("telemetry", None, None, "wake", None, AT)
    assert entered.wait(SAFETY), "the flusher never called the sink"
    results: list[bool] = []
    flood = threading.Thread(
        target=lambda: results.extend(
            buf.record("telemetry", None, None, "x", None, AT) for _ in range(200_000)))
    flood.start()
    flood.join(SAFETY)  # a safety net: blocked behind the sink, it would not end
    assert not flood.is_alive(), "record() blocked behind the sink"
    assert not release.is_set() and not left.is_set()  # all of it while the sink was stuck
    assert len(results) == 200_000
    s = buf.stats()
    assert s.dropped_full == results.count(False) > 0 and s.pending <= 1_000 + 10
    release.set()
    buf.close()
    s = buf.stats()
    assert balanced(s) and s.pending == 0 and s.produced == 200_010


operations = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.integers(1, 40)),
        st.tuples(st.just("flush"), st.just(0)),
        st.tuples(st.just("sink_fails"), st.booleans().map(int)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 50), st.integers(1, 16), operations)
def test_accounting_matches_a_model(capacity: int, batch: int,
                                    ops: list[tuple[str, int]]) -> None:
    failing = [False]
    sink = Collect(fail=lambda _call: failing[0])
    buf = TelemetryBuffer(capacity, sink, batch=batch)
    produced = written = dropped = queued = 0
    for op, arg in ops:
        if op == "record":
            for _ in range(arg):
                ok = buf.record("telemetry", None, None, "m", None, AT)
                produced += 1
                assert ok == (queued < capacity)
                if ok:
                    queued += 1
                else:
                    dropped += 1
        elif op == "flush":
            if failing[0]:
                dropped += queued
            else:
                written += queued
            queued = 0
            buf.flush()
        else:
            failing[0] = bool(arg)
        s = buf.stats()
        assert (s.produced, s.written, s.dropped, s.pending) == (
            produced, written, dropped, queued)
        assert balanced(s) and s.pending <= capacity
    buf.close()
    s = buf.stats()
    assert s.pending == 0 and balanced(s)
    assert s.written == len(sink.records)
