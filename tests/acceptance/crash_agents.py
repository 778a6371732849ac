"""Agents for crash tests. Every call is appended to a journal file (one JSON line per call,
fsynced) so tests can count how often each step's handler really ran.

``crash.work`` runs for ``CRASH_WORK_MS``, and for as long as the file ``CRASH_HOLD`` exists
(a test acts while a step runs, then removes it); a cancelled attempt stops at once."""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

import ledgerflow
from ledgerflow.testing import kill_self

JOURNAL = os.environ.get("CRASH_JOURNAL", "journal.jsonl")
KILL_IN_STEP = os.environ.get("CRASH_KILL_IN_STEP", "")  # "step_id" to die inside, once
KILL_RANDOM = float(os.environ.get("CRASH_KILL_RANDOM", "0"))  # probability per call
WORK_SECONDS = float(os.environ.get("CRASH_WORK_MS", "0")) / 1000  # simulated work per call
HOLD = os.environ.get("CRASH_HOLD", "")  # a file: while it exists, no crash.work step ends


def _journal(ctx: Any, event: str) -> None:
    line = json.dumps({"e": ctx.execution_id, "s": ctx.step_id, "a": ctx.attempt,
                       "k": ctx.idempotency_key, "ev": event})
    fd = os.open(JOURNAL, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _maybe_die(ctx: Any) -> None:
    marker = f"{JOURNAL}.killed-{ctx.step_id}"
    if ctx.step_id == KILL_IN_STEP and not os.path.exists(marker):
        open(marker, "w").close()
        kill_self()
    if KILL_RANDOM and random.random() < KILL_RANDOM:
        kill_self()


def _busy(deadline: float) -> bool:
    return time.monotonic() < deadline or bool(HOLD and os.path.exists(HOLD))


@ledgerflow.agent("crash.work")
def work(ctx: Any, data: Any) -> Any:
    _journal(ctx, "start")
    _maybe_die(ctx)
    deadline = time.monotonic() + WORK_SECONDS
    while _busy(deadline) and not ctx.cancelled:  # cooperative cancellation
        time.sleep(0.02 if HOLD else min(0.02, WORK_SECONDS))
    if ctx.cancelled:
        _journal(ctx, "cancelled")
    return {"step": ctx.step_id, "key": ctx.idempotency_key}


@ledgerflow.agent("crash.fail_until_file")
def fail_until_file(ctx: Any, data: Any) -> Any:
    """Fails until a file named ``fixed`` exists in the working directory."""
    _journal(ctx, "start")
    if not os.path.exists("fixed"):
        raise RuntimeError("the downstream system is broken (create ./fixed to mend it)")
    return {"step": ctx.step_id}
