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


# examples/onboarding.yaml: a session with an approval wait and an instruction handler
@ledgerflow.agent("kyc.verify")
def kyc_verify(ctx: ledgerflow.StepContext, data: Any) -> Any:
    return {"entity": data.get("entity"), "verified": True}


@ledgerflow.agent("ubo.discover")
def ubo_discover(ctx: ledgerflow.StepContext, data: Any) -> Any:
    return {"owners": ["A. Owner (60%)", "B. Owner (40%)"]}


@ledgerflow.agent("onboarding.route_instruction")
def route_instruction(ctx: ledgerflow.StepContext, data: Any) -> Any:
    """Record an instruction; its output goes nowhere (no `output:`), the ledger keeps it."""
    return {"instruction": data.get("text", ""), "seen_by": ctx.step_id}
