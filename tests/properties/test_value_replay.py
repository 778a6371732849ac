"""A reloaded execution does what a straight one does (issue 17: values keep their exact type
and order across persistence).

Generated values (integral, large, small and negative-zero floats, integers near ±2^53,
nested maps in generated key order with unicode keys, tuples, lists, ``None``, booleans) are
returned by an agent and read by later steps through templates, ``when`` conditions,
``.map(k, k)``, arithmetic and a Python agent (``value_flow.FLOW``). Each batch of values runs
straight through in one live worker, and again with a reload between every pair of agent
steps: a wait for a signal sent to a new worker, a pause resumed by a new worker, a worker
killed (SIGKILL) inside every agent step and restarted, a hand-over between two PostgreSQL
workers. Every run must show the same statuses, step inputs and outputs, state versions and
ledger payload hashes as the straight one, and the straight one what the test computed.

Sizes: CI runs a few derandomized examples; LEDGERFLOW_FAULT_SIZE=large runs many more.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from ledgerflow import App
from tests.properties import value_agents
from tests.properties.value_flow import (
    FLOW,
    derive_input,
    record,
    signal_waiting,
    start,
    values,
)
from tests.support import LATER, Background, process_env, run_worker, until_idle, wait_for

LARGE = os.environ.get("LEDGERFLOW_FAULT_SIZE", "small") == "large"
AGENTS = Path(value_agents.__file__)
STAGES = 10  # a run stops at most once per wait step, and once per agent step when killed
numbers = itertools.count(1)  # execution ids stay unique across examples on one database


def sized(small: int, large: int, *, shrink: bool = True) -> Callable[[Any], Any]:
    """Hypothesis settings: deterministic, no deadline, ``small`` examples (``large``
    under LEDGERFLOW_FAULT_SIZE=large); one database serves every example of a test.
    Without ``shrink``, a failure shows the example as generated (shrinking one that runs
    worker processes would take minutes)."""
    phases = tuple(Phase) if shrink else (Phase.explicit, Phase.generate)
    return settings(max_examples=large if LARGE else small, deadline=None, derandomize=True,
                    database=None, phases=phases,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


batches = st.lists(values(), min_size=1, max_size=3)
# the issue's example: integral and negative-zero floats, a tuple, keys out of order
ISSUE = {"m": {"zeta": 1, "alpha": 2.0, "neg": -0.0, "pair": (1, 2.5)}, "f": 2.0, "i": 2**53 - 1,
         "l": (1, 2.5), "b": True, "n": None, "any": 1e16}
# for the tests that start worker processes: several values at once, the issue's among them
threes = st.lists(values(), min_size=2, max_size=2).map(lambda xs: [ISSUE, *xs])


@contextmanager
def opened(url: str) -> Iterator[App]:
    """A new App on ``url`` with the value agents: a reload of everything it reads."""
    with App(url) as app:
        value_agents.register(app.agent)
        app.apply(FLOW)
        yield app


def started(url: str, xs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """Executions of ``xs`` (pending, no worker yet), by id."""
    with opened(url) as app:
        return {start(app, x, f"{kind}-{next(numbers)}"): x for x in xs}


def straight(url: str, xs: list[dict[str, Any]]) -> list[str]:
    """Run ``xs`` in one live worker, each signal sent when its wait step waits; check that
    every step saw what the test computed."""
    runs = started(url, xs, "straight")
    sent: set[tuple[str, str]] = set()
    with opened(url) as app, Background(app):
        wait_for(lambda: signal_waiting(app, list(runs), runs, sent),
                 what="the straight runs finishing")
    with opened(url) as app:
        for eid, x in runs.items():
            report = app.status(eid)
            assert report.status == "completed", (report.error, report.steps)
            derived = app.state(eid).state["d"]
            assert derived["repr"] == repr(derive_input(x))
            assert [s.status for s in report.steps] == ["completed"] * len(FLOW["steps"])
    return list(runs)


def agree(url: str, reference: list[str], runs: list[str], kind: str) -> None:
    with opened(url) as app:
        for n, (ref, eid) in enumerate(zip(reference, runs, strict=True)):
            assert record(app, eid) == record(app, ref), \
                f"value #{n}: the run {kind} differs from the straight run"
            assert app.verify(eid).ok, app.verify(eid)


def reloaded(url: str, xs: list[dict[str, Any]], *, pause: bool) -> list[str]:
    """Run ``xs`` with a new App and worker after every wait step: the execution stops
    waiting (and is paused, with ``pause``), its signal is sent, a new worker goes on."""
    runs = started(url, xs, "paused" if pause else "waited")
    sent: set[tuple[str, str]] = set()
    for _ in range(STAGES):
        with opened(url) as app:
            for eid in runs:
                if pause and app.status(eid).status == "paused":
                    app.resume(eid)
            until_idle(app)
            if pause:
                for eid in runs:
                    if app.status(eid).status == "waiting":
                        app.pause(eid)
            if signal_waiting(app, list(runs), runs, sent):
                return list(runs)
    raise AssertionError(f"the runs did not finish in {STAGES} stages")


@pytest.mark.parametrize("pause", [False, True], ids=["wait-signal", "pause-resume"])
@sized(small=2, large=60)
@given(xs=batches)
@example(xs=[ISSUE])
def test_a_run_reloaded_at_every_wait_agrees_with_a_straight_run(
        backend_url: str, pause: bool, xs: list[dict[str, Any]]) -> None:
    reference = straight(backend_url, xs)
    agree(backend_url, reference, reloaded(backend_url, xs, pause=pause),
          "paused and resumed" if pause else "reloaded at every wait")


@sized(small=1, large=20, shrink=False)
@given(xs=threes)
def test_a_worker_killed_inside_every_step_agrees_with_a_straight_run(
        backend_url: str, tmp_path_factory: pytest.TempPathFactory,
        xs: list[dict[str, Any]]) -> None:
    reference = straight(backend_url, xs)
    runs = started(backend_url, xs, "killed")
    kills = tmp_path_factory.mktemp("kills")
    sent: set[tuple[str, str]] = set()
    outcomes = []
    for stage in range(1, STAGES + 1):
        # each worker starts an hour after the last: the killed one's leases have lapsed
        worker = run_worker(backend_url, kills / "journal.jsonl", agents=AGENTS,
                            CRASH_CLOCK_AHEAD=str(LATER * stage), VALUE_AGENTS_SIDES="left,right",
                            VALUE_AGENTS_KILL=str(kills), LEDGERFLOW_RECOVERY_LIMIT="20")
        assert worker.returncode in (0, -9), worker.stderr
        outcomes.append(worker.returncode)
        with opened(backend_url) as app:
            if signal_waiting(app, list(runs), runs, sent):
                break
    agree(backend_url, reference, list(runs), "with a worker killed inside every step")
    assert outcomes.count(-9) == 4, outcomes  # once inside each agent step


@sized(small=1, large=20, shrink=False)
@given(xs=threes)
def test_a_run_handed_over_between_two_postgres_workers_agrees_with_a_straight_run(
        pg_url: str, tmp_path_factory: pytest.TempPathFactory,
        xs: list[dict[str, Any]]) -> None:
    reference = straight(pg_url, xs)
    runs = started(pg_url, xs, "handed")
    logs = tmp_path_factory.mktemp("workers")
    procs = []
    for side in ("left", "right"):  # every agent step needs the other worker than the last
        with open(logs / f"{side}.log", "wb") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "ledgerflow", "--db", pg_url, "worker", "--agents",
                 str(AGENTS), "-q", "--lease", "2", "--log-level", "info"],
                env=process_env(VALUE_AGENTS_SIDES=side), stdout=log,
                stderr=subprocess.STDOUT))
    sent: set[tuple[str, str]] = set()
    try:
        with opened(pg_url) as app:
            wait_for(lambda: signal_waiting(app, list(runs), runs, sent),
                     what="the handed-over runs finishing")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=60)
    with opened(pg_url) as app:
        handed = [e for eid in runs for e in app.history(eid)
                  if e.event_type == "step.waiting_for_agent"]
    assert handed, "no step waited for the other worker: nothing was handed over"
    agree(pg_url, reference, list(runs), "handed over between two workers")
