"""Processes for crash tests of operator control: each dies by SIGKILL at a named point of
its first commit, on purpose.

usage: python crashing_control.py DB_URL POINT ACTION ARGS...

POINT is one of ledgerflow.testing.KILL_POINTS or "none". ACTION is one of

* ``pause ID``, ``resume ID``, ``cancel ID``, ``signal ID NAME DATA_JSON``: one operator
  action through ``ledgerflow.App``, as the CLI runs it (one commit);
* ``serve AGENTS_MODULE_PATH``: a worker that keeps serving (not until idle), so that a
  change made by another process reaches it through a wake-up. It prints ``ready`` once its
  start-up recovery is done and stops when its standard input is closed.

With CRASH_CLOCK_AHEAD (seconds) its clock runs that far ahead of the real one.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from ledgerflow import App
from ledgerflow.engine.agents.registry import load_modules
from ledgerflow.storage import open_store
from ledgerflow.testing import FaultyStore
from tests.support import clock_from_env


def control(app: App, action: str, args: list[str]) -> None:
    execution_id = args[0]
    if action == "pause":
        app.pause(execution_id, reason="crash test")
    elif action == "resume":
        app.resume(execution_id, reason="crash test")
    elif action == "cancel":
        app.cancel(execution_id, reason="crash test")
    elif action == "signal":
        app.signal(execution_id, args[1], json.loads(args[2]))
    else:
        raise SystemExit(f"unknown action {action!r}")
    print(f"{action} {execution_id}: done", flush=True)


def serve(app: App, agents: str) -> None:
    load_modules([agents])
    worker = app.worker(concurrency=4)

    def stop_at_eof() -> None:
        sys.stdin.read()
        worker.stop()

    def announce() -> None:
        while not worker.ready:
            time.sleep(0.01)
        print("ready", flush=True)

    threading.Thread(target=stop_at_eof, daemon=True).start()
    threading.Thread(target=announce, daemon=True).start()
    report = worker.run()
    print(f"stopped steps={report.steps_run}", flush=True)


def main() -> None:
    db_url, point, action, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    store = open_store(db_url)
    app = App(store if point == "none" else FaultyStore(store, point, 1),
              clock=clock_from_env())  # CRASH_CLOCK_AHEAD: started "later"
    if action == "serve":
        serve(app, args[0])
    else:
        control(app, action, args)


if __name__ == "__main__":
    main()
