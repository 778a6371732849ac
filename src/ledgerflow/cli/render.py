"""Rendering reports for people (rich) — JSON output never goes through here."""

from __future__ import annotations

import json
import os

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ledgerflow import ExecutionReport

_STYLE = {
    "completed": "green", "failed": "red", "running": "cyan", "pending": "dim",
    "skipped": "yellow", "cancelled": "magenta", "interrupted": "red", "paused": "yellow",
    "waiting": "blue", "expired": "magenta",
}


def console(*, stderr: bool = False, piped_width: int | None = None) -> Console:
    """A console for a command's output. It never turns ``:codes:`` into emoji (an agent
    named ``r.ok:ok`` stays so); user text in markup goes through ``escape`` (or ``Text``).
    ``piped_width``: the width tables get when the output is neither a terminal nor sized by
    ``COLUMNS`` (a pipe, a file), so they read as on a wide terminal; a terminal, or an
    explicit ``COLUMNS``, keeps its own width."""
    out = Console(stderr=stderr, emoji=False)
    if out.color_system is None:  # highlighting only colours: without colour, skip its work
        out = Console(stderr=stderr, emoji=False, highlight=False)
    if piped_width and not out.is_terminal and not os.environ.get("COLUMNS"):
        out.width = max(out.width, piped_width)
    return out


FOLD_MIN = 10  # a folding column is never narrower than this (or than its longest word)


def print_table(out: Console, table: Table, *whole: str) -> None:
    """Print ``table`` with the columns named ``whole`` (ids, names) never cut: they neither
    wrap nor shorten at any width. The other columns fold instead (what does not fit goes
    on the next line, nothing is hidden), down to ``FOLD_MIN`` characters. A terminal too
    narrow even for that gets lines wider than itself, never cut ids."""
    left, right = table.padding[3], table.padding[1]
    needed = (len(table.columns) + 1 if table.show_edge else len(table.columns) - 1) \
        if table.box else 0
    for column in table.columns:
        texts = [_plain(cell) for cell in column.cells]
        if column.header in whole:
            column.no_wrap = True
            column.min_width = max(map(cell_len, [_plain(column.header), *texts]))
        else:
            column.overflow = "fold"
            words = [cell_len(w) for t in [_plain(column.header), *texts] for w in t.split()]
            column.min_width = min(max(words, default=1), FOLD_MIN)
        needed += column.min_width + left + right
    width = out.width
    out.width = max(width, needed)
    try:
        out.print(table, crop=False)
    finally:
        out.width = width


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else Text.from_markup(str(cell), emoji=False).plain


def styled(status: str) -> str:
    style = _STYLE.get(status, "")
    return f"[{style}]{status}[/]" if style else status


def status(console: Console, report: ExecutionReport) -> None:
    p = report.progress
    t = report.timing
    console.print(f"[bold]{escape(report.id)}[/]  {escape(report.workflow)} "
                  f"v{report.workflow_version}  {styled(report.status)}")
    console.print(f"progress: {p.done}/{p.total} done ({p.percentage:.1f}%): "
                  f"{p.completed} completed, {p.skipped} skipped, {p.failed} failed, "
                  f"{p.cancelled} cancelled, {p.running} running, {p.pending} pending")
    duration = f"{t.duration_seconds:.3f}s" if t.duration_seconds is not None else "-"
    console.print(f"timing: created {t.created_at}  started {t.started_at or '-'}  "
                  f"finished {t.finished_at or '-'}  duration {duration}")
    if t.eta_seconds is not None:
        console.print(f"eta: {t.eta_seconds:.1f}s left (runs of this workflow take "
                      f"{t.expected_duration_seconds:.1f}s, median of recent ones)")
    if report.expires_at:
        console.print(f"session: expires {report.expires_at}")
    if report.forked_from:
        console.print(Text(f"forked from {report.forked_from} at ledger entry "
                           f"{report.forked_at_seq}"))
    if report.forks:
        console.print(Text(f"forks: {', '.join(report.forks)}"))
    for s in report.steps:
        if s.heartbeat_at is not None:
            console.print(Text(f"heartbeat: step {s.id} at {s.heartbeat_at}: "
                               f"{json.dumps(s.heartbeat)}"), highlight=False)
    for s in report.steps:
        if s.waiting is not None:
            line = escape(f"step {s.id} is {s.waiting}")
            console.print(f"[blue]pending:[/] {line}", highlight=False)
    for w in report.waiting_for:
        what = f"signal {w['signal']!r}" if w["signal"] else "its time"
        until = f" (until {w['until']})" if w["until"] else ""
        waits = escape(f"step {w['step']} waits for {what}{until}")
        console.print(f"[blue]waiting:[/] {waits}")
    for a in report.waiting_for_agents:
        line = escape(f"step {a['step']} is {a['message']}")
        console.print(f"[blue]waiting:[/] {line}", highlight=False)
    if report.signals_pending:
        console.print(f"signals received, not yet taken by a wait: {report.signals_pending}")
    if report.quarantined:
        why = escape(f"set aside by its worker since {report.quarantined['since']}: "
                     f"{report.quarantined['reason']}")
        console.print(f"[red]quarantined:[/] {why}", highlight=False)
    if report.error:
        console.print(f"[red]error:[/] {escape(report.error)}")
    if report.recoveries:
        console.print(f"recoveries: {report.recoveries}")
    table = Table("step", "status", "attempts", "agent", "duration", "error")
    for s in report.steps:
        d = f"{s.duration_seconds:.3f}s" if s.duration_seconds is not None else ""
        table.add_row(Text(s.id), styled(s.status), str(s.attempts), Text(s.agent or ""), d,
                      Text(s.error or ""))
    print_table(console, table, "step", "agent")
    console.print(f"ledger head: seq {report.head_seq}, {report.head_hash[:16]}…  "
                  f"state version {report.state_version}")
    if report.status == "paused":
        console.print(f"[yellow]paused[/]: pending steps (the stack): "
                      f"{escape(', '.join(report.pending_steps) or 'none')}")
        console.print("state document (the memory):")
        console.print_json(json.dumps(report.state))
        console.print(Text(f"resume with: ledgerflow resume {report.id} [--from STEP]"))


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
