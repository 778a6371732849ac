"""ledgerflow benchmarks on embedded SQLite. One command, one table:

    .venv/bin/python benchmarks/run.py [--quick] [--compare-dbos PYTHON]

Every figure in the table is measured in this run, on this machine, so ratios between rows
are meaningful even when the machine is shared and noisy. Two workloads (``workloads.py``):
``trivial`` (10 steps, no input, condition or output) and ``realistic`` (10 steps with input
templates, conditions and outputs written to the state), each run sequentially (one execution
at a time through ``app.run``) and concurrently, next to the floor (``floor.py``: a plain
loop writing the same facts) and, with ``--compare-dbos``, DBOS on SQLite run by the given
interpreter (an environment with ``dbos`` installed). Every engine database is verified.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import matrix  # noqa: E402
import routing_telemetry  # noqa: E402
import workloads  # noqa: E402
from measure import cpu_name, verify  # noqa: E402
from workloads import STEPS  # noqa: E402

from ledgerflow import App  # noqa: E402


def make_app(path: Path) -> App:
    app = App(f"sqlite:///{path}")
    workloads.register(app)
    app.apply(workloads.definition("trivial", name="seq"))
    return app


# raw SQLite rates, same settings as the store --------------------------------------------
def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT)")
    return conn


def raw_rate(path: Path, commits: int, rows_per_commit: int) -> float:
    """Rows per second, inserting ``rows_per_commit`` rows in each of ``commits`` commits."""
    conn = raw_connection(path)
    payload = "x" * 200
    start = time.perf_counter()
    for c in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO t (a, b) VALUES (?, ?)",
                         [(f"{c}-{i}", payload) for i in range(rows_per_commit)])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return commits * rows_per_commit / elapsed


def python_api(path: Path, runs: int) -> dict[str, float]:
    """Milliseconds (median of ``runs``) from starting one 10-step chain from Python to
    having its result: with ``start`` + ``run_until_idle``, with ``run`` (which launches
    and stops a worker each call), and with ``start`` + ``result`` on a launched worker."""
    app = make_app(path)

    def until_idle() -> None:
        eid = app.start("seq")
        app.run_until_idle()
        if app.execution(eid).status != "completed":
            raise RuntimeError("python API benchmark: an execution did not complete")

    def median_ms(call: Callable[[], object]) -> float:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000

    idle = median_ms(until_idle)
    run = median_ms(lambda: app.run("seq"))
    app.launch()
    launched = median_ms(lambda: app.result(app.start("seq")))
    app.close()
    return {"until_idle_ms": idle, "run_ms": run, "launched_ms": launched}


RECOVERY_WORKER = """
import sys, time
sys.path.insert(0, {src!r})
t_import = time.perf_counter()
from ledgerflow import App
from ledgerflow.testing import FaultyStore
app = App({url!r})
@app.agent("bench.noop")
def noop(ctx, data):
    return None
if {kill_after} > 0:
    app.store = FaultyStore(app.store, "after_commit", {kill_after})
