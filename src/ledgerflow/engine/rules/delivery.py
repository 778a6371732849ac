"""Where a received signal goes. Pure rules over a ``Transition``.

* each signal runs the definition's handlers for its name (``on:``) whose ``when`` holds,
  as step runs of their own (``rules.signals``);
* a step running a kind that takes signals of that name (a ``wait`` step,
  ``rules.kinds.wait``) takes it and completes with its data; a signal nobody takes stays
  until such a step begins.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ledgerflow import errors
from ledgerflow.engine.model.graph import graph_of
from ledgerflow.engine.model.lifecycle import StepStatus
from ledgerflow.engine.model.transition import Transition
from ledgerflow.engine.rules import flow, kinds, signals, step_runs
from ledgerflow.engine.rules.dispatching import Chooser
from ledgerflow.storage.rows import SignalRow, StepRow, parse_column

S = StepStatus


def match_signals(tr: Transition, choose: Chooser) -> None:
    """Hand every received signal to its handlers (once) and to a step waiting for it."""
    for seq in sorted(tr.signals):
        signal = tr.signals[seq]
        if not signal.handled:
            _start_handlers(tr, signal)
        if signal.consumed_by is None:
            step_id = _waiting_for(tr, signal.name)
            if step_id is not None and step_runs.consume(tr, step_id, signal):
                flow.advance(tr, choose, after=step_id)


# internals ------------------------------------------------------------------------------
def _waiting_for(tr: Transition, name: str) -> str | None:
    graph = graph_of(tr.view.definition)
    for sid in graph.order:
        step = graph.steps[sid]
        if kinds.of(step.type).consumes(step) == name and tr.step_status(sid) is S.RUNNING:
            return sid
    return None


def _start_handlers(tr: Transition, signal: SignalRow) -> None:
    """Create a run for each handler of the signal whose ``when`` holds; one ledger entry
    says where the signal went and which handlers passed (and why)."""
    tr.update_signal(replace(signal, handled=1))
    found = tr.view.definition.on.get(signal.name, ())
    if not found:
        return  # only wait steps take this signal
    data = parse_column(signal.data, f"data of signal {signal.seq}")
    context = {**tr.expression_context(), "signal": {"name": signal.name, "data": data}}
    routed: list[dict[str, Any]] = []
    passed: list[dict[str, Any]] = []
    for index, handler in enumerate(found):
        if handler.when is not None:
            try:
                decision = handler.when.evaluate(context)
            except errors.ExpressionError as exc:
                passed.append({"handler": index, "agent": handler.agent, "error": str(exc)})
                continue
            if decision is not True:
                passed.append({"handler": index, "agent": handler.agent,
                               "when": handler.when.source})
                continue
        run = signals.run_id(signal.name, index, signal.seq)
        tr.add_step(StepRow(execution_id=tr.execution_id, step_id=run, status=str(S.PENDING)))
        routed.append({"handler": index, "agent": handler.agent, "run": run})
    tr.record("signal.routed", from_state=tr.status, to_state=tr.status,
              payload={"signal": signal.name, "seq": signal.seq, "routed": routed,
                       "passed": passed})
