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

from ledgerflow import ExecutionUpdate
from ledgerflow.cli import render


class LiveProgress:
    """One bar per execution: steps done of total, and the current status. Labels are
    printed as given (never read as markup or emoji codes)."""

    def __init__(self, console: Console | None = None, labels: dict[str, str] | None = None,
                 transient: bool = False) -> None:
        self.console = console or render.console(stderr=True)
        self._labels = labels or {}
        self._progress = Progress(
            TextColumn("{task.description}", justify="left", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}", markup=False),
            TimeElapsedColumn(),
            console=self.console,
            transient=transient,
        )
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, update: ExecutionUpdate) -> None:
        task = self._tasks.get(update.id)
        if task is None:
            # the whole id: engine-made ids (UUID v7) started together share their start
            label = self._labels.get(update.id, f"{update.workflow} {update.id}")
            task = self._progress.add_task(label, total=update.steps_total, status="")
            self._tasks[update.id] = task
        self._progress.update(task, total=update.steps_total, completed=update.steps_done,
                              status=update.status)

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()
