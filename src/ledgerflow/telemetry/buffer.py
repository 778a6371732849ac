"""A bounded, non-blocking telemetry buffer.

``record`` never blocks and never waits on the sink: it appends a tuple to a deque (atomic
under the GIL) and counts with ``itertools.count`` (also atomic), so producers take no lock.
A daemon thread (``start``) hands batches to the sink; ``close`` stops it and flushes what is
left on the calling thread.

Accounting is exact at any quiescent point (no ``record``, ``flush`` or flusher batch
running): ``produced == written + dropped + pending``, where ``dropped`` counts records
refused because the buffer was full or closed, and records in batches the sink raised on;
``pending`` counts records queued or in the batch being written. Nothing is lost silently.
``capacity`` is checked without a lock, so producers on several threads may overshoot it by
at most one record each.
"""

from __future__ import annotations

import itertools
import operator
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from types import TracebackType
from typing import Any, Literal, NamedTuple

Kind = Literal["interaction", "telemetry", "error", "decision", "transition"]
KINDS: frozenset[str] = frozenset({"interaction", "telemetry", "error", "decision", "transition"})


class Record(NamedTuple):
    """One telemetry record, as the sink receives it.

    Immutable and slotted (``__slots__ = ()``, no per-instance dict). A NamedTuple rather than
    a frozen dataclass because it is built at C speed: the flusher shares the GIL with the
    producers, and a frozen dataclass costs several times more per record.
    """

    kind: str
    execution_id: str | None
    step_id: str | None
    message: str
    fields: dict[str, Any]
    occurred_at: str


@dataclass(frozen=True, slots=True)
class BufferStats:
    """The buffer's counters. ``dropped`` = ``dropped_full`` + ``dropped_closed`` +
    ``dropped_sink`` (records in batches the sink raised on, ``sink_errors`` of them)."""

    capacity: int
    produced: int
    written: int
    dropped: int
    pending: int
    sink_errors: int
    dropped_full: int
    dropped_closed: int
    dropped_sink: int
    last_error: str | None


Sink = Callable[[list[Record]], None]
_Item = tuple[str, str | None, str | None, str, dict[str, Any] | None, str]
_new_record = partial(tuple.__new__, Record)
_call = operator.call
_fields_of = operator.itemgetter(4)


def _value(counter: itertools.count[int]) -> int:
    """The next value of an ``itertools.count`` without advancing it (its repr is
    ``count(N)``)."""
    return int(repr(counter)[6:-1])


class TelemetryBuffer:
    """Collects records from any thread and writes them to ``sink`` in batches.

    ``capacity``: records queued at most (the batch being written is held besides).
    ``batch``: records per sink call. ``flush_interval``: longest wait, in seconds, before
    a partial batch is written.
    """

    def __init__(self, capacity: int, sink: Sink, batch: int = 500,
                 flush_interval: float = 0.2) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        if not flush_interval > 0:
            raise ValueError(f"flush_interval must be > 0 seconds, got {flush_interval}")
        self.capacity = capacity
        self.batch = batch
        self.flush_interval = flush_interval
        self._sink = sink
        self._queue: deque[_Item] = deque()
        self._limit = capacity  # becomes 0 when closed: every later record is refused
        self._closed = False
        # lock-free counters (next() on itertools.count is atomic)
        self._produced = itertools.count()
        self._full = itertools.count()
        self._after_close = itertools.count()
        self._tick = self._produced.__next__
        # written by whoever holds _flush_lock
        self._flush_lock = threading.Lock()
        self._inflight = 0
        self._written = 0
        self._dropped_sink = 0
        self._sink_errors = 0
        self._last_error: str | None = None
        # the flusher thread
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()

    # producers ----------------------------------------------------------------------------
    def record(self, kind: Kind, execution_id: str | None, step_id: str | None, message: str,
               fields: dict[str, Any] | None, occurred_at: str) -> bool:
        """Queue a record; never blocks. False if it was dropped (buffer full or closed).
        ``fields`` is kept as given (not copied): do not change it afterwards."""
        if kind not in KINDS:
            raise ValueError(f"unknown telemetry kind {kind!r}; use one of {sorted(KINDS)}")
        self._tick()
        queue = self._queue
        if len(queue) >= self._limit:
            next(self._after_close if self._closed else self._full)
            return False
        queue.append((kind, execution_id, step_id, message, fields, occurred_at))
        if len(queue) == self.batch:
            self._wake.set()
        return True

    # the consumer side ----------------------------------------------------------------------
    def _write(self, count: int) -> int:
        """Hand the oldest ``count`` queued records to the sink (caller holds _flush_lock).
        Returns how many were written."""
        self._inflight = count
        items = list(map(_call, repeat(self._queue.popleft, count)))  # popleft, count times
        if None in map(_fields_of, items):  # records without fields get a dict of their own
            items = [item if item[4] is not None else (*item[:4], {}, item[5]) for item in items]
        records: list[Record] = list(map(_new_record, items))
        written = 0
        try:
            self._sink(records)
            written = count
        except BaseException as exc:
            self._sink_errors += 1
            self._dropped_sink += count
            self._last_error = f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, Exception):
                raise
        finally:
            self._written += written
            self._inflight = 0
        return written

    def flush(self) -> int:
        """Write everything queued now, on the calling thread. Returns the records written."""
        written = 0
        remaining = len(self._queue)
        while remaining > 0:
            with self._flush_lock:
                count = min(self.batch, remaining, len(self._queue))
                if count <= 0:
                    break
                written += self._write(count)
            remaining -= count
        return written

    def _run(self) -> None:
        while not self._stopping:
            if len(self._queue) < self.batch:
                self._wake.wait(self.flush_interval)
            self._wake.clear()
            self.flush()

    def start(self) -> None:
        """Start the background flusher (a daemon thread). Calling it again does nothing."""
        with self._lifecycle:
            if self._closed:
                raise RuntimeError("telemetry buffer is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="ledgerflow-telemetry", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Refuse new records, stop the flusher and write what is left. After it returns,
        ``pending`` is 0 unless a ``record`` call was racing with it."""
        with self._lifecycle:
            self._closed = True
            self._limit = 0
            self._stopping = True
            self._wake.set()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        self.flush()

    def __enter__(self) -> TelemetryBuffer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # counters -----------------------------------------------------------------------------
    def stats(self) -> BufferStats:
        """The counters (exact when nothing is being recorded or flushed)."""
        full = _value(self._full)
        closed = _value(self._after_close)
        sink = self._dropped_sink
        return BufferStats(
            capacity=self.capacity,
            produced=_value(self._produced),
            written=self._written,
            dropped=full + closed + sink,
            pending=len(self._queue) + self._inflight,
            sink_errors=self._sink_errors,
            dropped_full=full,
            dropped_closed=closed,
            dropped_sink=sink,
            last_error=self._last_error,
        )
