"""A worker's handler threads: reused between attempts, never held up by a hung handler,
idle ones ended by ``close``."""

from __future__ import annotations

import threading

from ledgerflow.engine.worker.threads import HandlerThreads


def _run_and_wait(pool: HandlerThreads) -> str:
    done = threading.Event()
    seen: list[str] = []

    def job() -> None:
        seen.append(threading.current_thread().name)
        done.set()

    pool.submit(job)
    assert done.wait(10)
    return seen[0]


def _wait_idle(pool: HandlerThreads, count: int) -> None:
    # a thread is idle once it has given its token back; take and return them all
    for _ in range(count):
        assert pool._idle.acquire(timeout=10)
    for _ in range(count):
        pool._idle.release()


def test_a_finished_thread_runs_the_next_attempt() -> None:
    pool = HandlerThreads()
    try:
        first = _run_and_wait(pool)
        _wait_idle(pool, 1)
        assert _run_and_wait(pool) == first
        assert pool.size == 1
    finally:
        pool.close()


def test_a_hung_handler_keeps_its_thread_and_the_next_attempt_gets_another() -> None:
    pool = HandlerThreads()
    release, started = threading.Event(), threading.Event()

    def hang() -> None:
        started.set()
        release.wait(30)

    try:
        pool.submit(hang)
        assert started.wait(10)
        _run_and_wait(pool)  # runs although the first thread is busy
        assert pool.size == 2
    finally:
        release.set()
        pool.close()


def test_close_ends_idle_threads_and_leaves_busy_ones_to_finish() -> None:
    before = set(threading.enumerate())
    pool = HandlerThreads()
    release, started, finished = threading.Event(), threading.Event(), threading.Event()

    def hang() -> None:
        started.set()
        release.wait(30)
        finished.set()

    pool.submit(hang)
    assert started.wait(10)
    _run_and_wait(pool)
    _wait_idle(pool, 1)
    pool.close()
    left = set(threading.enumerate()) - before
    assert len(left) == 1 and all(thread.daemon for thread in left)  # only the busy one
    release.set()
    assert finished.wait(10)
    for thread in left:
        thread.join(10)
    assert set(threading.enumerate()) - before == set()


def test_a_job_that_raises_does_not_end_its_thread() -> None:
    pool = HandlerThreads()

    def fail() -> None:
        raise RuntimeError("a bug in a runner")

    try:
        pool.submit(fail)
        _wait_idle(pool, 1)
        assert pool.size == 1
        _run_and_wait(pool)
        assert pool.size == 1
    finally:
        pool.close()
