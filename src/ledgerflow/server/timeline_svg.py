"""An execution's timeline as SVG (pure: no request, no database): a Gantt chart with one
row per step, in the order the steps first started, and one bar per attempt from its start
to its end (an attempt still running reaches ``now``), coloured by its outcome and labelled
in words too (a failed attempt is struck through: colour is never the only sign). A tooltip
names the step, attempt, agent, duration and outcome; the axis shows seconds from the first
start. The API serves it for ``Accept: image/svg+xml``; the dashboard shows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from ledgerflow.server.graph_svg import FILL

LABEL_W, BAR_AREA, ROW_H, BAR_H, MARGIN, AXIS_H = 150, 640, 26, 16, 12, 22
TICKS = 6  # marks on the time axis
MIN_BAR = 2.0  # pixels: an attempt of a few microseconds stays visible
AS_STATUS = {"success": "completed", "failure": "failed"}  # a routed attempt's outcome


@dataclass(frozen=True, slots=True)
class Bar:
    step_id: str
    attempt: int
    agent: str | None
    started_at: str
    finished_at: str | None  # None: still running
    outcome: str | None  # a step status, or a routed attempt's success/failure; None: running


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _label(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def render(bars: Sequence[Bar], now: str, title: str) -> str:
    """The SVG document of ``bars`` (``now``: where a running attempt's bar ends)."""
    rows: list[str] = []
    for bar in sorted(bars, key=lambda b: (b.started_at, b.step_id, b.attempt)):
        if bar.step_id not in rows:
            rows.append(bar.step_id)
    width = MARGIN * 2 + LABEL_W + BAR_AREA
    height = MARGIN * 2 + AXIS_H + max(len(rows), 1) * ROW_H
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)} '
             'font-family="system-ui, sans-serif" font-size="12">',
             f"<title>{escape(title)}</title>"]
    if not bars:
        parts.append(f'<text x="{MARGIN}" y="{MARGIN + AXIS_H}" fill="#52606d">'
                     "no step has started yet</text></svg>")
        return "".join(parts)
    first = min(_at(b.started_at) for b in bars)
    last = max(_at(b.finished_at or now) for b in bars)
    span = max((last - first).total_seconds(), 1e-3)
    scale = BAR_AREA / span
    left = MARGIN + LABEL_W
    for i in range(TICKS + 1):  # the axis: seconds since the first start
        x = left + BAR_AREA * i / TICKS
        parts.append(f'<line x1="{x:g}" y1="{MARGIN + AXIS_H - 4:g}" x2="{x:g}" '
                     f'y2="{height - MARGIN:g}" stroke="#e4e7eb"/>'
                     f'<text x="{x:g}" y="{MARGIN + 10:g}" fill="#52606d" font-size="11" '
                     f'text-anchor="{"end" if i == TICKS else "middle" if i else "start"}">'
                     f"+{escape(_seconds(span * i / TICKS))}</text>")
    for row, step in enumerate(rows):
        y: float = MARGIN + AXIS_H + row * ROW_H
        parts.append(f'<text class="row" x="{MARGIN}" y="{y + ROW_H / 2 + 4:g}" '
                     f'fill="#1f2933">{escape(_label(step))}</text>')
    for bar in bars:
        y = MARGIN + AXIS_H + rows.index(bar.step_id) * ROW_H + (ROW_H - BAR_H) / 2
        start = (_at(bar.started_at) - first).total_seconds()
        took = (_at(bar.finished_at or now) - _at(bar.started_at)).total_seconds()
        x, w = left + start * scale, max(took * scale, MIN_BAR)
        shown = AS_STATUS.get(bar.outcome, bar.outcome) if bar.outcome else "running"
        fill, stroke, ink = FILL.get(shown, FILL["pending"])
        tip = [f"{bar.step_id}, attempt {bar.attempt}", f"outcome: {shown}",
               f"took: {_seconds(max(took, 0.0))}" + ("" if bar.finished_at else " so far")]
        if bar.agent:
            tip.append(f"agent: {bar.agent}")
        struck = (f'<line x1="{x:g}" y1="{y + BAR_H / 2:g}" x2="{x + w:g}" '
                  f'y2="{y + BAR_H / 2:g}" stroke="{ink}" stroke-width="1.5"/>'
                  if shown in ("failed", "interrupted", "cancelled") else "")
        inside = (f'<text x="{x + 4:g}" y="{y + BAR_H - 4:g}" fill="{ink}" font-size="10">'
                  f"{escape(shown)}</text>" if w > 60 else "")
        parts.append(
            f'<g class="attempt {escape(shown)}" data-step={quoteattr(bar.step_id)} '
            f'data-attempt="{bar.attempt}"><title>{escape(chr(10).join(tip))}</title>'
            f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{BAR_H}" rx="3" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.2"/>{struck}{inside}</g>')
    parts.append("</svg>")
    return "".join(parts)
