"""The two workloads of the benchmarks, as ledgerflow definitions and as plain Python.

``trivial``: a chain of 10 steps with no input, no condition and no output.
``realistic``: a chain of 10 steps, each with an input of three ``${...}`` parts, every other
step a ``when``, each writing a small dict with a float into the state (``output: sN``).

``benchmarks/run.py``, ``benchmarks/pg.py``, the floor loop (``floor.py``) and the DBOS
script (``dbos_workloads.py``, which must not import ledgerflow) all take their shapes from
here, so every engine runs the same work.
"""

from __future__ import annotations

from typing import Any

STEPS = 10
WORKLOADS = ("trivial", "realistic")
WHEN = 'input.entity_type in ["CORPORATE", "TRUST"] && size(input.products) > 0'
INPUT: dict[str, Any] = {
    "customer": {"name": "Acme Holdings Ltd", "country": "GB", "id": "c-1042"},
    "amount": 1250.5,
    "entity_type": "CORPORATE",
    "products": ["custody", "fx"],
    "reference": "onboarding-2026-0001",
}


def step_input(i: int) -> dict[str, str]:
    """The input template of realistic step ``i``: three ``${...}`` parts."""
    prev = f"${{state.s{i - 1}.score}}" if i else "${input.customer.id}"
    return {"name": "${input.customer.name}", "amount": "${input.amount}", "prev": prev}


def has_when(i: int) -> bool:
    return i % 2 == 1


def definition(workload: str, name: str | None = None, agent: str | None = None
               ) -> dict[str, Any]:
    """The ledgerflow definition of ``workload`` (a 10-step chain)."""
    realistic = workload == "realistic"
    capability = agent or ("bench.score" if realistic else "bench.noop")
    steps = []
    for i in range(STEPS):
        step: dict[str, Any] = {"id": f"s{i}", "agent": capability}
        if i:
            step["needs"] = [f"s{i - 1}"]
        if realistic:
            step["input"] = step_input(i)
            step["output"] = f"s{i}"
            if has_when(i):
                step["when"] = WHEN
        steps.append(step)
    return {"name": name or workload, "steps": steps}


def start_input(workload: str) -> Any:
    return INPUT if workload == "realistic" else None


def score(step: int) -> dict[str, Any]:
    """What the realistic agent returns for step ``step``."""
    return {"score": 0.75, "ok": True, "n": step}


def noop(ctx: Any, data: Any) -> Any:
    return None


def score_agent(ctx: Any, data: Any) -> Any:
    return score(int(ctx.step_id[1:]))


def register(app: Any) -> None:
    """Register both workloads' agents on a ledgerflow ``App``."""
    app.agent("bench.noop")(noop)
    app.agent("bench.score")(score_agent)


# plain Python equivalents (the floor loop and DBOS run these) --------------------------
def render(i: int, input: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Step ``i``'s input, looked up directly (what the template evaluates to)."""
    prev = state[f"s{i - 1}"]["score"] if i else input["customer"]["id"]
    return {"name": input["customer"]["name"], "amount": input["amount"], "prev": prev}


def condition(input: dict[str, Any]) -> bool:
    """``WHEN`` in Python."""
    return input["entity_type"] in ("CORPORATE", "TRUST") and len(input["products"]) > 0
