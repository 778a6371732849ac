"""Agents for the examples: ``ledgerflow worker --agents examples/agents.py``."""

from __future__ import annotations

from typing import Any

import ledgerflow


@ledgerflow.agent("demo.echo")
def echo(ctx: ledgerflow.StepContext, data: Any) -> Any:
    """Return the step's input, tagged with the step id."""
    return {"step": ctx.step_id, "input": data}


@ledgerflow.agent("demo.flaky")
def flaky(ctx: ledgerflow.StepContext, data: Any) -> Any:
    """Fail the first attempt (a flaky downstream system), succeed on the next."""
    if ctx.attempt == 1:
        raise ConnectionError("downstream system did not answer (first attempt always fails)")
    return {"value": data.get("value"), "attempt": ctx.attempt, "key": ctx.idempotency_key}
