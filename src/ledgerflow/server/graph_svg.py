"""A workflow's graph as SVG (pure: no request, no database): steps left to right in layers
by their longest chain of ``needs``, ordered within a layer by their parents' places (fewer
crossings), each box coloured by its status, with a tooltip naming its type, agent,
condition and status; edges as curves from a step to the ones that need it.

The same picture serves a definition (every step ``pending``) and an execution (live
statuses); the dashboard shows it too. Each step is one ``<g id="step-ID" class="step
STATUS">`` (its second line of text ``class="status"``), so a live page moves a step on by
changing that class and that text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

BOX_W, BOX_H = 168, 46
GAP_X, GAP_Y, MARGIN = 72, 22, 16
FILL = {  # status -> (fill, stroke, text)
    "pending": ("#ffffff", "#9aa5b1", "#1f2933"),
    "running": ("#dbeafe", "#2563eb", "#1e3a8a"),
    "waiting": ("#fef3c7", "#d97706", "#78350f"),
    "completed": ("#dcfce7", "#16a34a", "#14532d"),
    "failed": ("#fee2e2", "#dc2626", "#7f1d1d"),
    "interrupted": ("#ffedd5", "#ea580c", "#7c2d12"),
    "cancelled": ("#e5e7eb", "#4b5563", "#374151"),
    "skipped": ("#f3f4f6", "#c0c6cd", "#6b7280"),
}


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    needs: tuple[str, ...]
    type: str = "task"
    agent: str | None = None
    when: str | None = None
    status: str = "pending"


def nodes_of(spec: Any, statuses: Mapping[str, str] | None = None) -> list[Node]:
    """The steps of a stored definition's spec, with their statuses (default: pending)."""
    steps = spec.get("steps", []) if isinstance(spec, dict) else []
    found = []
    for step in steps:
        if not isinstance(step, dict) or not isinstance(step.get("id"), str):
            continue
        needs = step.get("needs", [])
        when = step.get("when")
        agent = step.get("agent")
        found.append(Node(id=step["id"], needs=tuple(n for n in needs if isinstance(n, str)),
                          type=str(step.get("type", "task")),
                          agent=agent if isinstance(agent, str) else None,
                          when=when if isinstance(when, str) else None,
                          status=(statuses or {}).get(step["id"], "pending")))
    return found


def layers(nodes: Sequence[Node]) -> list[list[str]]:
    """Each step's layer is one more than its deepest need's; within a layer, steps follow
    the mean place of their needs in the layer before (definition order breaks ties)."""
    order = {n.id: i for i, n in enumerate(nodes)}
    needs = {n.id: [p for p in n.needs if p in order] for n in nodes}
    depth: dict[str, int] = {}

    def depth_of(step: str, seen: frozenset[str] = frozenset()) -> int:
        if step not in depth:
            parents = [p for p in needs[step] if p not in seen]  # a cycle never recurses
            depth[step] = 1 + max((depth_of(p, seen | {step}) for p in parents), default=-1)
        return depth[step]

    grouped: list[list[str]] = []
    for n in nodes:
        at = depth_of(n.id)
        while len(grouped) <= at:
            grouped.append([])
        grouped[at].append(n.id)
    place: dict[str, float] = {}
    for layer in grouped:
        layer.sort(key=lambda s: (sum(place.get(p, order[p]) for p in needs[s]) / len(needs[s])
                                  if needs[s] else order[s], order[s]))
        place.update({s: float(i) for i, s in enumerate(layer)})
    return grouped


def _label(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def render(nodes: Sequence[Node], title: str) -> str:
    """The SVG document of ``nodes`` (``title``: what it shows, for readers and tools)."""
    by_id: Mapping[str, Node] = {n.id: n for n in nodes}
    grouped = layers(nodes)
    tallest = max((len(layer) for layer in grouped), default=0)
    width: float = MARGIN * 2 + len(grouped) * BOX_W + max(len(grouped) - 1, 0) * GAP_X
    height: float = MARGIN * 2 + tallest * BOX_H + max(tallest - 1, 0) * GAP_Y
    at: dict[str, tuple[float, float]] = {}
    for column, layer in enumerate(grouped):
        top = MARGIN + (height - 2 * MARGIN - (len(layer) * BOX_H + (len(layer) - 1) * GAP_Y)) / 2
        for row, step in enumerate(layer):
            at[step] = (MARGIN + column * (BOX_W + GAP_X), top + row * (BOX_H + GAP_Y))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)} '
             'font-family="system-ui, sans-serif" font-size="12">',
             f"<title>{escape(title)}</title>",
             '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" '
             'markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#9aa5b1"/>'
             "</marker></defs>"]
    for n in nodes:
        for parent in n.needs:
            if parent not in at:
                continue
            (px, py), (cx, cy) = at[parent], at[n.id]
            x1, y1, x2, y2 = px + BOX_W, py + BOX_H / 2, cx, cy + BOX_H / 2
            bend = (x2 - x1) / 2
            parts.append(f'<path class="edge" d="M{x1:g},{y1:g} C{x1 + bend:g},{y1:g} '
                         f'{x2 - bend:g},{y2:g} {x2:g},{y2:g}" fill="none" stroke="#9aa5b1" '
                         'stroke-width="1.5" marker-end="url(#arrow)"/>')
    for step, (x, y) in at.items():
        n = by_id[step]
        fill, stroke, ink = FILL.get(n.status, FILL["pending"])
        tip = [f"{n.id} ({n.type})", f"status: {n.status}"]
        if n.agent:
            tip.append(f"agent: {n.agent}")
        if n.when:
            tip.append(f"when: {n.when}")
        dash = ' stroke-dasharray="4 3"' if n.status == "skipped" else ""
        parts.append(
            f'<g id={quoteattr("step-" + n.id)} class={quoteattr("step " + n.status)} '
            f'data-step={quoteattr(n.id)} data-status={quoteattr(n.status)}>'
            f"<title>{escape(chr(10).join(tip))}</title>"
            f'<rect x="{x:g}" y="{y:g}" width="{BOX_W}" height="{BOX_H}" rx="6" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>'
            f'<text x="{x + 10:g}" y="{y + 19:g}" fill="{ink}" font-weight="600">'
            f"{escape(_label(n.id))}</text>"
            f'<text class="status" x="{x + 10:g}" y="{y + 35:g}" fill="{ink}" font-size="11">'
            f"{escape(_label(n.status + (' · ' + n.agent if n.agent else '')))}</text></g>")
    parts.append("</svg>")
    return "".join(parts)
