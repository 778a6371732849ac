"""An agent that counts its calls: every call appends one JSON line (its process, step,
attempt and whether it fails) to the file named by ``COUNT_FILE``, so a test compares the
stored statistics with what really ran. The first attempt of step ``a`` of every third
execution fails (its retry succeeds); durations vary by execution, 1 to 15 ms."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import ledgerflow

COUNT_FILE = os.environ.get("COUNT_FILE", "calls.jsonl")


def _append(record: dict[str, Any]) -> None:
    fd = os.open(COUNT_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(record) + "\n").encode())  # one write: lines never mix
    finally:
        os.close(fd)


@ledgerflow.agent("count.call", name="counter", failure_threshold=100_000)
def call(ctx: Any, data: Any) -> Any:
    number = int(ctx.execution_id.rsplit("-", 1)[1])
    fails = ctx.step_id == "a" and ctx.attempt == 1 and number % 3 == 0
    _append({"pid": os.getpid(), "e": ctx.execution_id, "s": ctx.step_id, "a": ctx.attempt,
             "ok": not fails})
    time.sleep((number * 7 % 15 + 1) / 1000)
    if fails:
        raise ConnectionError("the first attempt of every third execution fails")
    return {"step": ctx.step_id}
