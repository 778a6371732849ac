"""Signal handler runs: the step runs a definition's ``on:`` handlers create per signal.

A run is a step run whose id names its handler and signal, ``on.<signal>.<index>@<seq>``
(``seq`` is the ledger entry that recorded the signal). Graph step ids cannot contain ``@``
nor begin with ``on.`` (``HANDLER_RUN_PREFIX``), so the two never collide. A run behaves
like a task step with no needs: it is routed, retried, recovered and recorded the same
way, and its output goes where the handler's ``output`` says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ledgerflow import errors
from ledgerflow.definition.model import HANDLER_RUN_PREFIX, Definition, SignalHandler, Step
from ledgerflow.storage.rows import SignalRow, parse_column

PREFIX = HANDLER_RUN_PREFIX
_RUN = re.compile(r"^on\.(?P<signal>[^@]+)\.(?P<index>\d+)@(?P<seq>\d+)$")


def run_id(signal: str, index: int, seq: int) -> str:
    return f"{PREFIX}{signal}.{index}@{seq}"


def is_run(step_id: str) -> bool:
    return step_id.startswith(PREFIX)


def parse(step_id: str) -> tuple[str, int, int]:
    """(signal, handler index, signal seq) of a run id."""
    found = _RUN.match(step_id)
    if found is None:
        raise errors.CorruptedRow(
            f"step run {step_id!r} is neither a step of the definition nor a signal handler "
            "run; the row was changed outside ledgerflow: verify the ledgers to see which "
            "executions it affects", what=f"step run {step_id!r}",
        )
    return found["signal"], int(found["index"]), int(found["seq"])


def handler_of(definition: Definition, step_id: str) -> SignalHandler:
    signal, index, _ = parse(step_id)
    found = definition.on.get(signal, ())
    if index >= len(found):
        raise errors.StorageError(
            f"step run {step_id!r} names handler {index} of signal {signal!r}, which "
            f"definition {definition.name!r} does not have"
        )
    return found[index]


def spec(definition: Definition, step_id: str) -> Step:
    """A handler run as a task step (no needs, no retries beyond one attempt)."""
    handler = handler_of(definition, step_id)
    return Step(id=step_id, agent=handler.agent, output=handler.output,
                description=f"handler of signal {handler.signal!r}")


def signal_data(signals: Mapping[int, SignalRow], step_id: str) -> Any:
    """The data of the signal a run handles: the run's input."""
    _, _, seq = parse(step_id)
    row = signals.get(seq)
    if row is None:
        raise errors.StorageError(f"signal {seq} handled by step run {step_id!r} is missing")
    return parse_column(row.data, f"data of signal {seq}")
