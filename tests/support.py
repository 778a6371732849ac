"""What the tests share: workflows, agents, workers and processes that several test modules
use, and waiting for a condition. The fixtures built on them are in ``tests/conftest.py``.

No result here depends on how fast the machine is. ``wait_for`` waits for a condition; its
timeout is a safety net that turns a hang into a failure, never a measure of speed. Tests of
timeouts, cool-downs, TTLs and backoffs move a ``FakeClock`` (``ledgerflow.testing``) in
this process, or start a process "later" (its clock ``LATER`` seconds ahead: ``lf(later=)``,
``CRASH_CLOCK_AHEAD`` for the crash scripts) instead of waiting for the real one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ledgerflow import App
from ledgerflow.clock import Clock, SystemClock
from ledgerflow.engine.worker.loop import Worker, WorkerReport

ROOT = Path(__file__).resolve().parent.parent
ACCEPTANCE = ROOT / "tests" / "acceptance"
LEDGERFLOW = Path(sys.executable).with_name("ledgerflow")  # the installed command
CRASH_AGENTS = ACCEPTANCE / "crash_agents.py"
CRASHING_WORKER = ACCEPTANCE / "crashing_worker.py"
LEDGERFLOW_LATER = ACCEPTANCE / "ledgerflow_later.py"
SAFETY = 60.0  # seconds: only a hang waits this long
LATER = 3600.0  # seconds: a TTL, sleep or deadline no test waits for; a process started
# "later" has its clock this far ahead of the real one
CLOCK_AHEAD = "CRASH_CLOCK_AHEAD"  # seconds a test script's clock runs ahead of the real one


# waiting ------------------------------------------------------------------------------------
def wait_for(check: Callable[[], object], *, what: str = "the condition",
             timeout: float = SAFETY, every: float = 0.02) -> None:
    """Return as soon as ``check()`` is true. Fails after ``timeout`` seconds: a safety net
    against a hang, far longer than any slow machine needs."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not reached within {timeout:g} s"
        time.sleep(every)


# workflows ----------------------------------------------------------------------------------
def diamond(capability: str, *, flaky: str | None = None) -> dict[str, Any]:
    """``a`` fans out to ``b`` and ``c`` (``c`` only when ``input.mode`` is "full"), which
    join at ``d``; every step asks for ``capability``, ``a``'s output is ``state.a``.

    With ``flaky``, ``b`` asks for that capability instead, with up to 3 attempts (10 ms
    apart), ``a`` gets ``input.n`` and ``d`` gets ``b``'s output and appends to ``state.log``.
    """
    a: dict[str, Any] = {"id": "a", "agent": capability, "output": "a"}
    b: dict[str, Any] = {"id": "b", "agent": capability, "needs": ["a"]}
    d: dict[str, Any] = {"id": "d", "agent": capability, "needs": ["b", "c"]}
    if flaky is not None:
        a["input"] = {"n": "${input.n}"}
        b.update(agent=flaky, retry={"max_attempts": 3, "initial": "10ms"})
        d.update(input={"b": "${steps.b.output}"}, output={"path": "log", "mode": "append"})
    return {"name": "diamond", "input_schema": {"type": "object", "required": ["mode"]},
            "steps": [a, b, {"id": "c", "agent": capability, "needs": ["a"],
                             "when": 'input.mode == "full"'}, d]}


# every step on the crash agents (``tests/acceptance/crash_agents.py``): a, three branches, c, d
CRASHFLOW: dict[str, Any] = {
    "name": "crashflow",
    "steps": [
        {"id": "a", "agent": "crash.work", "output": "a"},
        {"id": "b1", "agent": "crash.work", "needs": ["a"]},
        {"id": "b2", "agent": "crash.work", "needs": ["a"]},
        {"id": "b3", "agent": "crash.work", "needs": ["a"]},
        {"id": "c", "agent": "crash.work", "needs": ["b1", "b2", "b3"], "output": "c"},
        {"id": "d", "agent": "crash.work", "needs": ["c"]},
    ],
}


