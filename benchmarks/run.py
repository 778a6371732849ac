"""ledgerflow benchmarks on embedded SQLite. One command, one table:

    .venv/bin/python benchmarks/run.py [--quick]

Every figure in the table is measured in this run, on this machine, so ratios between rows
are meaningful even when the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from ledgerflow import App, ExecutionUpdate  # noqa: E402

sys.path.insert(0, str(HERE))
import routing_telemetry  # noqa: E402

STEPS = 10


def chain(name: str, steps: int = STEPS) -> dict[str, Any]:
    return {"name": name, "steps": [
        {"id": f"s{i}", "agent": "bench.noop", **({"needs": [f"s{i - 1}"]} if i else {})}
        for i in range(steps)]}


def make_app(path: Path) -> App:
    app = App(f"sqlite:///{path}")

    @app.agent("bench.noop")
    def noop(ctx: Any, data: Any) -> Any:
        return None

    app.apply(chain("seq"))
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


# engine ------------------------------------------------------------------------------------
def sequential(path: Path, executions: int) -> dict[str, float]:
    """One execution at a time: start, wait for it to finish, start the next."""
    app = make_app(path)
    finished = threading.Event()

    def listener(update: ExecutionUpdate) -> None:
        if update.terminal:
            finished.set()

    worker = app.worker(concurrency=4, listener=listener)
    app._worker = worker  # start() hands new executions to the in-process worker
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    cpu0, t0 = time.process_time(), time.perf_counter()
    commits0 = app.store.commits
    for _ in range(executions):
        finished.clear()
        app.start("seq")
        if not finished.wait(30):
            raise RuntimeError("sequential benchmark: an execution did not finish")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    worker.stop()
    thread.join()
    commits = app.store.commits - commits0
    app.close()
    steps = executions * STEPS
    return {"steps_per_s": steps / elapsed, "cpu_ms_per_step": cpu * 1000 / steps,
            "commits_per_step": commits / steps}


def concurrent(path: Path, executions: int, in_flight: int) -> dict[str, float]:
    app = make_app(path)
    for _ in range(executions):
        app.start("seq")
    cpu0, t0 = time.process_time(), time.perf_counter()
    report = app.run_until_idle(concurrency=in_flight)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    done = sum(1 for r in app.list(status="completed", limit=executions))
    app.close()
    if done != executions:
        raise RuntimeError(f"concurrent benchmark: {done}/{executions} completed")
    steps = executions * STEPS
    return {"steps_per_s": steps / elapsed, "cpu_ms_per_step": cpu * 1000 / steps,
            "commits_per_step": report.commits / steps}


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
    cpu = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = parser.parse_args()
    seq_n, conc_n, rec_n = (50, 200, 50) if args.quick else (500, 2000, 200)
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="ledgerflow-bench-") as tmp:
        d = Path(tmp)

        def step(label: str, fn: Callable[[], Any]) -> Any:
            print(f"  running {label}…", file=sys.stderr, flush=True)
            return fn()

        single = step("raw single-row commits", lambda: raw_rate(d / "raw1.db", 1000, 1))
        batch = step("raw 100-row batches", lambda: raw_rate(d / "raw2.db", 100, 100))
        seq = step(f"sequential {seq_n}×{STEPS}", lambda: sequential(d / "seq.db", seq_n))
        conc = step(f"concurrent {conc_n}×{STEPS}",
                    lambda: concurrent(d / "conc.db", conc_n, 64))
        rec = step(f"recovery of {rec_n}", lambda: recovery(d / "rec.db", rec_n))
        api = step("Python API latency", lambda: python_api(d / "api.db", 20))
        flush = step("telemetry flush to SQLite",
                     lambda: telemetry_flush_rate(d / "tel.db", 10_000 if args.quick else 50_000))
    router_us = step("router decisions", lambda: routing_telemetry.router_decision_us(
        10, 20_000 if args.quick else 200_000))
    record_rate = step("telemetry record()", lambda: routing_telemetry.telemetry_record_rate(
        200_000 if args.quick else 2_000_000, flusher=False))
    record_live = step("telemetry record() with flusher", lambda: (
        routing_telemetry.telemetry_record_rate(200_000 if args.quick else 2_000_000)))

    rows = [
        ("raw single-row commit (SQLite, WAL, synchronous=FULL)", f"{single:,.0f} commits/s", ""),
        ("raw 100-row batch insert", f"{batch:,.0f} rows/s", ""),
        (f"sequential: {seq_n} executions × {STEPS} steps, one at a time",
         f"{seq['steps_per_s']:,.0f} steps/s",
         f"{seq['steps_per_s'] / single:.2f} × raw single (target ≥ 0.5)"),
        ("  durable commits per step (sequential, starts included)",
         f"{seq['commits_per_step']:.2f}", "1 per step + 1 per start"),
        ("  engine CPU per step (sequential)", f"{seq['cpu_ms_per_step']:.3f} ms", ""),
        (f"concurrent: {conc_n} executions × {STEPS} steps, 64 in flight",
         f"{conc['steps_per_s']:,.0f} steps/s", "target ≥ 5,000"),
        ("  commits per step (concurrent)", f"{conc['commits_per_step']:.3f}", "≪ 1"),
        ("  engine CPU per step (concurrent)", f"{conc['cpu_ms_per_step']:.3f} ms",
         "target ≤ 0.2 ms"),
        (f"recovery: {rec_n} executions interrupted by SIGKILL, restart → all completed",
         f"{rec['engine_s']:.3f} s", f"target ≤ 1 s ({rec['recovered']} recovered; "
         f"{rec['process_s']:.2f} s with interpreter start)"),
        (f"Python API: one {STEPS}-step chain, start + run_until_idle (median of 20)",
         f"{api['until_idle_ms']:.1f} ms", "no poll-interval tail (was ≈ 250 ms of it)"),
        ("  app.run (launches and stops a worker per call)", f"{api['run_ms']:.1f} ms", ""),
        ("  start + result, worker launched once", f"{api['launched_ms']:.1f} ms", ""),
        ("router decision, 10 candidates", f"{router_us:.1f} µs", "target ≤ 20 µs"),
        ("telemetry record(), one thread", f"{record_rate:,.0f} /s", "target ≥ 1,000,000"),
        ("  … with the background flusher running", f"{record_live:,.0f} /s",
         "both share the interpreter lock"),
        ("telemetry flush to SQLite, 100-row batches", f"{flush:,.0f} rows/s",
         f"{flush / batch:.2f} × raw 100-row batch (target ≥ 0.5)"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\nledgerflow benchmarks — {machine()}")
    print(f"{'measure':<{width}}  {'result':>18}  note")
    print("-" * (width + 40))
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:>18}  {note}")


if __name__ == "__main__":
    main()
