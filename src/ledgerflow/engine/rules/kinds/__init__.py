"""Step kinds: what each step ``type`` needs and does, in one place, and the registry the
rules ask (``of``) instead of branching on the type.

A kind (``base.StepKind``) declares whether its steps need an agent, hold a handler slot
while they run, count as waiting, which timer their deadline arms, how a step begins
(route and dispatch a handler, arm a sleep, wait for a signal), what its deadline does when
it passes (fail the attempt, end the sleep), and which signal it takes. The kinds record
outcomes through ``rules.step_runs`` and never import ``rules.flow``; ``flow`` reaches them
only through this registry.

To add a step kind:

1. write its module here (``task.py``, ``wait.py`` and ``sleep.py`` are the models), ending
   with ``KIND = StepKind(...)``;
2. give its type and fields to the definition: ``StepType`` in ``definition.model``, its
   fields in ``definition.steps.TYPE_FIELDS`` and its own checks there (``_options``),
   built into ``Step.options``;
3. add one line to ``REGISTRY`` below.

The tests hold the two sides together: the types validation accepts are exactly the keys
of ``REGISTRY``.
"""

from __future__ import annotations

from ledgerflow.definition.model import StepType
from ledgerflow.engine.rules.kinds import sleep, task, unsupported, wait
from ledgerflow.engine.rules.kinds.base import StepKind

REGISTRY: dict[StepType, StepKind] = {
    StepType.TASK: task.KIND,
    StepType.WAIT: wait.KIND,
    StepType.SLEEP: sleep.KIND,
}


def of(step_type: StepType) -> StepKind:
    """The kind of a step type. A type without one (a stored definition applied before its
    type was refused) is ``unsupported``: such a step fails when it begins."""
    return REGISTRY.get(step_type, unsupported.KIND)