t0 = time.perf_counter()
report = app.run_until_idle(concurrency=64)
print(f"{{time.perf_counter() - t0:.6f}} {{report.recovered}}", flush=True)
"""


def recovery(path: Path, executions: int) -> dict[str, float]:
    app = make_app(path)
    for _ in range(executions):
        app.start("seq")
    app.close()
    url = f"sqlite:///{path}"
    src = str(HERE.parent / "src")
    kill = subprocess.run([sys.executable, "-c", RECOVERY_WORKER.format(
        src=src, url=url, kill_after=6)], capture_output=True, text=True)
    if kill.returncode != -9:
        raise RuntimeError(f"recovery benchmark: worker was not killed: {kill.stderr}")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RECOVERY_WORKER.format(
        src=src, url=url, kill_after=0)], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    engine_seconds, recovered = done.stdout.split()
    with App(url) as check:
        completed = len(check.list(status="completed", limit=executions))
    if completed != executions:
        raise RuntimeError(f"recovery benchmark: {completed}/{executions} completed")
    return {"engine_s": float(engine_seconds), "process_s": wall, "recovered": int(recovered)}


def telemetry_flush_rate(path: Path, rows: int, batch: int = 100) -> float:
    """Telemetry rows/s written to SQLite through the store, ``batch`` rows a transaction
    (the buffer's flusher path), comparable with the raw 100-row batch insert."""
    from ledgerflow.storage.rows import TelemetryRow
    from ledgerflow.storage.sqlite import SqliteStore

    store = SqliteStore(f"sqlite:///{path}", migrate=True)
    record = TelemetryRow(kind="interaction", execution_id="e-1", step_id="s", message="log",
                          fields='{"n":1}', occurred_at="2026-11-29T00:00:00.000000Z")
    chunk = [record] * batch
    t0 = time.perf_counter()
    for _ in range(rows // batch):
        store.write_telemetry(chunk)
    elapsed = time.perf_counter() - t0
    store.close()
    return rows / elapsed


def machine() -> str:
    return (f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--compare-dbos", metavar="PYTHON",
                        help="the interpreter of an environment with dbos installed: run the "
                        "same workloads through DBOS on SQLite and print the ratios")
    args = parser.parse_args()
    sizes = matrix.Sizes(20, 150) if args.quick else matrix.Sizes(200, 2000)
    load = os.getloadavg()[0]
    rec_n = 50 if args.quick else 200

    def step(label: str, fn: Callable[[], Any]) -> Any:
        print(f"  running {label}…", file=sys.stderr, flush=True)
        return fn()

    with tempfile.TemporaryDirectory(prefix="ledgerflow-bench-") as tmp:
        d = Path(tmp)
        single = step("raw single-row commits", lambda: raw_rate(d / "raw1.db", 1000, 1))
        batch = step("raw 100-row batches", lambda: raw_rate(d / "raw2.db", 100, 100))
        samples = itertools.count()
        table, verified = matrix.workload_rows(d, sizes, lambda: raw_rate(
            d / f"raw-{next(samples)}.db", 300, 1), args.compare_dbos, step)
        rec = step(f"recovery of {rec_n}", lambda: recovery(d / "rec.db", rec_n))
        api = step("Python API latency", lambda: python_api(d / "api.db", 20))
        verified += sum(verify(f"sqlite:///{d / db}") for db in ("rec.db", "api.db"))
        flush = step("telemetry flush to SQLite",
                     lambda: telemetry_flush_rate(d / "tel.db", 10_000 if args.quick else 50_000))
    router_us = step("router decisions", lambda: routing_telemetry.router_decision_us(
        10, 20_000 if args.quick else 200_000))
    record_rate = step("telemetry record()", lambda: routing_telemetry.telemetry_record_rate(
        200_000 if args.quick else 2_000_000, flusher=False))
    record_live = step("telemetry record() with flusher", lambda: (
        routing_telemetry.telemetry_record_rate(200_000 if args.quick else 2_000_000)))

    rows: list[tuple[str, ...]] = [
        ("raw single-row commit (SQLite, WAL, synchronous=FULL)", f"{single:,.0f} commits/s"),
        ("raw 100-row batch insert", f"{batch:,.0f} rows/s"),
        *table,
        (f"recovery: {rec_n} executions interrupted by SIGKILL, restart → all completed",
         f"{rec['engine_s']:.3f} s", "", "", "", "", f"target ≤ 1 s ({rec['recovered']} "
         f"recovered; {rec['process_s']:.2f} s with interpreter start)"),
        (f"Python API: one {STEPS}-step chain, start + run_until_idle (median of 20)",
         f"{api['until_idle_ms']:.1f} ms"),
        ("  app.run (launches and stops a worker per call)", f"{api['run_ms']:.1f} ms"),
        ("  start + result, worker launched once", f"{api['launched_ms']:.1f} ms"),
        ("router decision, 10 candidates", f"{router_us:.1f} µs", "", "", "", "",
         "target ≤ 20 µs"),
        ("telemetry record(), one thread", f"{record_rate:,.0f} /s", "", "", "", "",
         "target ≥ 1,000,000"),
        ("  … with the background flusher running", f"{record_live:,.0f} /s", "", "", "", "",
         "both share the interpreter lock"),
        ("telemetry flush to SQLite, 100-row batches", f"{flush:,.0f} rows/s", "", "", "", "",
         f"{flush / batch:.2f} × raw 100-row batch (target ≥ 0.5)"),
    ]
    print_table(rows, f"{machine()}, load {load:.2f} at start")
    print(f"verify: passed, every chain intact ({verified:,} executions in the engine "
          "databases of this run, App.verify_all after each benchmark)")


def print_table(rows: list[tuple[str, ...]], machine: str) -> None:
    header = ("measure", "result", "CPU/step", "rows/step", "bytes/step", "peak RSS", "note")
    rows = [header, *rows]
    widths = [max(len(r[i]) if len(r) > i else 0 for r in rows) for i in range(6)]
    print(f"\nledgerflow benchmarks — {machine}")
    for n, r in enumerate(rows):
        cells = [*r, *[""] * (7 - len(r))]
        print("  ".join([cells[0].ljust(widths[0]),
                         *(c.rjust(w) for c, w in zip(cells[1:6], widths[1:], strict=True)),
                         cells[6]]).rstrip())
        if n == 0:
            print("-" * (sum(widths) + 60))
    print("CPU/step: process CPU time / steps. rows/step, bytes/step: rows added to the database "
          "and the summed\nlengths of their columns, divided by the steps (starts included). "
          "Peak RSS: of the measuring process.\nConcurrent: from the executions committed "
          "(not timed) to all completed. In write transactions: the wall time from BEGIN to "
          "COMMIT,\nsummed over the run and divided by the steps (the engine's every commit, "
          "starts included).")


if __name__ == "__main__":
    main()
