"""An execution as the engine holds it in memory between commits: the last committed rows,
parsed. Views are replaced, never edited, so a failed commit leaves the old one intact."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledgerflow.definition.model import Definition
from ledgerflow.engine.model.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.engine.model.state_texts import StateTexts
from ledgerflow.engine.model.tally import Tally
from ledgerflow.storage.rows import ExecutionRow, SignalRow, StepRow, parse_column


@dataclass(frozen=True, kw_only=True, slots=True)
class ExecutionView:
    row: ExecutionRow
    definition: Definition
    input: Any
    state: Any
    steps: Mapping[str, StepRow]
    outputs: Mapping[str, Any]  # parsed outputs of completed steps
    signals: Mapping[int, SignalRow] = field(default_factory=dict)  # by seq, oldest first
    tally: Tally  # of ``steps``
    # the ``steps`` map expressions see (``steps_seen``), made when first asked for
    seen: dict[str, dict[str, Any]] | None = field(default=None, compare=False, repr=False)
    # ``state``'s member texts, carried from view to view by a worker (None: not made yet)
    state_texts: StateTexts | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_rows(
        cls, row: ExecutionRow, definition: Definition, steps: Iterable[StepRow],
        signals: Iterable[SignalRow] = (),
    ) -> ExecutionView:
        by_id = {s.step_id: s for s in steps}
        outputs = {
            sid: parse_column(s.output, f"output of step {sid!r} of execution {row.id}")
            for sid, s in by_id.items()
            if s.status == StepStatus.COMPLETED and s.output is not None
        }
        return cls(
            row=row,
            definition=definition,
            input=parse_column(row.input, f"input of execution {row.id}"),
            state=parse_column(row.state, f"state of execution {row.id}"),
            steps=by_id,
            outputs=outputs,
            signals={g.seq: g for g in signals},
            tally=Tally.of(by_id.values()),
        )

    def steps_seen(self) -> dict[str, dict[str, Any]]:
        """The ``steps`` of an expression's context: ``{step id: {"output", "status"}}``
        for every step run, in order. Made once per view (a view built from another is
        given it updated), then shared: read it, never change it."""
        if self.seen is None:
            seen = {sid: step_seen(self.outputs, s) for sid, s in self.steps.items()}
            object.__setattr__(self, "seen", seen)  # a cache: the view stays as it was
            return seen
        return self.seen

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def status(self) -> ExecutionStatus:
        text = self.row.status
        return _EXECUTION_STATUS.get(text) or ExecutionStatus(text)  # a bad one: ValueError


_EXECUTION_STATUS = {s.value: s for s in ExecutionStatus}  # quicker than the enum's call


def step_seen(outputs: Mapping[str, Any], row: StepRow) -> dict[str, Any]:
    """One step as an expression sees it."""
    return {"output": outputs.get(row.step_id), "status": row.status}
