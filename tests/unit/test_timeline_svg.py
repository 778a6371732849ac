"""The timeline picture: a row per step in the order steps first started, a bar per attempt
from its start to its end (a running one to now) placed on one time scale, each outcome in
words as well as colour, and well-formed SVG whatever the ids hold."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ledgerflow.server import timeline_svg
from ledgerflow.server.timeline_svg import Bar

NS = {"svg": "http://www.w3.org/2000/svg"}
T0 = "2026-12-05T10:00:00.000000Z"


def at(seconds: float) -> str:
    whole, frac = divmod(seconds, 1)
    minutes, secs = divmod(int(whole), 60)
    return f"2026-12-05T10:{minutes:02d}:{secs:02d}.{round(frac * 1e6):06d}Z"


def bars_of(svg: str) -> dict[tuple[str, str], ET.Element]:
    root = ET.fromstring(svg)
    return {(g.get("data-step", ""), g.get("data-attempt", "")): g
            for g in root.iterfind(".//svg:g", NS)}


def rect(g: ET.Element) -> tuple[float, float, float]:
    r = g.find("svg:rect", NS)
    assert r is not None
    return float(r.get("x", 0)), float(r.get("y", 0)), float(r.get("width", 0))


def test_bars_sit_on_one_scale_in_rows_by_first_start() -> None:
    bars = [Bar("b", 1, "t.x", at(2), at(4), "failed"),
            Bar("a", 1, "t.x", at(0), at(2), "completed"),
            Bar("b", 2, "t.x", at(5), at(10), "completed")]
    drawn = bars_of(timeline_svg.render(bars, at(10), "run"))
    (ax, ay, aw), (b1x, b1y, b1w), (b2x, b2y, b2w) = (
        rect(drawn[("a", "1")]), rect(drawn[("b", "1")]), rect(drawn[("b", "2")]))
    assert ay < b1y == b2y  # a started first: its row is above; b's attempts share a row
    assert ax < b1x < b2x
    assert abs(aw - b1w) < 0.01  # both took 2 s
    assert abs(b2w - 2.5 * aw) < 0.01  # 5 s against 2 s
    assert abs((b2x + b2w) - (ax + timeline_svg.BAR_AREA)) < 0.01  # the last end: the right edge


def test_outcomes_are_told_in_words_and_a_failure_is_struck_through() -> None:
    bars = [Bar("a", 1, None, at(0), at(30), "failed"),
            Bar("a", 2, "t.x", at(30), None, None)]
    svg = timeline_svg.render(bars, at(60), "run")
    drawn = bars_of(svg)
    failed, running = drawn[("a", "1")], drawn[("a", "2")]
    assert failed.get("class") == "attempt failed"
    assert failed.find("svg:line", NS) is not None
    assert running.get("class") == "attempt running"
    assert "took: 30.0 s so far" in (running.findtext("svg:title", "", NS))
    assert "failed" in "".join(failed.itertext()) and "running" in "".join(running.itertext())
    assert rect(running)[2] > 0  # it reaches now


def test_an_instant_attempt_stays_visible_and_odd_ids_are_escaped() -> None:
    odd = 'x"<&>'
    bars = [Bar(odd, 1, "a&b", T0, T0, "completed"), Bar("z", 1, None, T0, at(1), "completed")]
    svg = timeline_svg.render(bars, at(1), "<run>")
    drawn = bars_of(svg)  # parses: everything escaped
    assert rect(drawn[(odd, "1")])[2] >= timeline_svg.MIN_BAR
    assert re.search(r"<title>&lt;run&gt;</title>", svg)


def test_nothing_started_says_so() -> None:
    svg = timeline_svg.render([], T0, "run")
    ET.fromstring(svg)
    assert "no step has started yet" in svg
