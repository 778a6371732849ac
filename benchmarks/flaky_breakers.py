"""Breakers must not stall a flaky capability: 3 PostgreSQL worker processes run N executions
of one step whose only agent fails every first attempt and succeeds on the retry, once with
the default breaker policy and once with breakers off. The promise: with breakers on, all
complete within twice the time they take with breakers off. Every figure is measured here.

    .venv/bin/python benchmarks/flaky_breakers.py [--executions 600] \\
        --url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from pg import Workers, completed, poll_until, scratch_database, start_batch  # noqa: E402

from ledgerflow import App  # noqa: E402

AGENTS = HERE / "flaky_agents.py"
FLOW = {"name": "flaky", "steps": [
    {"id": "call", "agent": "bench.flaky", "retry": {"max_attempts": 3, "initial": "0.1s"}}]}


def one_run(admin_url: str, executions: int, workers: int, concurrency: int,
            breakers: str) -> float:
    """Seconds from inserting the executions until all completed."""
    os.environ["LEDGERFLOW_BENCH_BREAKERS"] = breakers
    with scratch_database(admin_url, f"flaky_{breakers}") as url, \
            tempfile.TemporaryDirectory() as logs:
        app = App(url, migrate=True)
        app.apply(FLOW)
        pool = Workers(url, workers, concurrency, None, Path(logs))
        pool.cmd[pool.cmd.index("--agents") + 1] = str(AGENTS)
        with pool, psycopg.connect(url, autocommit=True) as conn:
            began = time.perf_counter()
            ids = start_batch(app, "flaky", executions)
            ended = poll_until(pool, lambda: completed(conn, ids, pool))
        app.close()
    return ended - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="administrator's PostgreSQL URL")
    parser.add_argument("--executions", type=int, default=600)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    off = one_run(args.url, args.executions, args.workers, args.concurrency, "off")
    on = one_run(args.url, args.executions, args.workers, args.concurrency, "on")
    print(f"{args.executions} flaky executions, {args.workers} workers x {args.concurrency}: "
          f"breakers off {off:.2f} s, default breakers {on:.2f} s "
          f"(ratio {on / off:.2f}; the promise: at most 2.00)")
    if on > 2 * off:
        raise SystemExit("default breakers stalled the flaky capability")


if __name__ == "__main__":
    main()
