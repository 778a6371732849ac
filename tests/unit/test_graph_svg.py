"""The graph picture (pure): layers by the longest chain of needs, parents' order within a
layer, one box per step coloured by status with its tooltip, one curve per need, text
escaped, a cycle or an unknown need drawn rather than crashing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ledgerflow.server.graph_svg import FILL, Node, layers, nodes_of, render

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
