"""The benchmark workloads through DBOS, for ``benchmarks/run.py --compare-dbos`` (SQLite)
and ``benchmarks/pg.py --compare-dbos`` (PostgreSQL).

Run by the interpreter of a separate environment that has ``dbos`` installed (it is not a
dependency of ledgerflow, and this script does not import ledgerflow)::

    PYTHON benchmarks/dbos_workloads.py sequential|concurrent trivial|realistic DB N IN_FLIGHT

DB: a SQLite file's path, or a PostgreSQL URL (``postgresql://...``; rows and bytes are
then not counted here).

Each execution is one DBOS workflow of 10 ``@DBOS.step`` calls. Realistic: each step gets
the same three looked-up values, every other step runs only if the same condition holds
(evaluated in Python), each returns the same small dict with a float and the workflow
keeps them in a state dict. Sequential: one workflow at a time, called directly.
Concurrent: IN_FLIGHT threads call the workflows, N in all (their creation is timed).
Prints one JSON object with the same figures as ``measure.py``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import workloads  # noqa: E402
from dbos import DBOS, DBOSConfig  # noqa: E402
from measure import figures, footprint  # noqa: E402
from workloads import STEPS, condition, has_when, render, score  # noqa: E402


@DBOS.step()
def noop_step(i: int) -> None:
    return None


@DBOS.step()
def score_step(i: int, data: dict[str, Any]) -> dict[str, Any]:
    return score(i)


@DBOS.workflow()
def trivial(input: Any) -> None:
    for i in range(STEPS):
        noop_step(i)


@DBOS.workflow()
def realistic(input: dict[str, Any]) -> Any:
    state: dict[str, Any] = {}
    for i in range(STEPS):
        if has_when(i) and not condition(input):
            continue
        state[f"s{i}"] = score_step(i, render(i, input, state))
    return state[f"s{STEPS - 1}"]


def main() -> None:
    mode, workload, db, n_text, in_flight_text = sys.argv[1:6]
    n, in_flight = int(n_text), int(in_flight_text)
    url = db if "://" in db else f"sqlite:///{Path(db)}"
    path = None if "://" in db else Path(db)
    logging.getLogger("dbos").setLevel(logging.WARNING)
    config: DBOSConfig = {"name": "lfbench", "system_database_url": url,
                          "run_admin_server": False}
    DBOS(config=config)
    DBOS.launch()
    flow = realistic if workload == "realistic" else trivial
    data = workloads.start_input(workload)
    expected = score(STEPS - 1) if workload == "realistic" else None
    before = footprint(path) if path else (0, 0)
    cpu0, t0 = time.process_time(), time.perf_counter()
    if mode == "sequential":
        results = [flow(data) for _ in range(n)]
    else:
        with ThreadPoolExecutor(in_flight) as pool:
            results = list(pool.map(lambda _: flow(data), range(n)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if any(r != expected for r in results):
        raise RuntimeError("DBOS benchmark: unexpected result")
    DBOS.destroy()
    print(json.dumps(figures(n * STEPS, elapsed, cpu, before,
                                   footprint(path) if path else (0, 0))))


if __name__ == "__main__":
    main()
