"""What an execution's page reads a page at a time or on demand, over HTTP on each backend:
the Ledger tab's newest entries first and the earlier ones by pages (every entry once), the
Steps tab's steps by pages, and one step's details (each attempt with its agent, input,
output or error, its routing candidates with their scores, its logs)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledgerflow.dashboard import step_pages
from tests.server.conftest import Served
from tests.server.test_dashboard import signed_in
from tests.support import until_idle

CHAIN: dict[str, Any] = {"name": "chain", "steps": [
    {"id": f"s{i}", "agent": "t.echo", **({"needs": [f"s{i - 1}"]} if i else {})}
    for i in range(5)]}
SEQS = re.compile(r'<tr data-seq="(\d+)">')


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 4 entries and 2 steps, so a short run needs several."""
    monkeypatch.setattr(step_pages, "LEDGER_PAGE", 4)
    monkeypatch.setattr(step_pages, "STEPS_PAGE", 2)


def test_the_ledger_tab_shows_the_newest_entries_and_reads_earlier_ones_by_pages(
        served: Served, small_pages: None) -> None:
    served.engine.apply(CHAIN)
    eid = served.engine.start("chain", {})
    until_idle(served.engine)
    head = served.engine.execution(eid).head_seq
    assert head > 9
    signed_in(served, "viewer")
    first = served.client.get(f"/ui/executions/{eid}").text
    shown = [int(s) for s in SEQS.findall(first)]
    assert shown == list(range(head - 3, head + 1))  # the newest page
    assert f"Show 4 earlier entries</button> <span class=\"muted\">({head - 4} before " \
           f"entry {head - 3})" in first
    before = head - 3
    while before > 1:
        r = served.client.get(f"/ui/executions/{eid}/ledger", params={"before": before})
        assert r.status_code == 200 and "<html" not in r.text
        page = [int(s) for s in SEQS.findall(r.text)]
        assert page == list(range(max(before - 4, 1), before))
        assert ('id="ledger-earlier"' in r.text) == (page[0] > 1)
        shown = page + shown
        before = page[0]
    assert shown == list(range(1, head + 1))  # every entry once, in order
    hashes = {h.seq: h.entry_hash for h in served.engine.history(eid)}
    assert f'title="{hashes[1]}"' in r.text  # with its hash
    assert served.client.get(f"/ui/executions/{eid}/ledger",
                             params={"before": 1}).status_code == 422


def test_the_steps_tab_shows_steps_by_pages(served: Served, small_pages: None) -> None:
    served.engine.apply(CHAIN)
    eid = served.engine.start("chain", {})
    signed_in(served, "viewer")
    first = served.client.get(f"/ui/executions/{eid}").text
    assert re.findall(r'<tr id="steprow-(\w+)">', first) == ["s0", "s1"]
    assert "Show 2 more steps" in first and "(2 of 5 shown)" in first
    more = served.client.get(f"/ui/executions/{eid}/steps", params={"shown": 4}).text
    assert re.findall(r'<tr id="steprow-(\w+)">', more) == ["s0", "s1", "s2", "s3"]
    assert "Show 1 more steps" in more
    every = served.client.get(f"/ui/executions/{eid}/steps", params={"shown": 6}).text
    assert len(re.findall(r'<tr id="steprow-', every)) == 5 and "more steps" not in every


FLAKY: dict[str, Any] = {"name": "flaky", "steps": [
    {"id": "try", "agent": "t.flaky", "input": {"who": "${input.who}"},
     "retry": {"max_attempts": 2, "initial": "0s"}}]}


def test_a_steps_details_show_each_attempt_its_routing_and_logs(served: Served) -> None:
    @served.engine.agent("t.flaky", name="backup")
    def backup(ctx: Any, data: Any) -> Any:
        raise RuntimeError("the backup is down")

    served.engine.apply(FLAKY)
    eid = served.engine.start("flaky", {"who": "ada <&>"})
    until_idle(served.engine)
    assert served.engine.status(eid).status in ("completed", "failed")
    signed_in(served, "viewer")
    r = served.client.get(f"/ui/executions/{eid}/steps/try")
    assert r.status_code == 200 and "<html" not in r.text
    text = r.text
    decisions = [d for d in served.engine.routing(eid) if d.step_id == "try"]
    assert len(decisions) == 2
    assert text.count("Attempt ") == 2 and "Attempt 1 on" in text and "Attempt 2 on" in text
    for d in decisions:  # every candidate of every decision, the chosen one marked
        assert html.escape(d.reason) in text
        names = {c["agent"] for c in d.candidates}
        assert all(f'<td class="mono">{html.escape(n)}' in text for n in names)
    assert len(decisions[0].candidates) == 2  # both agents of the capability were scored
    assert text.count("chosen</span>") == 2
    assert "&#34;who&#34;: &#34;ada &lt;&amp;&gt;&#34;" in text  # its input, escaped
    assert "step.retry_scheduled (another attempt follows)" in text  # how attempt 1 ended
    assert text.count('<span class="badge s-failed">failed</span>') == 1
    assert "step.completed" in text
    logs = [x for x in served.engine.logs(eid) if x.step_id == "try"]
    assert logs and all(html.escape(x.message) in text for x in logs)
    missing = served.client.get(f"/ui/executions/{eid}/steps/nope",
                                headers={"HX-Request": "true"})
    assert missing.status_code == 404 and "has no step &#39;nope&#39;" in missing.text


def test_a_steps_details_are_another_tenants_not_found(served: Served) -> None:
    served.engine.apply(CHAIN)
    eid = served.engine.start("chain", {})
    with TestClient(served.client.app) as c:
        c.cookies.set("ledgerflow_session", served.token("viewer", "acme"))
        for path in (f"/ui/executions/{eid}/steps/s0", f"/ui/executions/{eid}/steps",
                     f"/ui/executions/{eid}/ledger?before=3"):
            r = c.get(path)
            assert r.status_code == 404 and "belongs to another tenant" in r.text, path
