"""Live progress of executions, fed by the worker's commit listener."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ledgerflow.engine.model.lifecycle import StepStatus
from ledgerflow.engine.model.view import ExecutionView

_DONE = {StepStatus.COMPLETED, StepStatus.SKIPPED, StepStatus.FAILED, StepStatus.CANCELLED,
         StepStatus.INTERRUPTED}


class LiveProgress:
    """One bar per execution: steps done of total, and the current status."""

    def __init__(self, console: Console | None = None, labels: dict[str, str] | None = None,
                 transient: bool = False) -> None:
        self.console = console or Console(stderr=True)
        self._labels = labels or {}
        self._progress = Progress(
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=transient,
        )
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, view: ExecutionView) -> None:
        done = sum(1 for s in view.steps.values() if StepStatus(s.status) in _DONE)
        task = self._tasks.get(view.id)
        if task is None:
            label = self._labels.get(view.id, f"{view.row.workflow} {view.id[:8]}")
            task = self._progress.add_task(label, total=len(view.steps), status="")
            self._tasks[view.id] = task
        self._progress.update(task, completed=done, status=view.status.value)

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()
