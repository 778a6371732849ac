"""One measurement of ``benchmarks/run.py`` in a process of its own, so that its CPU time and
peak RSS are its own. Prints one JSON object::

    python benchmarks/measure.py engine|floor sequential|concurrent trivial|realistic DB N IN_FLIGHT

``engine sequential``: one execution at a time through ``app.run`` (a worker launched once).
``engine concurrent``: N executions started, then ``run_until_idle`` with IN_FLIGHT at once.
``floor concurrent``: the same facts written by ``floor.py``'s loop.
The engine's database is checked with ``App.verify_all`` afterwards (``verified``).
``write_ms_per_step``: the wall time inside write transactions (BEGIN to COMMIT) per step.
"""

from __future__ import annotations

import json
import resource
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import workloads  # noqa: E402
from workloads import STEPS  # noqa: E402


def footprint(path: Path) -> tuple[int, int]:
    """Rows and bytes (the summed lengths of every column) in all tables of ``path``."""
    rows = size = 0
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            lengths = " + ".join(f'coalesce(length(CAST("{c}" AS BLOB)), 0)' for c in columns)
            n, b = conn.execute(f'SELECT count(*), coalesce(sum({lengths}), 0) FROM "{table}"'
                                ).fetchone()
            rows, size = rows + n, size + b
    conn.close()
    return rows, size


def verify(url: str) -> int:
    """Verify every execution's chain; the number verified (raises on a broken one)."""
    from ledgerflow import App

    with App(url) as app:
        results = list(app.verify_all())
    bad = [r for r in results if not r.ok]
    if bad:
        raise RuntimeError(f"verify failed for {len(bad)} execution(s): {bad[0]}")
    return len(results)


class Timed:
    """Wall seconds spent inside the store's write transactions (``commit``: BEGIN, the
    statements, COMMIT), on whichever thread made them."""

    def __init__(self, store: Any) -> None:
        self.seconds = 0.0
        self._commit = store.commit
        store.commit = self  # the worker writes through this instance attribute

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._commit(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0


def engine(mode: str, workload: str, path: Path, n: int, in_flight: int) -> dict[str, Any]:
    from ledgerflow import App

    url = f"sqlite:///{path}"
    app = App(url)
    writes = Timed(app.store)
    workloads.register(app)
    app.apply(workloads.definition(workload))
    data = workloads.start_input(workload)
    expected = workloads.score(STEPS - 1) if workload == "realistic" else None
    before = footprint(path)
    starts = 0.0
    if mode == "sequential":
        app.launch(concurrency=4)
        cpu0, t0 = time.process_time(), time.perf_counter()
        writes.seconds = 0.0
        for _ in range(n):
            if app.run(workload, data) != expected:
                raise RuntimeError("sequential benchmark: unexpected result")
        commits = getattr(app.store, "commits", 0)  # the SQLite store counts them
    else:
        t0 = time.perf_counter()
        for _ in range(n):
            app.start(workload, data)
        starts = n / (time.perf_counter() - t0)
        cpu0, t0 = time.process_time(), time.perf_counter()
        writes.seconds = 0.0
        commits = app.run_until_idle(concurrency=in_flight).commits
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    app.close()
    after = footprint(path)
    with App(url) as check:
        done = len(check.list(status="completed", limit=n))
    if done != n:
        raise RuntimeError(f"{mode} {workload}: {done}/{n} executions completed")
    return {**figures(n * STEPS, elapsed, cpu, before, after), "starts_per_s": starts,
            "commits_per_step": commits / (n * STEPS),
            "write_ms_per_step": writes.seconds * 1000 / (n * STEPS), "verified": verify(url)}


def figures(steps: int, elapsed: float, cpu: float, before: tuple[int, int],
            after: tuple[int, int]) -> dict[str, float]:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"steps_per_s": steps / elapsed, "cpu_ms_per_step": cpu * 1000 / steps,
            "rows_per_step": (after[0] - before[0]) / steps,
            "bytes_per_step": (after[1] - before[1]) / steps, "peak_rss_mb": peak_kb / 1024}


def main() -> None:
    what, mode, workload, db, n, in_flight = sys.argv[1:7]
    path = Path(db)
    if what == "floor":
        import floor  # not at the top: the DBOS script imports this module in its own env

        elapsed, cpu, writing = floor.run(path, workload, int(n), int(in_flight))
        result = figures(int(n) * STEPS, elapsed, cpu, (0, 0), footprint(path))
        result["write_ms_per_step"] = writing * 1000 / (int(n) * STEPS)
    else:
        result = engine(mode, workload, path, int(n), int(in_flight))
    print(json.dumps(result))


if __name__ == "__main__":
    main()


def cpu_name() -> str:
    """The processor's model name as the kernel reports it (else what Python knows)."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"
