"""A workflow's graph as SVG (pure: no request, no database): steps left to right in layers
by their longest chain of ``needs``, ordered within a layer by their parents' places (fewer
crossings), each box coloured by its status, with a tooltip naming its type, agent,
condition and status; edges as curves from a step to the ones that need it.

The same picture serves a definition (every step ``pending``) and an execution (live
statuses); the dashboard shows it too. Each step is one ``<g id="step-ID" class="step
STATUS">`` (its second line of text ``class="status"``), so a live page moves a step on by
changing that class and that text."""

from __future__ import annotations

import dataclasses
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


@dataclass(frozen=True, slots=True)
class _Box:
    """One drawn box: a step, or (collapsed view) several steps summarised."""

    key: str
    needs: tuple[str, ...]
    status: str
    head: str  # its attributes: id, class and data
    tip: list[str]
    lines: tuple[str, str]
    dashed: bool = False


def _step_box(n: Node) -> _Box:
    tip = [f"{n.id} ({n.type})", f"status: {n.status}"]
    if n.agent:
        tip.append(f"agent: {n.agent}")
    if n.when:
        tip.append(f"when: {n.when}")
    return _Box(key=n.id, needs=n.needs, status=n.status,
                head=(f'id={quoteattr("step-" + n.id)} class={quoteattr("step " + n.status)} '
                      f'data-step={quoteattr(n.id)} data-status={quoteattr(n.status)}'),
                tip=tip, lines=(_label(n.id), _label(n.status + (" · " + n.agent
                                                                 if n.agent else ""))),
                dashed=n.status == "skipped")


def render(nodes: Sequence[Node], title: str) -> str:
    """The SVG document of ``nodes`` (``title``: what it shows, for readers and tools)."""
    return _draw([_step_box(n) for n in nodes], title)


def _draw(boxes: Sequence[_Box], title: str, note: str = "") -> str:
    """The SVG of ``boxes`` laid out in layers; ``note``: a line of SVG above them."""
    by_key: Mapping[str, _Box] = {b.key: b for b in boxes}
    grouped = layers([Node(b.key, b.needs) for b in boxes])
    top_gap = 28 if note else 0
    tallest = max((len(layer) for layer in grouped), default=0)
    width: float = MARGIN * 2 + len(grouped) * BOX_W + max(len(grouped) - 1, 0) * GAP_X
    height: float = MARGIN * 2 + tallest * BOX_H + max(tallest - 1, 0) * GAP_Y
    at: dict[str, tuple[float, float]] = {}
    for column, layer in enumerate(grouped):
        top = MARGIN + (height - 2 * MARGIN - (len(layer) * BOX_H + (len(layer) - 1) * GAP_Y)) / 2
        for row, step in enumerate(layer):
            at[step] = (MARGIN + column * (BOX_W + GAP_X), top_gap + top + row * (BOX_H + GAP_Y))
    if note:
        width = max(width, NOTE_W)
    height += top_gap
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)} '
             'font-family="system-ui, sans-serif" font-size="12">',
             f"<title>{escape(title)}</title>",
             '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" '
             'markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#9aa5b1"/>'
             "</marker></defs>", note]
    for b in boxes:
        for parent in b.needs:
            if parent not in at:
                continue
            (px, py), (cx, cy) = at[parent], at[b.key]
            x1, y1, x2, y2 = px + BOX_W, py + BOX_H / 2, cx, cy + BOX_H / 2
            bend = (x2 - x1) / 2
            parts.append(f'<path class="edge" d="M{x1:g},{y1:g} C{x1 + bend:g},{y1:g} '
                         f'{x2 - bend:g},{y2:g} {x2:g},{y2:g}" fill="none" stroke="#9aa5b1" '
                         'stroke-width="1.5" marker-end="url(#arrow)"/>')
    for key, (x, y) in at.items():
        b = by_key[key]
        fill, stroke, ink = FILL.get(b.status, FILL["pending"])
        dash = ' stroke-dasharray="4 3"' if b.dashed else ""
        parts.append(
            f"<g {b.head}>"
            f"<title>{escape(chr(10).join(b.tip))}</title>"
            f'<rect x="{x:g}" y="{y:g}" width="{BOX_W}" height="{BOX_H}" rx="6" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>'
            f'<text x="{x + 10:g}" y="{y + 19:g}" fill="{ink}" font-weight="600">'
            f"{escape(b.lines[0])}</text>"
            f'<text class="status" x="{x + 10:g}" y="{y + 35:g}" fill="{ink}" font-size="11">'
            f"{escape(b.lines[1])}</text></g>")
    parts.append("</svg>")
    return "".join(parts)


# the collapsed view of a big graph --------------------------------------------------------
LIMIT = 500  # above this many steps, a page shows the collapsed view first (FACES.md §5)
PER_LAYER = 24  # boxes shown per layer in the collapsed view; the rest are one "+K more"
# a group's colour: the first of these among its steps (all alike: that status)
TELLING = ("failed", "interrupted", "running", "waiting", "pending", "cancelled", "completed",
           "skipped")
