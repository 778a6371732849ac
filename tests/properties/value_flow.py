"""The value replay property test's pieces: generated values, the workflow that carries
them, what its steps must see, and a record of one run to compare with another.

The workflow alternates agent steps and ``wait`` steps, so every pair of agent steps has a
point where a run can stop and be reloaded (wait for a signal, pause, a killed worker, a
hand-over to the worker offering the next step's capability)::

    make -> w1 -> use -> w2 -> derive -> w3 -> check

``make`` returns the generated value ``x`` (from its Python literal); ``use`` reads it
through templates (``${state.x}``, ``.map(k, k)``, arithmetic) under a ``when`` that holds
only if types and key order survived; ``derive`` is a Python agent reporting what it got;
``check`` runs only if that report is exactly what the test computed beforehand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from ledgerflow import App

WAITS = ("w1", "w2", "w3")
TERMINAL = ("completed", "failed", "cancelled", "expired")
SAFE = 2**53 - 1  # the largest integer a value may hold (I-JSON)
# entries whose payloads are values, identical however a run was interrupted (the others
# name workers, epochs, pauses and recoveries)
VALUE_EVENTS = ("execution.created", "signal.received", "step.completed", "step.skipped",
                "step.failed", "execution.completed", "execution.failed")

FLOW: dict[str, Any] = {
    "name": "value-replay",
    "steps": [
        {"id": "make", "agent": "values.make", "input": {"src": "${input.src}"},
         "output": "x"},
        {"id": "w1", "type": "wait", "signal": "w1", "needs": ["make"], "output": "sig"},
        {"id": "use", "agent": "values.echo", "needs": ["w1"], "output": "u",
         "when": "type(state.x.f) == double && type(state.x.i) == int"
                 " && state.x.map(k, k) == input.keys",
         "input": {"x": "${state.x}", "keys": "${state.x.map(k, k)}",
                   "nested": "${state.x.m.map(k, k)}", "f_plus": "${state.x.f + 0.5}",
                   "f_neg": "${-state.x.f}", "f_half": "${state.x.f * 0.5}",
                   "i_neg": "${-state.x.i}", "i_mod": "${state.x.i % 7}",
                   "sig": "${state.sig}"}},
        {"id": "w2", "type": "wait", "signal": "w2", "needs": ["use"]},
        {"id": "derive", "agent": "values.derive", "needs": ["w2"], "output": "d",
         "input": {"u": "${state.u}", "sig": "${steps.w1.output}"}},
        {"id": "w3", "type": "wait", "signal": "w3", "needs": ["derive"]},
        {"id": "check", "agent": "values.echo", "needs": ["w3"], "output": "c",
         "when": "state.d.repr == input.expect",
         "input": {"seen": "${state.d.seen}", "back": "${state.d.seen.u.f_plus - 0.5}"}},
    ],
}


# values ---------------------------------------------------------------------------------
keys = st.text(st.characters(exclude_categories=["Cs"]), max_size=6)  # unicode, no surrogates
floats = st.one_of(
    st.sampled_from([2.0, -0.0, 0.0, 1e16, 2.0**53, 2.0**60, -1e300, 1.7976931348623157e308,
                     5e-324, -2.5e-308, 1e-7, 0.1]),
    st.integers(-(2**60), 2**60).map(float),  # integral floats, beyond 2^53 too
    st.floats(allow_nan=False, allow_infinity=False),
)
ints = st.one_of(st.integers(SAFE - 3, SAFE), st.integers(-SAFE, -SAFE + 3),
                 st.integers(-1000, 1000))
scalars = st.one_of(st.none(), st.booleans(), ints, floats, st.text(max_size=5).filter(
    lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)))
nested = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(keys, inner, max_size=3)),
    max_leaves=8)


@st.composite
def values(draw: st.DrawFn) -> dict[str, Any]:
    """A map whose fields the templates use (``f``, ``i``, ``m``, ``l``) and more, its keys
    in a generated order."""
    fields = {"f": draw(floats), "i": draw(ints), "m": draw(st.dictionaries(keys, nested,
              max_size=4)), "l": draw(st.lists(nested, max_size=3).map(tuple)),
              "b": draw(st.booleans()), "n": None, "any": draw(nested)}
    extra = draw(st.dictionaries(keys.filter(lambda k: k not in fields), nested, max_size=2))
    fields.update(extra)
    order = draw(st.permutations(list(fields)))
    return {k: fields[k] for k in order}


# what the steps must see ----------------------------------------------------------------
def plain(value: Any) -> Any:
    """``value`` as a handler gets it back: tuples are lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def derive_input(x: dict[str, Any]) -> dict[str, Any]:
    """What ``derive`` receives for the value ``x``, computed here in Python."""
    f, i = x["f"], x["i"]
    use = {"x": plain(x), "keys": list(x), "nested": list(x["m"]), "f_plus": f + 0.5,
           "f_neg": -f, "f_half": f * 0.5, "i_neg": -i,
           "i_mod": int(math.copysign(abs(i) % 7, i)),  # CEL's % truncates, like C
           "sig": plain(x)}
    return {"u": use, "sig": plain(x)}


def start(app: App, x: dict[str, Any], execution_id: str) -> str:
    return app.start(FLOW["name"], {"src": repr(x), "keys": list(x),
                                    "expect": repr(derive_input(x))},
                     execution_id=execution_id)


def signal_waiting(app: App, ids: Sequence[str], values_by_id: dict[str, Any],
                   sent: set[tuple[str, str]]) -> bool:
    """Send its signal to every wait step that is waiting (once each, the value itself as
    the data); true when every execution is finished."""
    finished = True
    for eid in ids:
        report = app.status(eid)
        finished = finished and report.status in TERMINAL
        for step in report.steps:
            if step.id in WAITS and step.status == "running" and (eid, step.id) not in sent:
                sent.add((eid, step.id))
                app.signal(eid, step.id, values_by_id[eid])
    return finished


# one run, as its steps, state and ledger show it ----------------------------------------
def exact(value: Any) -> str:
    """A text that tells apart what ``==`` does not: ``2`` and ``2.0``, ``0.0`` and
    ``-0.0``, key orders."""
    return json.dumps(value, ensure_ascii=False)


def record(app: App, eid: str) -> dict[str, Any]:
    """Every step's status, input and output, every state version and the value entries'
    payload hashes of one execution."""
    report = app.status(eid)
    history = app.history(eid)
    bodies = {row.seq: json.loads(row.body) for row in app.store.load_ledger(eid)}
    inputs = {e.step_id: exact(e.payload.get("input")) for e in history  # the last start
              if e.event_type in ("step.started", "step.recovered")}  # of each step
    return {
        "status": report.status, "error": report.error, "result": exact(report.result),
        "steps": [(s.id, s.status, s.error) for s in report.steps],
        "inputs": inputs,
        "outputs": {e.step_id: exact(e.payload.get("output")) for e in history
                    if e.event_type == "step.completed"},
        "states": [exact(app.state(eid, v).state) for v in range(1, report.state_version + 1)],
        "hashes": [(e.event_type, e.step_id, bodies[e.seq]["payload_sha256"]) for e in history
                   if e.event_type in VALUE_EVENTS],
    }

