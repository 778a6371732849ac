"""One execution of a long chain on embedded SQLite: does a step cost the same at step 5,000
as at step 100? Prints one table:

    .venv/bin/python benchmarks/long_chain.py [--steps N]

One execution of an N-step chain (default 5,000), started through the public Python API,
then ``run_until_idle``; the same for a 100-step chain. Each step needs the one before,
takes the previous step's output in its input template (``${steps.s<i-1>.output.n}``),
returns ``{"n": i}``, and every other step has a ``when`` (true) as in the realistic workload
(``workloads.WHEN``), so conditions and templates, which see every step, are measured too.

Steps per second and CPU milliseconds per step for both, and their ratio: with per-step work
independent of the chain's length, CPU per step stays about the same (a ratio near 1); work
that grows with the chain shows as a ratio that grows with N. Every database is verified
(``App.verify_all``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import workloads  # noqa: E402
from measure import verify  # noqa: E402
from run import machine, print_table  # noqa: E402

from ledgerflow import App  # noqa: E402

SHORT = 100


def chain(steps: int) -> dict[str, Any]:
    """The definition of a ``steps``-step chain: s0 <- s1 <- ... each needing the previous."""
    return {"name": f"chain{steps}", "steps": [chain_step(i) for i in range(steps)]}


def chain_step(i: int) -> dict[str, Any]:
    if not i:
        return {"id": "s0", "agent": "bench.count"}
    step = {"id": f"s{i}", "agent": "bench.count", "needs": [f"s{i - 1}"],
            "input": {"prev": f"${{steps.s{i - 1}.output.n}}"}}
    return {**step, "when": workloads.WHEN} if workloads.has_when(i) else step


def count(ctx: Any, data: Any) -> Any:
    return {"n": int(ctx.step_id[1:])}


def one_chain(path: Path, steps: int) -> dict[str, float]:
    """Run one execution of a ``steps``-step chain; its rate, CPU per step and verify."""
    url = f"sqlite:///{path}"
    app = App(url)
    app.agent("bench.count")(count)
    app.apply(chain(steps))
    execution = app.start(f"chain{steps}", workloads.INPUT)
    cpu0, t0 = time.process_time(), time.perf_counter()
    app.run_until_idle()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    result = app.result(execution, timeout=0)
    app.close()
    if result != {"n": steps - 1}:
        raise RuntimeError(f"{steps}-step chain: unexpected result {result!r}")
    return {"steps_per_s": steps / elapsed, "cpu_ms_per_step": cpu * 1000 / steps,
            "elapsed_s": elapsed, "verified": verify(url)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=5_000, help="the long chain's length")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ledgerflow-chain-") as tmp:
        short = one_chain(Path(tmp) / "short.db", SHORT)
        long = one_chain(Path(tmp) / "long.db", args.steps)
    rows = [(f"one execution, {n:,}-step chain (start + run_until_idle)",
             f"{r['steps_per_s']:,.0f} steps/s", f"{r['cpu_ms_per_step']:.3f} ms", "", "", "",
             f"{r['elapsed_s']:.2f} s")
            for n, r in ((SHORT, short), (args.steps, long))]
    rows.append((f"  CPU/step at {args.steps:,} ÷ CPU/step at {SHORT}",
                 f"{long['cpu_ms_per_step'] / short['cpu_ms_per_step']:.2f}", "", "", "", "",
                 "≈ 1 when a step's cost does not grow with the chain"))
    print_table(rows, f"{machine()}, load {load:.2f} at start")
    print(f"verify: passed ({short['verified'] + long['verified']} executions)")


if __name__ == "__main__":
    main()
