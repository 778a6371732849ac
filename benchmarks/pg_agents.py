"""Agents the worker processes of ``benchmarks/pg.py`` load (``--agents benchmarks/pg_agents.py``):
``bench.noop`` returns at once, ``bench.sleep`` sleeps ``SLEEP_SECONDS`` (the recovery run)."""

from __future__ import annotations

import time
from typing import Any

import ledgerflow

SLEEP_SECONDS = 0.05


@ledgerflow.agent("bench.noop")
def noop(ctx: Any, data: Any) -> Any:
    return None


@ledgerflow.agent("bench.sleep")
def sleep(ctx: Any, data: Any) -> Any:
    time.sleep(SLEEP_SECONDS)
    return None
