"""Agents for the routing CLI tests: two agents offer pay.charge; the primary fails every
call while a file named ``broken`` exists in the working directory. Its breaker opens
after 2 failures and cools down for ``ROUTING_COOLDOWN`` (default 30s)."""

from __future__ import annotations

import os
from typing import Any

import ledgerflow


@ledgerflow.agent("pay.charge", name="primary", priority=10, weight=3, failure_threshold=2,
                  cooldown=os.environ.get("ROUTING_COOLDOWN", "30s"))
def primary(ctx: Any, data: Any) -> Any:
    ctx.log("charging", via="primary")
    if os.path.exists("broken"):
        raise ConnectionError("primary payment gateway is down")
    return {"via": "primary"}


@ledgerflow.agent("pay.charge", name="backup")
def backup(ctx: Any, data: Any) -> Any:
    ctx.log("charging", via="backup")
    ctx.heartbeat({"progress": 1.0})
    return {"via": "backup"}
