"""Agents for workers that offer different capabilities: SPLIT_SIDE=left registers only
``left.work``, SPLIT_SIDE=right only ``right.work``. Each records which process ran it."""

from __future__ import annotations

import os
from typing import Any

import ledgerflow

SIDE = os.environ.get("SPLIT_SIDE", "left")


def _work(ctx: Any, data: Any) -> Any:
    return {"side": SIDE, "pid": os.getpid()}


ledgerflow.agent(f"{SIDE}.work", name=f"{SIDE}-agent")(_work)
