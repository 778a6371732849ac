"""The ``ledgerflow`` command, run "later": ``python ledgerflow_later.py SECONDS ARGS...``
runs ``ledgerflow ARGS`` with the wall clock SECONDS ahead, so a TTL, a sleep or an attempt
deadline has passed without the test waiting for it. Durations are unchanged.

``ledgerflow.clock.SystemClock`` is the only place ledgerflow reads the wall clock (a test
holds that), so moving it moves everything the command does.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

from ledgerflow.cli.main import main
from ledgerflow.clock import SystemClock


def run_later() -> None:
    ahead = timedelta(seconds=float(sys.argv.pop(1)))
    real_now = SystemClock.now

    def later(self: SystemClock) -> datetime:
        return real_now(self) + ahead

    SystemClock.now = later  # type: ignore[method-assign]
    main()


if __name__ == "__main__":
    run_later()
