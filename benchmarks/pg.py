"""ledgerflow benchmarks on PostgreSQL with `ledgerflow worker` processes. One command, one table:

    .venv/bin/python benchmarks/pg.py [--quick] [--url postgresql://postgres@127.0.0.1:5432/postgres]

``--url`` is an administrator's connection: each benchmark runs in its own new database
``lfbench_<what>_<pid>`` on that server, dropped afterwards. Every figure is measured in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))

sys.path.insert(0, str(HERE))

import workloads  # noqa: E402
from measure import verify  # noqa: E402
from proc_cpu import backend_cpu, backend_cpus, cpu_seconds  # noqa: E402

from ledgerflow import App  # noqa: E402
from ledgerflow.engine.rules import starting  # noqa: E402

AGENTS = HERE / "pg_agents.py"  # bench.noop, bench.score, bench.sleep (50 ms)
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POLL = 0.05  # seconds between completion polls
CHAIN = 10  # steps of the chain workflow
WIDTH = 20  # parallel steps of the fan-out workflow (plus a root and a join)
RECOVERY_LEASE = 2.0
STEPS_DONE = "SELECT count(*) FROM step_runs WHERE status = 'completed'"
T = TypeVar("T")
Conn = psycopg.Connection[tuple[Any, ...]]


# databases -----------------------------------------------------------------------------
@contextmanager
def scratch_database(admin_url: str, what: str) -> Iterator[str]:
    """A fresh database for one benchmark, dropped afterwards whatever happens."""
    name = f"lfbench_{what}_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def one(conn: Conn, sql: str, params: Any = None) -> int:
    row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def raw_rates(url: str, singles: int, batches: int) -> tuple[float, float]:
    """Rows/s: one INSERT + COMMIT per row, then executemany of 100 rows + COMMIT."""
    payload = "x" * 200
    sql = "INSERT INTO t (a, b) VALUES (%s, %s)"
    with psycopg.connect(url) as conn:  # autocommit off: every INSERT opens a transaction
        conn.execute("CREATE TABLE IF NOT EXISTS t (id BIGINT GENERATED ALWAYS AS IDENTITY "
                     "PRIMARY KEY, a TEXT, b TEXT)")
        conn.commit()
        t0 = time.perf_counter()
        for i in range(singles):
            conn.execute(sql, (f"s-{i}", payload))
            conn.commit()
        single = singles / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for c in range(batches):
            conn.cursor().executemany(sql, [(f"b-{c}-{i}", payload) for i in range(100)])
            conn.commit()
        batch = batches * 100 / (time.perf_counter() - t0)
    return single, batch


# workflows and executions --------------------------------------------------------------
def chain(capability: str) -> dict[str, Any]:
    return workloads.definition("trivial", name="chain", agent=capability)


def fan() -> dict[str, Any]:
    wide = [f"p{i}" for i in range(WIDTH)]
    return {"name": "fan", "steps": [
        {"id": "root", "agent": "bench.noop"},
        *({"id": p, "agent": "bench.noop", "needs": ["root"]} for p in wide),
        {"id": "join", "agent": "bench.noop", "needs": wide}]}


def start_batch(app: App, workflow: str, count: int, input: Any = None) -> list[str]:
    """What ``App.start`` commits, ``count`` at a time in ONE transaction (its NOTIFY wakes)."""
    row = app.definitions.row(app.tenant, workflow)
    definition = app.definitions.get(app.tenant, row.name, row.version)
    changes = [starting.new_execution(
        tenant_id=app.tenant, execution_id=str(uuid.uuid4()), row=row, definition=definition,
        input=input if input is not None else {}, now=app.clock.now(), actor=app.actor)
        for _ in range(count)]
    if not all(app.store.commit(changes, together=True)):
        raise RuntimeError("could not insert the executions")
    return [c.execution.id for c in changes]


# worker processes ----------------------------------------------------------------------
class Workers:
    """``count`` ``ledgerflow worker`` processes, ready (registered and listening) once
    entered; always stopped on exit, also on Ctrl-C and errors: SIGTERM, SIGKILL after 10 s."""

    def __init__(self, url: str, count: int, concurrency: int, lease: float | None,
                 logs: Path) -> None:
        self.url, self.count, self.logs = url, count, logs
        self.cmd = [sys.executable, "-m", "ledgerflow", "--db", url, "worker", "--agents",
                    str(AGENTS), "-q", "--concurrency", str(concurrency),
                    *(["--lease", f"{lease:g}"] if lease is not None else [])]
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Workers:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])}
        try:
            for i in range(self.count):
                with open(self.logs / f"worker-{i}.log", "wb") as log:
                    self.procs.append(subprocess.Popen(
                        self.cmd, stdin=subprocess.DEVNULL, stdout=log,
                        stderr=subprocess.STDOUT, env=env, start_new_session=True))
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Registered as running and listening for NOTIFY: from now on they only wait."""
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                self.check_alive()
                registered = one(conn, "SELECT count(*) FROM workers WHERE status = 'running' "
                                 "AND pid = ANY(%s)", ([p.pid for p in self.procs],))
                listening = one(conn, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                "current_database() AND query LIKE 'LISTEN %%'")
                if registered == listening == self.count:
                    return
                time.sleep(POLL)
        raise RuntimeError(f"workers not ready within {timeout:g} s\n{self.tail()}")

    def check_alive(self, killed: int | None = None) -> None:
        for p in self.procs:
            if p.pid != killed and p.poll() is not None:
                raise RuntimeError(f"worker {p.pid} exited ({p.returncode})\n{self.tail()}")

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs if p.poll() is None)

    def tail(self, lines: int = 15) -> str:
        return "\n".join(
            f"--- {path.name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[
                -lines:]) for path in sorted(self.logs.glob("worker-*.log")))

    def stop(self) -> None:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:  # a second Ctrl-C waits until the workers are gone
            for p in self.procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for p in self.procs:
                try:
                    p.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def poll_until(workers: Workers, done: Callable[[], bool], *, timeout: float = 600.0,
               killed: int | None = None) -> float:
    """Call ``done`` every 50 ms until it says so; perf_counter at that moment."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not done after {timeout:g} s\n{workers.tail()}")
        workers.check_alive(killed)
        time.sleep(POLL)
    return time.perf_counter()


def completed(conn: Conn, ids: list[str], workers: Workers) -> bool:
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE "
        "status IN ('failed', 'cancelled', 'expired')) FROM executions WHERE id = ANY(%s)",
        (ids,)).fetchone()
    done, bad = (int(row[0]), int(row[1])) if row else (0, 0)
    if bad:
        raise RuntimeError(f"{bad} execution(s) did not complete\n{workers.tail()}")
    return done == len(ids)


# DBOS, for --compare-dbos ----------------------------------------------------------------
def dbos_run(url: str, logs: Path, *, python: str, executions: int, in_flight: int) -> Run:
    """The realistic workload through DBOS on PostgreSQL (``dbos_workloads.py``, run by
    ``python``), with the CPU of its process and of the database's backends."""
    dbname = urlsplit(url).path.lstrip("/")
    before = backend_cpus(dbname)  # backends end with the process: sampled while it runs
    seen: dict[int, float] = {}
    with subprocess.Popen([python, str(HERE / "dbos_workloads.py"), "concurrent", "realistic",
                           url, str(executions), str(in_flight)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, cwd=logs) as proc:
        while proc.poll() is None:
            seen.update(backend_cpus(dbname))
            time.sleep(POLL)
        out, err = proc.communicate()
    server = sum(cpu - before.get(pid, 0.0) for pid, cpu in seen.items())
    if proc.returncode != 0:
        raise RuntimeError(f"DBOS run failed:\n{err[-2000:]}")
    found = json.loads(out.strip().splitlines()[-1])
    steps = executions * CHAIN
    seconds = steps / found["steps_per_s"]
    return Run(steps=steps, seconds=seconds, worker_cpu=found["cpu_ms_per_step"] * steps / 1000,
               server_cpu=max(server, 0.0), raw=0.0, verified=0)


# the engine benchmarks -----------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    steps: int
    seconds: float
    worker_cpu: float  # CPU seconds of the worker processes during the run
    server_cpu: float  # CPU seconds of the database's PostgreSQL backends during the run
    raw: float  # raw single-row commits/s: mean of samples before and after (0: none)
    verified: int  # executions whose chain App.verify_all found intact afterwards

    def note(self) -> str:
        server = f"{self.server_cpu * 1000 / self.steps:.2f}" if self.server_cpu else "n/a"
        return (f"{self.seconds:.2f} s; CPU/step: workers "
                f"{self.worker_cpu * 1000 / self.steps:.2f} ms, server {server} ms")


def throughput(url: str, logs: Path, spec: dict[str, Any], executions: int, steps: int,
               processes: int, concurrency: int, raw_sample: int = 0,
               start_input: Any = None) -> Run:
    dbname = urlsplit(url).path.lstrip("/")
    with App(url, migrate=True) as app:
        raw = raw_rates(url, raw_sample, 0)[0] if raw_sample else 0.0  # table t, by the engine's
        app.apply(spec)
        with Workers(url, processes, concurrency, None, logs) as workers, \
                psycopg.connect(url, autocommit=True) as conn:
            ids = start_batch(app, spec["name"], executions, start_input)
            t0 = time.perf_counter()
            cpu0, server0 = workers.cpu(), backend_cpu(dbname)
            end = poll_until(workers, lambda: completed(conn, ids, workers))
            cpu, server = workers.cpu() - cpu0, backend_cpu(dbname) - server0
            ran = one(conn, STEPS_DONE)
        raw = (raw + raw_rates(url, raw_sample, 0)[0]) / 2 if raw_sample else 0.0
    if ran != executions * steps:
        raise RuntimeError(f"{ran} steps completed, expected {executions * steps}")
    return Run(steps=ran, seconds=end - t0, worker_cpu=cpu, server_cpu=max(server, 0.0),
               raw=raw, verified=verify(url))


@dataclass(frozen=True)
class Recovery:
    held: int  # unfinished executions the killed worker held, and their steps left
    steps_left: int
    takeover: float  # kill → another worker claimed the first of them
    seconds: float  # kill → every one of them completed elsewhere
    total: float  # insert → every execution completed
    killed_after: float  # insert → kill
    verified: int  # executions whose chain App.verify_all found intact afterwards


def recovery(url: str, logs: Path, executions: int, concurrency: int) -> Recovery:
    with App(url, migrate=True) as app:
        app.apply(chain("bench.sleep"))
        with Workers(url, 2, concurrency, RECOVERY_LEASE, logs) as workers, \
                psycopg.connect(url, autocommit=True) as conn:
            ids = start_batch(app, "chain", executions)
            t0 = time.perf_counter()
            while one(conn, STEPS_DONE) < executions * CHAIN // 4:  # a quarter of the steps
                workers.check_alive()
                time.sleep(0.01)
            held: dict[str, dict[str, int]] = {}  # owner -> {execution id: lease epoch}
            for owner, eid, epoch in conn.execute(
                    "SELECT lease_owner, id, lease_epoch FROM executions WHERE status IN "
                    "('pending', 'running', 'waiting', 'paused') AND lease_owner IS NOT NULL"):
                held.setdefault(owner, {})[eid] = epoch
            owner = max(held, key=lambda o: len(held[o]), default="")
            victim = next((p for p in workers.procs if owner.endswith(f":{p.pid}")), None)
            if victim is None:
                raise RuntimeError(f"no worker of ours holds an execution: {list(held)}")
            epochs = held[owner]
            mine = list(epochs)
            left = one(conn, "SELECT count(*) FROM step_runs WHERE execution_id = ANY(%s) "
                       "AND status <> 'completed'", (mine,))
            victim.kill()  # SIGKILL, right after reading what it held
            t_kill = time.perf_counter()

            def taken() -> bool:  # another worker claimed one (a claim bumps the epoch)
                rows = conn.execute("SELECT id, lease_epoch FROM executions WHERE id = ANY(%s)",
                                    (mine,)).fetchall()
                return any(epoch > epochs[eid] for eid, epoch in rows)

            took = poll_until(workers, taken, killed=victim.pid)
            recovered = poll_until(workers, lambda: completed(conn, mine, workers),
                                   killed=victim.pid)
            end = poll_until(workers, lambda: completed(conn, ids, workers), killed=victim.pid)
    return Recovery(held=len(mine), steps_left=left, takeover=took - t_kill,
                    seconds=recovered - t_kill, total=end - t0, killed_after=t_kill - t0,
                    verified=verify(url))


# the table -----------------------------------------------------------------------------
def machine(admin_url: str) -> str:
    cpu = platform.processor() or "unknown cpu"
    with suppress(OSError, StopIteration):
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        pg: dict[str, str] = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('server_version', 'synchronous_commit', 'fsync')").fetchall())
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"PostgreSQL {pg.get('server_version')} (synchronous_commit="
            f"{pg.get('synchronous_commit')}, fsync={pg.get('fsync')}), "
            f"{platform.system()} {platform.release()}, load {os.getloadavg()[0]:.2f} at start")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--url", default=DEFAULT_URL,
                        help=f"an administrator's database URL (default {DEFAULT_URL})")
    parser.add_argument("--compare-dbos", metavar="PYTHON",
                        help="the interpreter of an environment with dbos installed: run the "
                        "realistic workload through DBOS on PostgreSQL too and print the ratios")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # cleans up like Ctrl-C
    singles, batches = (300, 30) if args.quick else (2000, 200)
    seq_n, fan_n, rec_n, real_n = (60, 40, 60, 100) if args.quick else (200, 300, 100, 1000)
    seq_c, fan_c, rec_c = 8, 64, 64
    header = machine(args.url)

    def step(label: str, what: str, fn: Callable[[str, Path], T]) -> T:
        print(f"  running {label}…", file=sys.stderr, flush=True)
        with scratch_database(args.url, what) as url, \
                tempfile.TemporaryDirectory(prefix="lfbench-") as tmp:
            return fn(url, Path(tmp))

    single, batch = step("raw commits", "raw", lambda url, _: raw_rates(url, singles, batches))
    seq = {n: step(f"sequential, {n} worker(s)", f"seq{n}", partial(
        throughput, spec=chain("bench.noop"), executions=seq_n, steps=CHAIN, processes=n,
        concurrency=seq_c, raw_sample=singles // 4)) for n in (1, 2, 4)}
    wide = {n: step(f"concurrent, {n} worker(s)", f"fan{n}", partial(
        throughput, spec=fan(), executions=fan_n, steps=WIDTH + 2, processes=n,
        concurrency=fan_c)) for n in (1, 2, 4)}
    real = {n: step(f"realistic, {n} worker(s)", f"real{n}", partial(
        throughput, spec=workloads.definition("realistic", name="chain"), executions=real_n,
        steps=CHAIN, processes=n, concurrency=fan_c, start_input=workloads.INPUT))
        for n in (1, 2)}
    rec = step("recovery", "rec", lambda url, logs: recovery(url, logs, rec_n, rec_c))
    dbos = step("DBOS, realistic", "dbos", partial(
        dbos_run, python=args.compare_dbos, executions=real_n,
        in_flight=fan_c)) if args.compare_dbos else None

    rows = [("raw single-row commits (1 INSERT + COMMIT)", f"{single:,.0f} rows/s",
             f"psycopg 3, autocommit off, {singles} commits"),
            ("raw 100-row batches (executemany + COMMIT)", f"{batch:,.0f} rows/s",
             f"{batches} commits")]
    rows += [(f"sequential: {seq_n} × chain of {CHAIN} no-op steps, {n} worker(s) × {seq_c}",
              f"{r.steps / r.seconds:,.0f} steps/s", f"{r.steps / r.seconds / single:.2f} × "
              f"raw single, {r.steps / r.seconds / r.raw:.2f} × {r.raw:,.0f}/s measured around "
              f"this run (target ≥ 0.5); {r.note()}") for n, r in seq.items()]
    rows += [(f"concurrent: {fan_n} × 1→{WIDTH}→1 no-op steps, {n} worker(s) × {fan_c}",
              f"{r.steps / r.seconds:,.0f} steps/s", f"target ≥ 3,000; {r.note()}")
             for n, r in wide.items()]
    rows += [(f"realistic: {real_n} × chain of {CHAIN} steps with templates, conditions, "
              f"outputs, {n} worker(s) × {fan_c}", f"{r.steps / r.seconds:,.0f} steps/s",
              r.note() + (f"; {r.steps / r.seconds / dbos.steps * dbos.seconds:.2f} × DBOS "
                          "(target ≥ 8)" if dbos else "")) for n, r in real.items()]
    if dbos:
        rows.append((f"  DBOS on PostgreSQL: {real_n} realistic workflows of {CHAIN} steps, "
                     f"{fan_c} threads", f"{dbos.steps / dbos.seconds:,.0f} steps/s",
                     f"{dbos.note()} (its one process); workflow creation included"))
    rows += [(f"recovery: {rec_n} × chain of {CHAIN} 50 ms steps, 2 workers × {rec_c}, SIGKILL 1",
              f"{rec.seconds:.2f} s", f"--lease {RECOVERY_LEASE:g}; kill → the {rec.held} "
              f"executions it held ({rec.steps_left} steps left) completed elsewhere; first "
              f"taken over after {rec.takeover:.2f} s"),
             ("  recovery run, total", f"{rec.total:.2f} s",
              f"insert → all completed; the kill came {rec.killed_after:.2f} s in, once a "
              "quarter of the steps were done")]
    title = "measure (executions × workflow, workers × --concurrency)"
    width = max(len(title), *(len(r[0]) for r in rows))
    print(f"\nledgerflow PostgreSQL benchmarks — {header}")
    print(f"{title:<{width}}  {'result':>15}  note")
    print("-" * (width + 110))
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:>15}  {note}")
    print("Runs: from the commit of the executions (inserted at once, workers up and idle) until a "
          "50 ms poll\nsees all completed. CPU/step: the worker processes; the PostgreSQL "
          "backends of the benchmark database.")
    verified = rec.verified + sum(r.verified for r in (*seq.values(), *wide.values(),
                                                       *real.values()))
    print(f"verify: passed, every chain intact ({verified:,} executions, App.verify_all on "
          "each benchmark's database before it was dropped)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the workers are stopped and the databases dropped by now
        sys.exit("interrupted")
