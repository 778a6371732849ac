"""Memory of one worker over many executions: RSS must stay flat as history grows.

    .venv/bin/python benchmarks/memory.py [--executions 100000] [--chunk 2000]

One ``App`` on embedded SQLite, one worker launched once (``app.launch``), the realistic
workload's agent on a two-step chain with input templates, a condition and outputs. Executions
are started in chunks; after each chunk completes the process's resident set size is sampled.
The table shows RSS after the first chunk, at each tenth of the run and at the end, and the
growth per 10,000 executions over the second half (after the caches and the SQLite page cache
have settled): flat means that growth is within noise (a few hundred KB), not proportional to
the executions completed.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import workloads  # noqa: E402

from ledgerflow import App  # noqa: E402

STEPS = 2


def rss_mb() -> float:
    """The current resident set size (not the peak) of this process, in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def definition() -> dict[str, object]:
    """The realistic workload cut to two steps (one with a ``when``)."""
    full = workloads.definition("realistic", name="memory")
    steps = full["steps"]
    assert isinstance(steps, list)
    return {"name": "memory", "steps": steps[:STEPS]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=2_000)
    args = parser.parse_args()
    chunks = max(1, args.executions // args.chunk)
    total = chunks * args.chunk
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "memory.db"
        app = App(f"sqlite:///{path}")
        workloads.register(app)
        app.apply(definition())
        app.launch(concurrency=64)
        data = workloads.start_input("realistic")
        samples: list[tuple[int, float, float]] = []
        t0 = time.perf_counter()
        for chunk in range(1, chunks + 1):
            ids = [app.start("memory", data) for _ in range(args.chunk)]
            for eid in ids:
                app.result(eid, timeout=600)
            gc.collect()
            samples.append((chunk * args.chunk, rss_mb(), time.perf_counter() - t0))
            print(f"  {chunk * args.chunk:>8,} executions  RSS {samples[-1][1]:7.1f} MB",
                  file=sys.stderr, flush=True)
        app.close()
        size = path.stat().st_size / (1024 * 1024)
    report(samples, total, size)


def report(samples: list[tuple[int, float, float]], total: int, db_mb: float) -> None:
    print(f"\nledgerflow memory — {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}")
    print(f"{'executions completed':>22}  {'RSS MB':>8}  {'seconds':>8}")
    step = max(1, len(samples) // 10)
    shown = [samples[0], *samples[step - 1::step]]
    if shown[-1] is not samples[-1]:
        shown.append(samples[-1])
    for done, rss, seconds in dict.fromkeys(shown):
        print(f"{done:>22,}  {rss:>8.1f}  {seconds:>8.1f}")
    half = samples[len(samples) // 2:]
    if len(half) >= 2:
        (n0, r0, _), (n1, r1, _) = half[0], half[-1]
        growth = (r1 - r0) / max(1, n1 - n0) * 10_000
        print(f"growth over the second half: {growth:+.2f} MB per 10,000 executions "
              f"({n0:,} → {n1:,}: {r0:.1f} → {r1:.1f} MB)")
    print(f"{total:,} executions × {STEPS} steps in one worker; database {db_mb:,.0f} MB at "
          "the end. RSS: resident set size of this process after each chunk completed.")


if __name__ == "__main__":
    main()
