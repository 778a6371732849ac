"""Rendering reports for people (rich) — JSON output never goes through here."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from ledgerflow import ExecutionReport

_STYLE = {
    "completed": "green", "failed": "red", "running": "cyan", "pending": "dim",
    "skipped": "yellow", "cancelled": "magenta", "interrupted": "red", "paused": "yellow",
    "waiting": "blue", "expired": "magenta",
}


def styled(status: str) -> str:
    style = _STYLE.get(status, "")
    return f"[{style}]{status}[/]" if style else status


def status(console: Console, report: ExecutionReport) -> None:
    p = report.progress
    t = report.timing
    console.print(f"[bold]{report.id}[/]  {report.workflow} v{report.workflow_version}  "
                  f"{styled(report.status)}")
    console.print(f"progress: {p.completed}/{p.total} completed, {p.skipped} skipped, "
                  f"{p.failed} failed, {p.running} running, {p.pending} pending "
                  f"({p.percentage:.1f}%)")
    duration = f"{t.duration_seconds:.3f}s" if t.duration_seconds is not None else "-"
    console.print(f"timing: created {t.created_at}  started {t.started_at or '-'}  "
                  f"finished {t.finished_at or '-'}  duration {duration}")
    if t.eta_seconds is not None:
        console.print(f"eta: {t.eta_seconds:.1f}s left (runs of this workflow take "
                      f"{t.expected_duration_seconds:.1f}s, median of recent ones)")
    if report.expires_at:
        console.print(f"session: expires {report.expires_at}")
    if report.forked_from:
        console.print(f"forked from {report.forked_from} at ledger entry {report.forked_at_seq}")
    if report.forks:
        console.print(f"forks: {', '.join(report.forks)}")
    for s in report.steps:
        if s.heartbeat_at is not None:
            console.print(f"heartbeat: step {s.id} at {s.heartbeat_at}: "
                          f"{json.dumps(s.heartbeat)}", highlight=False)
    for s in report.steps:
        if s.waiting is not None:
            console.print(f"[blue]pending:[/] step {s.id} is {s.waiting}", highlight=False)
    for w in report.waiting_for:
        what = f"signal {w['signal']!r}" if w["signal"] else "its time"
        until = f" (until {w['until']})" if w["until"] else ""
        console.print(f"[blue]waiting:[/] step {w['step']} waits for {what}{until}")
    if report.signals_pending:
        console.print(f"signals received, not yet taken by a wait: {report.signals_pending}")
    if report.error:
        console.print(f"[red]error:[/] {report.error}")
    if report.recoveries:
        console.print(f"recoveries: {report.recoveries}")
    table = Table("step", "status", "attempts", "agent", "duration", "error")
    for s in report.steps:
        d = f"{s.duration_seconds:.3f}s" if s.duration_seconds is not None else ""
        table.add_row(s.id, styled(s.status), str(s.attempts), s.agent or "", d, s.error or "")
    console.print(table)
    console.print(f"ledger head: seq {report.head_seq}, {report.head_hash[:16]}…  "
                  f"state version {report.state_version}")
    if report.status == "paused":
        console.print(f"[yellow]paused[/]: pending steps (the stack): "
                      f"{', '.join(report.pending_steps) or 'none'}")
        console.print("state document (the memory):")
        console.print_json(json.dumps(report.state))
        console.print(f"resume with: ledgerflow resume {report.id} [--from STEP]")


def age(seconds: float) -> str:
    """A short human duration: 42s, 7m12s, 3h05m, 2d04h; negative is 'overdue'."""
    if seconds < 0:
        return f"overdue {age(-seconds)}"
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
