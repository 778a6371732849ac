"""Agents of the value replay property test (``test_value_replay.py``), for the test's own
``App`` and for worker processes (``ledgerflow worker --agents`` or ``crashing_worker.py``).

* ``values.make`` builds its output from the Python literal ``input.src``: tuples, ``-0.0``,
  integral floats and the producer's key order, as a handler returns them.
* ``values.echo`` returns its input.
* ``values.derive`` returns what it saw: ``repr`` of its input (types, key order, ``-0.0``)
  and the input itself.

Imported by a worker process, the module registers the agents of the sides named by
``VALUE_AGENTS_SIDES`` (``left``: make and derive, ``right``: echo; both by default), so two
workers hand every step over to each other. With ``VALUE_AGENTS_KILL`` (a folder), the
process kills itself inside the first run of each step id (SIGKILL, once per step id).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ledgerflow
from ledgerflow.testing import kill_self

SIDES_ENV = "VALUE_AGENTS_SIDES"
KILL_ENV = "VALUE_AGENTS_KILL"


def _maybe_die(ctx: Any) -> None:
    folder = os.environ.get(KILL_ENV)
    if not folder:
        return
    marker = Path(folder) / f"killed-{ctx.step_id}"
    if not marker.exists():
        marker.touch()
        kill_self()


def make(ctx: Any, data: Any) -> Any:
    _maybe_die(ctx)
    return ast.literal_eval(data["src"])


def echo(ctx: Any, data: Any) -> Any:
    _maybe_die(ctx)
    return data


def derive(ctx: Any, data: Any) -> Any:
    _maybe_die(ctx)
    return {"repr": repr(data), "seen": data}


SIDES: dict[str, dict[str, Callable[[Any, Any], Any]]] = {
    "left": {"values.make": make, "values.derive": derive},
    "right": {"values.echo": echo},
}


def register(agent: Callable[..., Callable[[Any], Any]], sides: str = "left,right") -> None:
    """Register the agents of ``sides`` through ``agent`` (``app.agent`` or
    ``ledgerflow.agent``)."""
    for side in sides.split(","):
        for capability, handler in SIDES[side].items():
            agent(capability)(handler)


if os.environ.get(SIDES_ENV):  # a worker process loads it
    register(ledgerflow.agent, os.environ[SIDES_ENV])
