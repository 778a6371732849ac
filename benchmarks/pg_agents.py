"""Agents the worker processes of ``benchmarks/pg.py`` load (``--agents benchmarks/pg_agents.py``):
``bench.noop`` returns at once, ``bench.score`` returns the realistic workload's small dict
with a float, ``bench.sleep`` sleeps ``SLEEP_SECONDS`` (the recovery run)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import ledgerflow

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads

SLEEP_SECONDS = 0.05


ledgerflow.agent("bench.noop")(workloads.noop)
ledgerflow.agent("bench.score")(workloads.score_agent)


@ledgerflow.agent("bench.sleep")
def sleep(ctx: Any, data: Any) -> Any:
    time.sleep(SLEEP_SECONDS)
    return None
