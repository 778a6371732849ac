"""The catalog pages as a person uses them, in Chromium: start an execution from a
definition's generated form (after a refused try) and land on its page; make a token, see
its secret once, revoke it; agents with an open breaker reset by an admin; workers. Each page
is saved as a screenshot, at desktop and phone width."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, Site
from tests.browser.test_dashboard import set_hidden
from tests.support import Agents, Background, wait_for

FORM: dict[str, Any] = {"name": "greet", "input_schema": {
    "type": "object", "required": ["who", "times"],
    "properties": {"who": {"type": "string", "description": "whom to greet"},
                   "times": {"type": "integer", "minimum": 1},
                   "loud": {"type": "boolean"},
                   "tone": {"enum": ["warm", "dry"]},
                   "extra": {"type": "object"}}},
    "steps": [{"id": "say", "agent": "t.echo"},
              {"id": "then", "agent": "t.echo", "needs": ["say"]}]}
GATED = {"name": "gated", "steps": [{"id": "held", "agent": "t.gate"}]}
BOOM = {"name": "boom", "steps": [{"id": "a", "agent": "t.fail"}]}


def test_start_an_execution_from_the_generated_form(site: Site) -> None:
    site.engine.apply(FORM)
    page = site.signed_in("operator")
    page.get_by_role("link", name="Definitions").click()
    expect(page).to_have_url(site.url("/ui/definitions"))
    site.shot(page, "definitions")
    page.get_by_role("link", name="greet").click()
    expect(page.get_by_role("heading", name=re.compile("greet"))).to_be_visible()
    site.shot(page, "definition")
    # refused first: "who" missing and "times" below its minimum, each named
    page.get_by_label("times").fill("0")
    page.get_by_label("tone").select_option(label="dry")
    page.get_by_role("button", name=re.compile("^Start greet")).click()
    problems = page.locator("#start-problems")
    expect(problems).to_contain_text("who")
    expect(problems).to_contain_text("times")
    expect(problems).to_contain_text("2 problems")
    expect(page.get_by_label("times")).to_have_value("0")  # what was typed is kept
    expect(page.get_by_label("tone")).to_have_value('"dry"')
    site.shot(page, "definition-refused")
    page.get_by_label("who").fill("Ada")
    page.get_by_label("times").fill("2")
    page.get_by_label("loud").select_option("true")
    page.get_by_label(re.compile("Other input members")).fill('{"extra": {"k": 1}}')
    page.get_by_role("button", name=re.compile("^Start greet")).click()
    expect(page).to_have_url(re.compile(r"/ui/executions/[^/]+$"))
    eid = page.url.rsplit("/", 1)[1]
    assert site.engine.execution(eid).input == {
        "who": "Ada", "times": 2, "loud": True, "tone": "dry", "extra": {"k": 1}}
    with Background(site.engine):
        expect(page.locator("#status")).to_have_text("completed")
    phone = site.signed_in("operator", viewport=PHONE)
    phone.goto(site.url("/ui/definitions/greet"))
    site.shot(phone, "definition-phone")
    phone.goto(site.url("/ui/definitions"))
    site.shot(phone, "definitions-phone")


def test_make_a_token_see_its_secret_once_and_revoke_it(site: Site) -> None:
    page = site.signed_in("admin")
    page.get_by_role("link", name="Tokens").click()
    expect(page).to_have_url(site.url("/ui/settings/tokens"))
    page.get_by_label("Name").fill("deploy bot")
    page.get_by_label("Role").select_option("operator")
    page.get_by_label("Expires in (days)").fill("30")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#secret")
    expect(secret).to_have_text(re.compile(r"^lf_api_\w+$"))
    expect(page.locator("#new-token")).to_contain_text("shown this once")
    made = site.engine.access.authenticate(secret.inner_text())
    assert made.role == "operator"
    site.shot(page, "tokens-created")
    page.goto(site.url("/ui/settings/tokens"))  # again: the secret is gone
    expect(page.locator("#secret")).to_have_count(0)
    row = page.locator(f"#token-{made.token_id}")
    expect(row).to_contain_text("deploy bot")
    expect(row).to_contain_text("active")
    row.get_by_text("Revoke…").click()  # a second, explicit step confirms
    site.shot(page, "tokens-confirm")
    row.get_by_role("button", name="Revoke deploy bot").click()
    expect(page.locator("#revoked")).to_contain_text("deploy bot")
    expect(page.locator(f"#token-{made.token_id}")).to_contain_text("revoked")
    assert next(t for t in site.engine.access.tokens("default")
                if t.id == made.token_id).revoked_at is not None
    phone = site.signed_in("admin", viewport=PHONE)
    phone.goto(site.url("/ui/settings/tokens"))
    site.shot(phone, "tokens-phone")


def _open_a_breaker(site: Site) -> None:
    """Runs of a failing agent until its breaker opens."""
    site.engine.apply(BOOM)
    for _ in range(10):
        site.engine.start("boom", {})
        site.engine.run_until_idle()
        if any(a.breaker == "open" for a in site.engine.agents()):
            break


def test_agents_with_an_open_breaker_reset_by_an_admin_and_workers(
        site: Site, agents: Agents) -> None:
    _open_a_breaker(site)
    page = site.signed_in("admin")
    page.get_by_role("link", name="Agents").click()
    expect(page.get_by_text("open: not used").first).to_be_visible()
    site.shot(page, "agents-open")
    page.get_by_text("Reset…").first.click()
    page.get_by_label("Reason").first.fill("upstream fixed")
    page.get_by_role("button", name=re.compile("^Reset breaker of")).first.click()
    expect(page.locator("#agents-banner")).to_contain_text("open → closed")
    expect(page.get_by_text("upstream fixed")).to_have_count(1)
    site.shot(page, "agents-reset")
    site.engine.apply(GATED)
    with Background(site.engine):
        try:
            eid = site.engine.start("gated", {})
            wait_for(lambda: any(w.steps for w in site.engine.workers()),
                     what="the gated step runs")
            page.get_by_role("link", name="Workers").click()
            expect(page.locator(".worker .badge").first).to_have_text("alive")
            expect(page.locator(".worker table")).to_contain_text(eid)  # its running step
            expect(page.locator(".worker")).to_contain_text("1 of 4 busy")
            site.shot(page, "workers")
        finally:
            agents.gate.opened.set()
    phone = site.signed_in("viewer", viewport=PHONE)
    phone.goto(site.url("/ui/agents"))
    expect(phone.get_by_text("Reset…")).to_have_count(0)
    site.shot(phone, "agents-phone")
    phone.goto(site.url("/ui/workers"))
    site.shot(phone, "workers-phone")


def test_agents_and_workers_pages_show_changes_without_reload(site: Site) -> None:
    _open_a_breaker(site)
    page = site.signed_in("viewer")
    reads: list[str] = []  # no page reads its table again: the stream sends it
    page.on("request", lambda r: reads.append(r.url) if r.url.endswith("/live") else None)
    page.goto(site.url("/ui/agents"))
    expect(page.get_by_text("open: not used").first).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-live-tables", "open")
    streams = site.api.state.streams
    wait_for(lambda: streams.open() == 1, what="the agents page's stream")
    set_hidden(page, True)
    wait_for(lambda: streams.open() == 0, what="the hidden tab's stream closes")
    set_hidden(page, False)
    wait_for(lambda: streams.open() == 1, what="its stream again")
    expect(page.locator("#agents-live .clock")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    page.evaluate("window.sameDocument = true")  # gone if the page were loaded again
    agent = next(a.agent for a in site.engine.agents() if a.breaker == "open")
    site.engine.reset_breaker(agent, reason="closed behind the page's back")
    expect(page.get_by_text("closed behind the page's back")).to_be_visible()
    expect(page.locator("#agents-live table.agents")).to_contain_text("closed: in use")
    # its times in local time again, as on the first load (UTC stays in the title)
    expect(page.locator("#agents-live table.moves time").first).not_to_contain_text("UTC")
    assert page.evaluate("window.sameDocument") is True
    site.shot(page, "agents-live")
    page.get_by_role("link", name="Workers").click()
    expect(page.get_by_text("No worker is alive")).to_be_visible()
    page.evaluate("window.sameDocument = true")
    with Background(site.engine):
        expect(page.locator(".worker .badge").first).to_have_text("alive")
    assert page.evaluate("window.sameDocument") is True
    site.shot(page, "workers-live")
    assert reads == []


def test_the_overview_says_the_last_verification(site: Site) -> None:
    site.engine.apply(FORM)
    eid = site.engine.start("greet", {"who": "Ada", "times": 1})
    site.engine.run_until_idle()
    page = site.signed_in("viewer")
    expect(page.locator("#last-verify")).to_contain_text("No verification recorded yet")
    answer = page.request.post(site.url("/api/v1/verify"), headers={
        "Authorization": f"Bearer {site.token('operator')}"})
    assert answer.ok and answer.json()["verified"] == 1
    page.reload()
    result = page.locator("#last-verify-result")
    expect(result).to_contain_text("Verified 1 execution")
    expect(result).to_contain_text("all intact")
    expect(result.locator("time")).not_to_contain_text("UTC")  # local time, UTC on hover
    site.shot(page, "overview-verified")
    assert site.engine.execution(eid).status == "completed"


def test_a_big_graph_shows_its_collapsed_view_first_and_every_step_on_demand(
        site: Site) -> None:
    steps: list[dict[str, Any]] = [{"id": "start", "agent": "t.echo"}]
    for b in range(12):
        steps += [{"id": f"b{b}-{i}", "agent": "t.echo",
                   "needs": [f"b{b}-{i - 1}" if i else "start"]} for i in range(45)]
    site.engine.apply({"name": "big", "steps": steps})
    page = site.signed_in("viewer")
    page.goto(site.url("/ui/definitions/big"))
    expect(page.get_by_text(re.compile("Collapsed view: 541 steps"))).to_be_visible()
    expect(page.locator("#group-b3-0")).to_contain_text("45 steps: 45 pending")
    page.locator(".graph svg").screenshot(  # the graph: the page is long (its YAML)
        path=str(site.screenshots / "definition-big-collapsed.png"))
    page.get_by_text("Show all steps").click()
    expect(page).to_have_url(site.url("/ui/definitions/big?version=1&graph=all"))
    expect(page.locator("#step-b3-44")).to_have_count(1)
    expect(page.get_by_text(re.compile("Collapsed view"))).to_have_count(0)
    eid = site.engine.start("big", {}, execution_id="big-1")  # its run: counted live
    page.goto(site.url(f"/ui/executions/{eid}"))
    expect(page.locator("#execution")).to_have_attribute("data-stream", "open")
    expect(page.locator("#group-b3-0")).to_contain_text("45 steps: 45 pending")
    page.evaluate("window.loadedOnce = true")
    with Background(site.engine):
        expect(page.locator("#status")).to_have_text("completed")
        expect(page.locator("#group-b3-0")).to_contain_text("45 steps: 45 completed")
    assert page.evaluate("window.loadedOnce") is True


def test_the_overview_counts_move_without_reload(site: Site) -> None:
    site.engine.apply(GATED)
    page = site.signed_in("viewer")
    expect(page.locator("#count-pending .count")).to_have_text("0")
    page.evaluate("window.sameDocument = true")
    site.engine.start("gated", {})
    site.engine.start("gated", {})
    expect(page.locator("#count-pending .count")).to_have_text("2")
    assert page.evaluate("window.sameDocument") is True
    site.shot(page, "overview-live")


def test_the_agents_table_is_read_every_10_s_once_its_stream_failed_three_times(
        site: Site) -> None:
    _open_a_breaker(site)
    page = site.signed_in("viewer")
    page.route("**/ui/agents/stream", lambda route: route.abort())  # it cannot connect
    page.goto(site.url("/ui/agents"))
    expect(page.locator("html")).to_have_attribute("data-live-tables", "polling")
    expect(page.locator("#live-tables-state")).to_have_text(
        "Live updates are unavailable: this table is read again every 10 s.")
    agent = next(a.agent for a in site.engine.agents() if a.breaker == "open")
    site.engine.reset_breaker(agent, reason="while the stream was down")
    expect(page.get_by_text("while the stream was down")).to_be_visible()  # within 10 s
