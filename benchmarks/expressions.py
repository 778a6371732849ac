"""What one expression costs mid-run: the full conversion of the context against the
shortcuts (plain paths looked up directly, only the named values converted).

Context of a realistic size: an input of ten keys, a state holding ten step outputs, and a
steps map of ten. Prints, per expression, microseconds per evaluation with the whole
context converted (before) and as the engine now runs it (after); best of five rounds.

    python benchmarks/expressions.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ledgerflow.definition import cel
from ledgerflow.definition.expressions import compile_template

ROUNDS, CALLS = 5, 2000


def context() -> dict[str, Any]:
    outputs = {f"s{i}": {"score": 0.5 + i, "ok": i % 2 == 0, "note": f"step {i}",
                         "items": [i, i + 1, i + 2]} for i in range(10)}
    return {
        "input": {"entity_type": "TRUST", "products": ["loan", "card"], "name": "ACME Ltd",
                  "a": {"b": "value"}, "country": "GB", "amount": 1250.75, "risk": 3,
                  "owners": [{"name": "A", "share": 0.6}, {"name": "B", "share": 0.4}],
                  "flags": {"pep": False, "sanctions": False}, "ref": "X-1"},
        "state": outputs,
        "steps": {name: {"output": output, "status": "completed", "attempt": 1}
                  for name, output in outputs.items()},
    }


EXPRESSIONS = [
    'input.entity_type in ["CORPORATE", "TRUST"] && size(input.products) > 0',
    "state.s3.score > 2.0 && steps.s4.output.ok",
    "input.a.b",
    "steps.s7.output.items",
    "state.s2",
]


def per_call(function: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            function()
        best = min(best, time.perf_counter() - started)
    return best / CALLS * 1e6


def timings(program: cel.Program, source: str, data: dict[str, Any]) -> tuple[float, float]:
    """Microseconds per call converting the whole context, and as the engine runs it."""
    return (per_call(lambda: cel.run(program, source, data, full=True)),
            per_call(lambda: cel.run(program, source, data)))


def main() -> None:
    data = context()
    rows = []
    for source in EXPRESSIONS:
        _, program = cel.parse(source)
        rows.append((source, *timings(program, source, data)))
    template = compile_template("${input.a.b}")
    _, program = cel.parse("input.a.b")
    before = per_call(lambda: cel.run(program, "input.a.b", data, full=True))
    rows.append(("template ${input.a.b}", before, per_call(lambda: template.evaluate(data))))
    width = max(len(row[0]) for row in rows)
    print(f"{'expression':<{width}}  {'before µs':>10}  {'after µs':>9}  {'ratio':>6}")
    for source, before, after in rows:
        print(f"{source:<{width}}  {before:>10.2f}  {after:>9.2f}  {before / after:>5.1f}×")


if __name__ == "__main__":
    main()
