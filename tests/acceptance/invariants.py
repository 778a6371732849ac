"""The DESIGN.md §5 invariants, checked on a real database after faults."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from ledgerflow import App

DISPATCH_EVENTS = {"step.started", "step.recovered"}


def journal_starts(journal: Path) -> Counter[tuple[str, str]]:
    starts: Counter[tuple[str, str]] = Counter()
    if journal.exists():
        for line in journal.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("ev", "start") == "start":  # not "cancelled" (the same run ending)
                    starts[(row["e"], row["s"])] += 1
    return starts


def check(app: App, journal: Path, expected: int,
          final_status: str = "completed") -> dict[str, Any]:
    """Assert the invariants; return counts for the test's report."""
    rows = app.list(limit=100_000)
    assert len(rows) == expected, f"{expected} executions started, {len(rows)} found"
    starts = journal_starts(journal)
    reran = 0
    for row in rows:
        assert row.status == final_status, f"{row.id} is {row.status}: {row.error}"
        history = app.history(row.id)
        completed: Counter[str] = Counter()
        dispatches: Counter[str] = Counter()
        for entry in history:
            if entry.step_id is None:
                continue
            if entry.event_type == "step.completed":
                completed[entry.step_id] += 1
            elif entry.event_type in DISPATCH_EVENTS:
                assert completed[entry.step_id] == 0, (
                    f"{row.id}: step {entry.step_id} dispatched again after it completed "
                    f"(seq {entry.seq})")
                dispatches[entry.step_id] += 1
        for step in app.status(row.id).steps:
            if step.status == "completed":
                assert completed[step.id] == 1, (
                    f"{row.id}: step {step.id} result recorded {completed[step.id]} times")
            ran = starts[(row.id, step.id)]
            assert ran <= dispatches[step.id], (
                f"{row.id}: step {step.id} handler ran {ran} times for "
                f"{dispatches[step.id]} dispatches")
            reran += max(ran - 1, 0)
        result = app.verify(row.id)
        assert result.ok, result.message
    return {"executions": len(rows), "handler_reruns": reran}
