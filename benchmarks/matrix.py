"""The workload rows of ``benchmarks/run.py``: both workloads × sequential / concurrent, the
floor, and DBOS when asked; each measurement a process of its own (``measure.py``,
``dbos_workloads.py``) printing its figures as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workloads import STEPS, WORKLOADS

HERE = Path(__file__).resolve().parent
IN_FLIGHT = 64
# label, result, CPU/step, rows/step, bytes/step, peak RSS, note
Row = tuple[str, str, str, str, str, str, str]
Figures = dict[str, float]


@dataclass(frozen=True)
class Sizes:
    sequential: int  # executions run one at a time
    concurrent: int  # executions run IN_FLIGHT at a time


def child(cmd: list[str]) -> Figures:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{Path(cmd[1]).name} {' '.join(cmd[2:5])} failed:\n"
                           f"{done.stderr[-3000:]}")
    figures: Figures = json.loads(done.stdout.splitlines()[-1])
    return figures


def row(label: str, f: Figures, note: str) -> Row:
    return (label, f"{f['steps_per_s']:,.0f} steps/s", f"{f['cpu_ms_per_step']:.3f} ms",
            f"{f['rows_per_step']:.1f}", f"{f['bytes_per_step']:,.0f}",
            f"{f['peak_rss_mb']:.0f} MB", note)


def writing(f: Figures) -> str:
    """The wall time per step spent inside write transactions (BEGIN to COMMIT)."""
    return f"{f['write_ms_per_step']:.3f} ms/step"


def versus(engine: Figures, other: Figures | None, what: str) -> str:
    return f"; {engine['steps_per_s'] / other['steps_per_s']:.2f} × {what}" if other else ""


TARGETS = {("trivial", "sequential"): "target ≥ 0.5 × raw single and ≥ 5 × DBOS",
           ("trivial", "concurrent"): "target ≥ 0.5 × floor, CPU ≤ 0.2 ms",
           ("realistic", "concurrent"): "target ≥ 10 × DBOS, CPU ≤ 0.4 ms"}


def workload_rows(d: Path, sizes: Sizes, raw_single: Callable[[], float],
                  dbos_python: str | None, step: Callable[[str, Callable[[], Any]], Any]
                  ) -> tuple[list[Row], int]:
    """The table rows, and how many executions were verified. ``raw_single`` measures the
    raw single-row commit rate, sampled before and after each sequential run (the disk of a
    shared machine changes speed)."""
    rows: list[Row] = []
    verified = 0
    for workload in WORKLOADS:
        for mode in ("sequential", "concurrent"):
            n = getattr(sizes, mode)

            def run(what: str, mode: str = mode, n: int = n, workload: str = workload
                    ) -> Figures:
                db = d / f"{what}-{workload}-{mode}.db"
                if what == "dbos":
                    assert dbos_python
                    cmd = [dbos_python, str(HERE / "dbos_workloads.py")]
                else:
                    cmd = [sys.executable, str(HERE / "measure.py"), what]
                # the sequential floor: one execution at a time, one commit per step
                width = 1 if mode == "sequential" and what == "floor" else IN_FLIGHT
                return child([*cmd, mode, workload, str(db), str(n), str(width)])

            how = "one at a time through app.run" if mode == "sequential" else \
                f"{IN_FLIGHT} in flight"
            single = raw_single() if mode == "sequential" else 0.0
            engine = step(f"{workload} {mode} {n}×{STEPS}", lambda: run("engine"))
            single = (single + raw_single()) / 2 if single else 0.0
            verified += int(engine["verified"])
            floor = step(f"floor {workload} {mode}", lambda: run("floor"))
            dbos = step(f"DBOS {workload} {mode}", lambda: run("dbos")) \
                if dbos_python else None
            note = f"{engine['steps_per_s'] / floor['steps_per_s']:.2f} × floor"
            if mode == "sequential":
                note = (f"{engine['steps_per_s'] / single:.2f} × raw single ({single:,.0f}/s "
                        f"around it); {note}")
            note += versus(engine, dbos, "DBOS")
            note += (f"; {engine['commits_per_step']:.3f} commits/step; "
                     f"{writing(engine)} in write transactions")
            if (workload, mode) in TARGETS:
                note += f" ({TARGETS[workload, mode]})"
            rows.append(row(f"{workload} {mode}: {n} executions × {STEPS} steps, {how}",
                            engine, note))
            rows.append(row("  floor: the same facts, one Python loop, " + (
                "one commit per step" if mode == "sequential" else "group commit"),
                floor, f"what the engine could approach; {writing(floor)} in write "
                "transactions"))
            if dbos:
                rows.append(row(f"  DBOS on SQLite, {workload} {mode}", dbos,
                                "workflow creation included in its time"))
    return rows, verified
