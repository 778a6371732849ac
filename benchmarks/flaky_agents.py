"""Agents of ``benchmarks/flaky_breakers.py``: ``bench.flaky`` fails the first attempt of
every execution and succeeds on the retry (a flaky API), after ``CALL_SECONDS``. With
``LEDGERFLOW_BENCH_BREAKERS=off`` its breaker never opens (the baseline)."""

from __future__ import annotations

import os
import time
from typing import Any

import ledgerflow

CALL_SECONDS = 0.01
OFF = {"failure_threshold": 1_000_000} if os.environ.get("LEDGERFLOW_BENCH_BREAKERS") == "off" \
    else {}


@ledgerflow.agent("bench.flaky", **OFF)
def flaky(ctx: Any, data: Any) -> Any:
    time.sleep(CALL_SECONDS)
    if ctx.attempt == 1:
        raise ConnectionError("the first attempt of each execution fails")
    return None