def seed(db_url: str, count: int, flow: dict[str, Any] = CRASHFLOW) -> None:
    """``count`` pending executions of ``flow`` (ids ``x-00000``...), no worker touched."""
    with App(db_url) as app:
        app.apply(flow)
        for i in range(count):
            app.start(flow["name"], {"i": i}, execution_id=f"x-{i:05d}")


# agents -------------------------------------------------------------------------------------
class Gate:
    """Holds ``t.gate`` handlers until opened (or their attempt is cancelled), so a test can
    act while a step runs."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.saw_cancel: list[bool] = []

    def hold(self, ctx: Any) -> None:
        self.entered.set()
        deadline = time.monotonic() + SAFETY
        while not (self.opened.wait(0.01) or ctx.cancelled):  # cancellation is a flag
            if time.monotonic() > deadline:
                raise TimeoutError("gate never opened")
        self.saw_cancel.append(ctx.cancelled)


class Agents:
    """The engine tests' agents, and what they saw: ``calls`` counts handler runs by step id.

    ``t.echo`` returns ``{"step": ..., "data": input}``; ``t.flaky`` fails its first attempt;
    ``t.fail`` always fails; ``t.gate`` waits for ``gate``; ``t.fail_once`` fails the first
    time it runs in this test and succeeds afterwards."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.gate = Gate()

    def register(self, app: App) -> None:
        calls, gate = self.calls, self.gate

        @app.agent("t.echo")
        def echo(ctx: Any, data: Any) -> Any:
            calls[ctx.step_id] += 1
            return {"step": ctx.step_id, "data": data}

        @app.agent("t.flaky")
        def flaky(ctx: Any, data: Any) -> Any:
            calls[ctx.step_id] += 1
            if ctx.attempt < 2:
                raise RuntimeError(f"flaky attempt {ctx.attempt}")
            return {"attempt": ctx.attempt, "key": ctx.idempotency_key}

        @app.agent("t.fail")
        def fail(ctx: Any, data: Any) -> Any:
            calls[ctx.step_id] += 1
            raise ValueError("always broken")

        @app.agent("t.gate")
        def gated(ctx: Any, data: Any) -> Any:
            calls[ctx.step_id] += 1
            gate.hold(ctx)
            return {"gated": True}

        @app.agent("t.fail_once")
        def fail_once(ctx: Any, data: Any) -> Any:
            calls[ctx.step_id] += 1
            if calls[ctx.step_id] == 1:
                raise RuntimeError("first run fails")
            return {"ok": True}


# workers ------------------------------------------------------------------------------------
class Background:
    """A worker of ``app`` running in a thread while the test acts (as ``app``'s in-process
    worker: executions started meanwhile are activated at once). ``stop`` lets its running
    handlers finish, then waits for it; ``report`` is its report once stopped."""

    def __init__(self, app: App, *, concurrency: int = 4, until_idle: bool = False) -> None:
        self.app = app
        self.worker: Worker = app.worker(concurrency=concurrency, until_idle=until_idle)
        self.report: WorkerReport | None = None
        self._thread = threading.Thread(target=self._run, name="test-worker", daemon=True)
        app._worker = self.worker
        self._thread.start()
        wait_for(lambda: self.worker.ready or not self._thread.is_alive(),
                 what="the worker's start-up")

    def _run(self) -> None:
        self.report = self.worker.run()

    def join(self) -> None:
        """Wait for a worker run ``until_idle`` to end by itself."""
        self._thread.join(SAFETY)
        if self._thread.is_alive():  # fail, and leave no worker running behind the test
            self.worker.stop()
            self._thread.join(SAFETY)
            raise AssertionError(f"the worker did not end within {SAFETY:g} s")
        self.app._worker = None

    def stop(self) -> None:
        self.worker.stop()
        self.join()

    def __enter__(self) -> Background:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.stop()
        else:  # the test failed: stop, without hiding its error behind a hang
            self.worker.stop()
            self._thread.join(SAFETY)


