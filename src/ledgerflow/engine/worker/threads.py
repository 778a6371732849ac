"""The daemon threads a worker runs synchronous handlers on, kept for the next attempt.

Starting a thread per attempt cost more than many handlers do; here a thread that finishes
an attempt waits for the next one, and a new thread starts only when none is idle. A
handler that never returns keeps its thread (it is reported stuck by the dispatcher) and
the next attempts get other threads, so a hung handler never holds up the rest. Threads are
daemons: one still running a handler never keeps the process from exiting. ``close`` ends
the idle threads and waits for them; busy ones end when their handler returns.

A handler may find ``threading.local`` values left by an earlier attempt on the same thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("ledgerflow.worker")

_Job = tuple[Callable[..., Any], tuple[Any, ...]] | None  # None: end the thread


class HandlerThreads:
    """Reusable daemon threads for one worker's handlers."""

    def __init__(self, name: str = "ledgerflow-handler") -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)  # one token per thread waiting for a job
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._busy: set[threading.Thread] = set()
        self._closed = False

    def submit(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function(*args)`` on an idle thread, or on a new one if none is idle."""
        if self._closed:
            raise RuntimeError("the worker's handler threads are closed")
        self._jobs.put((function, args))
        if self._idle.acquire(blocking=False):
            return  # an idle thread takes it
        thread = threading.Thread(target=self._serve, daemon=True,
                                  name=f"{self._name}-{len(self._threads) + 1}")
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _serve(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                with self._lock:
                    self._busy.add(me)
                try:
                    job[0](*job[1])
                except BaseException:  # the runner reports its own errors; this is a bug
                    log.exception("a handler thread's job raised")
                finally:
                    job = None
                    with self._lock:
                        self._busy.discard(me)
                    self._idle.release()
        finally:
            with self._lock:
                self._threads.discard(me)

    @property
    def size(self) -> int:
        """Threads alive (idle or busy)."""
        with self._lock:
            return len(self._threads)

    def close(self, timeout: float = 5.0) -> None:
        """End every thread once it is idle; wait (up to ``timeout`` each) for those idle
        now. Threads still running a handler are left to end when it returns."""
        self._closed = True
        with self._lock:
            threads = list(self._threads)
            idle = [thread for thread in threads if thread not in self._busy]
        for _ in threads:
            self._jobs.put(None)
        for thread in idle:
            thread.join(timeout)
