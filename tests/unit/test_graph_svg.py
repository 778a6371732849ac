"""The graph picture (pure): layers by the longest chain of needs, parents' order within a
layer, one box per step coloured by status with its tooltip, one curve per need, text
escaped, a cycle or an unknown need drawn rather than crashing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ledgerflow.server.graph_svg import (
    FILL,
    Node,
    groups,
    layers,
    nodes_of,
    render,
    render_collapsed,
    render_for_page,
)

SVG = "{http://www.w3.org/2000/svg}"


def test_layers_follow_the_longest_chain_and_the_parents_order() -> None:
    nodes = [Node("a", ()), Node("b", ("a",)), Node("c", ("a",)), Node("z", ()),
             Node("d", ("b", "c")), Node("late", ("z",)), Node("e", ("d", "a"))]
    assert layers(nodes) == [["a", "z"], ["b", "c", "late"], ["d"], ["e"]]


def test_a_cycle_or_an_unknown_need_is_drawn_not_a_crash() -> None:
    assert layers([Node("a", ("b",)), Node("b", ("a",)), Node("c", ("nowhere",))])
    assert ET.fromstring(render([Node("a", ("a",))], "self"))


def test_each_step_is_a_box_coloured_by_its_status_with_its_edges() -> None:
    spec = {"steps": [{"id": "fetch", "agent": "crm.lookup"},
                      {"id": "score", "agent": "risk.score", "needs": ["fetch"],
                       "when": 'input.kind == "<corp>"'},
                      {"id": "notify", "needs": ["fetch", "score"], "type": "wait",
                       "signal": "ok"}]}
    svg = render(nodes_of(spec, {"fetch": "completed", "score": "skipped"}), "flow & co")
    root = ET.fromstring(svg)  # well-formed: the condition's < and & are escaped
    steps = {g.get("data-step"): g for g in root.iter(f"{SVG}g")}
    assert set(steps) == {"fetch", "score", "notify"}
    assert steps["fetch"].get("data-status") == "completed"
    # a live page changes one class: the box's id and its status class
    assert steps["fetch"].get("id") == "step-fetch"
    assert steps["fetch"].get("class") == "step completed"
    assert steps["fetch"].find(f"{SVG}rect").get("fill") == FILL["completed"][0]
    assert steps["score"].find(f"{SVG}rect").get("stroke-dasharray")  # skipped: dashed
    assert 'when: input.kind == "<corp>"' in steps["score"].find(f"{SVG}title").text
    assert steps["notify"].get("data-status") == "pending"
    assert len([p for p in root.iter(f"{SVG}path") if p.get("class") == "edge"]) == 3
    assert root.find(f"{SVG}title").text == "flow & co"


def big(branches: int, length: int) -> list[Node]:
    """``fetch`` → ``branches`` chains of ``length`` steps → ``merge``."""
    nodes = [Node("fetch", (), status="completed")]
    for b in range(branches):
        nodes += [Node(f"b{b}-{i}", (f"b{b}-{i - 1}" if i else "fetch",),
                       status="completed" if b == 0 or (b == 1 and i < 3) else "pending")
                  for i in range(length)]
    nodes.append(Node("merge", tuple(f"b{b}-{length - 1}" for b in range(branches))))
    return nodes


def boxes_of(svg: str) -> dict[str, ET.Element]:
    return {g.get("id") or "": g for g in ET.fromstring(svg).iter(f"{SVG}g")}


def test_a_chain_is_one_box_counting_its_steps_by_status() -> None:
    nodes = big(3, 10)
    found = groups(nodes)
    assert [len(members) for members in found.values()] == [1, 10, 10, 10, 1]
    assert [m.id for m in found["b1-0"]] == [f"b1-{i}" for i in range(10)]
    svg = render_collapsed(nodes, "big", show_all="?graph=all")
    boxes = boxes_of(svg)
    assert set(boxes) == {"step-fetch", "group-b0-0", "group-b1-0", "group-b2-0", "step-merge"}
    assert boxes["group-b0-0"].get("class") == "group completed"
    assert boxes["group-b1-0"].get("data-steps") == "10"
    assert boxes["group-b1-0"].get("data-status") == "pending"  # not done: not green
    said = "".join(boxes["group-b1-0"].itertext())
    assert "b1-0 … b1-9" in said and "3 completed, 7 pending" in said
    # a single step keeps its own box (a live page moves it on) and its edges
    assert boxes["step-fetch"].get("class") == "step completed"
    edges = list(ET.fromstring(svg).iter(f"{SVG}path"))
    assert len(edges) == 1 + 6  # the arrow marker, fetch → 3 chains → merge


def test_a_wide_layer_keeps_its_first_boxes_and_joins_the_rest() -> None:
    nodes = [Node("root", ())] + [Node(f"leaf{i}", ("root",)) for i in range(100)]
    found = groups(nodes, per_layer=10)
    assert len(found) == 1 + 10
    assert [m.id for m in found["leaf9"]] == [f"leaf{i}" for i in range(9, 100)]
    boxes = boxes_of(render_collapsed(nodes, "wide", per_layer=10))
    assert "leaf9 and 90 more" in "".join(boxes["group-leaf9"].itertext())
    assert boxes["step-leaf0"].get("class") == "step pending"


def test_a_page_shows_the_collapsed_view_above_the_limit_with_a_link_to_every_step() -> None:
    small, large = big(2, 5), big(20, 50)
    assert render_for_page(small, "s") == render(small, "s")
    collapsed = render_for_page(large, "l")
    root = ET.fromstring(collapsed)
    assert len(boxes_of(collapsed)) == 22
    link = next(root.iter(f"{SVG}a"))
    assert link.get("href") == "?graph=all" and "Show all steps" in "".join(link.itertext())
    assert "1,002 steps in 22 boxes" in "".join(root.itertext())
    assert len(collapsed) * 20 < len(render(large, "l"))
    assert render_for_page(large, "l", show_all=True) == render(large, "l")
    assert render_for_page(small, "s", limit=5) != render(small, "s")


def test_a_cycle_in_a_collapsed_view_is_drawn_not_a_crash() -> None:
    nodes = [Node("a", ("c",)), Node("b", ("a",)), Node("c", ("b",)), Node("d", ("nowhere",))]
    assert ET.fromstring(render_collapsed(nodes, "loop"))
