"""An execution's status as plain text, without loading rich (a read's start-up is short).

When the output has no colour (a pipe, a file), ``render.status`` prints text alone: its
lines wrapped at the console's width and a table of the steps. ``status`` gives those very
bytes, or None where it could differ (colour, a narrow table, text rich treats specially:
anything but printable ASCII, markup brackets, a word wider than a line, a paused
execution's state document); the caller then renders with rich. A test holds the two equal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledgerflow import ExecutionReport

MIN_WIDTH = 20  # narrower consoles are left to rich
_PLAIN = re.compile(r"[ -Z^-~]*")  # printable ASCII without [ \ ] (markup, escapes)
_WORD = re.compile(r"\s*\S+\s*")  # a word and the spaces around it, as rich splits lines
_COLUMNS = ("step", "status", "attempts", "agent", "duration", "error")
_WHOLE = ("step", "agent")  # the columns ``render.status`` never folds


def width() -> int | None:
    """The width rich's console gives standard output when it would print no colour (not
    a terminal, no ``FORCE_COLOR`` or ``TTY_COMPATIBLE=1``, UTF-8, not Windows); None when
    rich must render."""
    out = sys.stdout
    if out is None or sys.platform == "win32" or \
            not (getattr(out, "encoding", "utf-8") or "utf-8").lower().startswith("utf"):
        return None
    tty = os.environ.get("TTY_COMPATIBLE", "")
    if tty == "1":
        return None
    if tty != "0":
        force = os.environ.get("FORCE_COLOR")
        if force is not None and force != "":
            return None
        if force is None and _isatty(out):
            return None
    columns = os.environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        found = int(columns)
    else:
        found = 0
        for descriptor in (0, 1, 2):  # rich asks stdin, stdout, stderr in this order
            try:
                found = os.get_terminal_size(descriptor).columns
            except (AttributeError, ValueError, OSError):
                continue
            break
        found = found or 80
    return found if found >= MIN_WIDTH else None


def _isatty(out: object) -> bool:
    try:
        return bool(out.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def status(report: ExecutionReport, columns: int) -> str | None:
    """What ``render.status`` prints for ``report`` on a console ``columns`` wide without
    colour, or None when only rich can say."""
    if report.status == "paused" or not report.steps:
        return None
    lines = _lines_before_table(report)
    head = (f"ledger head: seq {report.head_seq}, {report.head_hash[:16]}…  "
            f"state version {report.state_version}")
    if not all(_PLAIN.fullmatch(line) for line in [*lines, head.replace("…", "", 1)]):
        return None
    table = _table(report, columns)
    if table is None:
        return None
    out: list[str] = []
    for line in [*lines, None, head]:
        wrapped = table if line is None else _wrapped(line, columns)
        if wrapped is None:
            return None
        out += wrapped
    return "".join(f"{line}\n" for line in out)


def _lines_before_table(report: ExecutionReport) -> list[str]:
    p, t = report.progress, report.timing
    duration = f"{t.duration_seconds:.3f}s" if t.duration_seconds is not None else "-"
    lines = [
        f"{report.id}  {report.workflow} v{report.workflow_version}  {report.status}",
        f"progress: {p.done}/{p.total} done ({p.percentage:.1f}%): {p.completed} completed, "
        f"{p.skipped} skipped, {p.failed} failed, {p.cancelled} cancelled, {p.running} "
        f"running, {p.pending} pending",
        f"timing: created {t.created_at}  started {t.started_at or '-'}  "
        f"finished {t.finished_at or '-'}  duration {duration}",
    ]
    if t.eta_seconds is not None:
        lines.append(f"eta: {t.eta_seconds:.1f}s left (runs of this workflow take "
                     f"{t.expected_duration_seconds:.1f}s, median of recent ones)")
    if report.expires_at:
        lines.append(f"session: expires {report.expires_at}")
    if report.forked_from:
        lines.append(f"forked from {report.forked_from} at ledger entry "
                     f"{report.forked_at_seq}")
    if report.forks:
        lines.append(f"forks: {', '.join(report.forks)}")
    lines += [f"heartbeat: step {s.id} at {s.heartbeat_at}: {json.dumps(s.heartbeat)}"
              for s in report.steps if s.heartbeat_at is not None]
    lines += [f"pending: step {s.id} is {s.waiting}"
              for s in report.steps if s.waiting is not None]
    for w in report.waiting_for:
        what = f"signal {w['signal']!r}" if w["signal"] else "its time"
        until = f" (until {w['until']})" if w["until"] else ""
        lines.append(f"waiting: step {w['step']} waits for {what}{until}")
    lines += [f"waiting: step {a['step']} is {a['message']}" for a in report.waiting_for_agents]
    if report.signals_pending:
        lines.append(f"signals received, not yet taken by a wait: {report.signals_pending}")
    if report.quarantined:
        lines.append(f"quarantined: set aside by its worker since "
                     f"{report.quarantined['since']}: {report.quarantined['reason']}")
    if report.error:
        lines.append(f"error: {report.error}")
    if report.recoveries:
        lines.append(f"recoveries: {report.recoveries}")
    return lines


def _wrapped(line: str, columns: int) -> list[str] | None:
    """``line`` cut into lines at most ``columns`` wide at spaces, where rich cuts it (each
    keeps its trailing spaces that fit); None for a word wider than a line (rich folds it)."""
    if len(line) <= columns:
        return [line]
    cuts, used = [0], 0
    for word in _WORD.finditer(line):
        size = len(word.group().rstrip())
        if size > columns:
            return None
        if columns - used >= size:
            used += len(word.group())
        elif used and word.start():
            cuts.append(word.start())
            used = len(word.group())
    pieces = [line[a:b] for a, b in zip(cuts, [*cuts[1:], len(line)], strict=True)]
    return [p[:max(columns, len(p.rstrip()))] for p in pieces]


def _table(report: ExecutionReport, columns: int) -> list[str] | None:
    """The steps table in rich's heavy-headed box, each column as wide as its widest cell;
    None when it is wider than the console (rich would fold its cells)."""
    rows = [(s.id, s.status, str(s.attempts), s.agent or "",
             f"{s.duration_seconds:.3f}s" if s.duration_seconds is not None else "",
             s.error or "") for s in report.steps]
    if not all(_PLAIN.fullmatch(cell) for row in rows for cell in row):
        return None
    widths = [max(len(cell) for cell in column) for column in zip(_COLUMNS, *rows, strict=True)]
    natural = sum(widths) + 3 * len(widths) + 1
    # the console widens to what the table's columns need at least (``print_table``)
    needed = len(widths) + 1 + sum(
        w + 2 if name in _WHOLE else min(_longest_word(cells), 10) + 2
        for name, w, cells in zip(_COLUMNS, widths, zip(_COLUMNS, *rows, strict=True),
                                  strict=True))
    if natural > max(columns, needed):
        return None

    def rule(left: str, line: str, middle: str, right: str) -> str:
        return left + middle.join(line * (w + 2) for w in widths) + right

    def row(edge: str, cells: tuple[str, ...]) -> str:
        return edge + edge.join(f" {c.ljust(w)} " for c, w in zip(cells, widths, strict=True)) \
            + edge

    return [rule("┏", "━", "┳", "┓"), row("┃", _COLUMNS), rule("┡", "━", "╇", "┩"),
            *(row("│", r) for r in rows), rule("└", "─", "┴", "┘")]


def _longest_word(cells: tuple[str, ...]) -> int:
    return max((len(w) for c in cells for w in c.split()), default=1)