# the order a group's counts are said in: trouble first, then progress
SAID = ("failed", "interrupted", "running", "waiting", "completed", "skipped", "cancelled",
        "pending")
NOTE_W = 720  # the collapsed view is at least this wide, for its note


def groups(nodes: Sequence[Node], per_layer: int = PER_LAYER) -> dict[str, list[Node]]:
    """The collapsed view's boxes, each a list of steps (keyed by the first one's id): a
    chain (each step needing only the one before, which nothing else needs) is one box, and
    a layer of more than ``per_layer`` boxes keeps its first ``per_layer - 1`` and joins the
    rest into one."""
    by_id = {n.id: n for n in nodes}
    children: dict[str, int] = {}
    for n in nodes:
        for p in set(n.needs):
            if p in by_id:
                children[p] = children.get(p, 0) + 1
    group_of: dict[str, str] = {}

    def head(step: str, seen: frozenset[str] = frozenset()) -> str:
        if step not in group_of:
            known = [p for p in by_id[step].needs if p in by_id]
            single = len(set(known)) == 1 and children.get(known[0]) == 1
            group_of[step] = (head(known[0], seen | {step})
                              if single and known[0] not in seen else step)
        return group_of[step]

    found: dict[str, list[Node]] = {}
    for n in nodes:
        found.setdefault(head(n.id), []).append(n)
    for layer in layers(_group_nodes(found, group_of)):
        if len(layer) > per_layer:
            rest = layer[max(per_layer - 1, 1):]
            merged = [n for key in rest for n in found.pop(key)]
            found[rest[0]] = merged
            group_of.update({n.id: rest[0] for n in merged})
    return found


def _group_nodes(found: Mapping[str, list[Node]], group_of: Mapping[str, str]) -> list[Node]:
    """Each group as one node needing the groups its steps need."""
    made = []
    for key, members in found.items():
        needs = dict.fromkeys(group_of[p] for n in members for p in n.needs if p in group_of)
        needs.pop(key, None)
        made.append(Node(key, tuple(needs)))
    return made


def _group_box(key: str, members: Sequence[Node], needs: tuple[str, ...], chain: bool) -> _Box:
    counts: dict[str, int] = {}
    for n in members:
        counts[n.status] = counts.get(n.status, 0) + 1
    said = ", ".join(f"{counts[s]} {s}" for s in sorted(
        counts, key=lambda s: SAID.index(s) if s in SAID else len(SAID)))
    status = next((s for s in TELLING if s in counts), members[0].status)
    first, last = members[0].id, members[-1].id
    what = f"{first} … {last}" if chain else f"{first} and {len(members) - 1} more"
    tip = [f"{len(members)} steps: " + what, said]
    return _Box(key=key, needs=needs, status=status,
                head=(f'id={quoteattr("group-" + key)} class={quoteattr("group " + status)} '
                      f'data-steps="{len(members)}" data-status={quoteattr(status)}'),
                tip=tip, lines=(_label(what, 24),
                                _label(f"{len(members)} steps: {said}", 27)),
                dashed=status == "skipped")


def render_collapsed(nodes: Sequence[Node], title: str, *, per_layer: int = PER_LAYER,
                     show_all: str | None = None) -> str:
    """The collapsed view of a big graph: chains and the overflow of wide layers as one box
    each, saying how many steps it holds and how many are in each status (a box of one step
    is drawn as ``render`` draws it, so a live page moves it on). ``show_all``: the address
    of the view with every step, linked above the boxes."""
    found = groups(nodes, per_layer)
    group_of = {n.id: key for key, members in found.items() for n in members}
    by_key = {g.id: g for g in _group_nodes(found, group_of)}
    boxes = []
    for key, members in found.items():
        if len(members) == 1:
            boxes.append(dataclasses.replace(_step_box(members[0]), needs=by_key[key].needs))
        else:
            chain = all(group_of.get(p) == key for n in members[1:] for p in n.needs)
            boxes.append(_group_box(key, members, by_key[key].needs, chain))
    said = (f"Collapsed view: {len(nodes):,} steps in {len(boxes)} boxes (chains and the "
            "rest of wide layers are one box each).")
    note = (f'<text class="collapsed-note" x="{MARGIN}" y="{MARGIN + 6}" fill="#1f2933">'
            f"{escape(said)}")
    if show_all is not None:
        note += (f' <a href={quoteattr(show_all)}><tspan fill="#1d4ed8" '
                 'text-decoration="underline">Show all steps</tspan></a>')
    return _draw(boxes, title, note + "</text>")


def render_for_page(nodes: Sequence[Node], title: str, *, limit: int = LIMIT,
                    show_all: bool = False, link: str = "?graph=all") -> str:
    """What a page shows: every step up to ``limit`` steps (or when ``show_all``), above it
    the collapsed view first, with ``link`` to the view with every step."""
    if show_all or len(nodes) <= limit:
        return render(nodes, title)
    return render_collapsed(nodes, title, show_all=link)
