"""A worker process for crash tests: dies by SIGKILL at a named point, on purpose.

usage: python crashing_worker.py DB_URL AGENTS_MODULE_PATH [POINT AFTER]

POINT is one of ledgerflow.testing.KILL_POINTS (the store kills the process on its
AFTER-th commit) or "none". Agents may kill the process themselves (see crash_agents.py).
With CRASH_CLOCK_AHEAD (seconds) its clock runs that far ahead of the real one: a worker
started "later" (after a TTL, a sleep or a deadline) without waiting for it.
"""

from __future__ import annotations

import sys

from ledgerflow import App
from ledgerflow.engine.agents.registry import load_modules
from ledgerflow.storage import open_store
from ledgerflow.testing import FaultyStore
from tests.support import clock_from_env


def main() -> None:
    db_url, agents = sys.argv[1], sys.argv[2]
    point = sys.argv[3] if len(sys.argv) > 3 else "none"
    after = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    load_modules([agents])
    store = open_store(db_url)
    app = App(store if point == "none" else FaultyStore(store, point, after),
              clock=clock_from_env())  # CRASH_CLOCK_AHEAD: started "later"
    report = app.run_until_idle(concurrency=int(sys.argv[5]) if len(sys.argv) > 5 else 8)
    print(f"idle steps={report.steps_run} recovered={report.recovered}", flush=True)


if __name__ == "__main__":
    main()