def until_idle(app: App, *, concurrency: int | None = None) -> WorkerReport:
    """``app.run_until_idle()``, failing after ``SAFETY`` seconds instead of hanging (on a
    ``FakeClock`` a timer that never comes due keeps a worker busy for ever)."""
    background = Background(app, concurrency=concurrency or 4, until_idle=True)
    background.join()
    assert background.report is not None
    return background.report


# processes ----------------------------------------------------------------------------------
class ClockAhead:
    """The real clock, ``seconds`` ahead: a process that starts "later" without waiting (a
    TTL, a sleep or an attempt deadline passed meanwhile). Durations are unchanged."""

    def __init__(self, seconds: float) -> None:
        self._ahead = timedelta(seconds=seconds)
        self._real = SystemClock()

    def now(self) -> datetime:
        return self._real.now() + self._ahead

    def monotonic(self) -> float:
        return self._real.monotonic()


def clock_from_env() -> Clock | None:
    """In a test script: the clock its parent asked for through ``CRASH_CLOCK_AHEAD``."""
    ahead = os.environ.get(CLOCK_AHEAD)
    return ClockAhead(float(ahead)) if ahead else None


def process_env(*, db: str | None = None, journal: Path | None = None,
                **extra: str) -> dict[str, str]:
    """The environment of a child process (the ``ledgerflow`` command or a test script):
    this tree's ledgerflow first, the tests importable, ``LEDGERFLOW_DB`` set to ``db`` (or
    unset), the crash agents' journal, and ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("LEDGERFLOW_DB", CLOCK_AHEAD)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    if db is not None:
        env["LEDGERFLOW_DB"] = db
    if journal is not None:
        env["CRASH_JOURNAL"] = str(journal)
    env.update(extra)
    return env


def cli_env(tmp: Path, **extra: str) -> dict[str, str]:
    """``process_env`` for the command line in ``tmp``: the database ``tmp/cli.db``, the
    journal ``tmp/journal.jsonl``."""
    return process_env(db=f"sqlite:///{tmp / 'cli.db'}", journal=tmp / "journal.jsonl",
                       **extra)


def lf(cwd: Path, *args: str, check: bool = True, env: Mapping[str, str] | None = None,
       later: float = 0.0) -> subprocess.CompletedProcess[str]:
    """``ledgerflow ARGS`` run in ``cwd`` as a user runs it (``env`` defaults to
    ``cli_env(cwd)``); with ``check``, it must succeed. With ``later``, it runs that many
    seconds from now: its wall clock is that far ahead (``ledgerflow_later.py``)."""
    command = [sys.executable, str(LEDGERFLOW_LATER), f"{later:g}"] if later else \
        [str(LEDGERFLOW)]
    proc = subprocess.run([*command, *args], env=dict(env or cli_env(cwd)),
                          capture_output=True, text=True, timeout=120, cwd=cwd)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def lf_json(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> Any:
    return json.loads(lf(cwd, *args, "--json", env=env).stdout)


def run_cli(cwd: Path, db_url: str, *args: str, check: bool = True,
            **extra: str) -> subprocess.CompletedProcess[str]:
    """``ledgerflow ARGS`` in ``cwd`` on ``db_url`` (``extra``: more environment)."""
    return lf(cwd, *args, check=check, env=process_env(db=db_url, **extra))


def run_worker(db_url: str, journal: Path, point: str = "none", after: int = 1, *,
               agents: Path = CRASH_AGENTS, **extra: str) -> subprocess.CompletedProcess[str]:
    """A crash-test worker process (offering ``agents``, a module file) run until idle,
    killed at ``point`` of its ``after``-th commit (``extra``: more environment, such as
    ``CRASH_CLOCK_AHEAD``)."""
    return subprocess.run(
        [sys.executable, str(CRASHING_WORKER), db_url, str(agents), point, str(after)],
        env=process_env(journal=journal, **extra), capture_output=True, text=True,
        timeout=120)
