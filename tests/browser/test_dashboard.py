"""The dashboard as a person uses it, in Chromium: sign in, watch an execution move without
reloading, pause it, verify its ledger (and see a tampered row named), act on a stale page,
and what another tenant, a viewer and a visitor without a session get."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, Site, sign_in
from tests.support import Background, diamond, until_idle, wait_for

# a held first step, then one more: a test acts while ``hold`` runs
HELD: dict[str, Any] = {"name": "held", "steps": [
    {"id": "hold", "agent": "t.gate"},
    {"id": "after", "agent": "t.echo", "needs": ["hold"]},
]}


def db_path(site: Site) -> Path:
    return Path(site.engine.db_url.removeprefix("sqlite:///"))


def open_execution(page: Page, site: Site, execution_id: str) -> None:
    page.goto(site.url(f"/ui/executions/{execution_id}"))
    # its stream is open (or has sent everything of an execution that has ended)
    expect(page.locator("#execution")).to_have_attribute("data-stream",
                                                         re.compile("^(open|ended)$"))


def step_box(page: Page, step: str) -> Any:
    return page.locator(f"g#step-{step}")


def test_a_two_branch_execution_moves_on_the_page_without_a_reload(site: Site) -> None:
    site.engine.apply(diamond("t.echo"))
    eid = site.engine.start("diamond", {"mode": "full"}, execution_id="fan-out-1")
    page = site.signed_in("operator")
    site.shot(page, "overview")
    open_execution(page, site, eid)
    expect(page.locator("#status")).to_have_text("pending")
    for step in "abcd":
        expect(step_box(page, step)).to_have_class("step pending")
    page.evaluate("window.loadedOnce = true")  # gone if the page were loaded again
    with Background(site.engine):
        for step in "abcd":  # both branches (b and c) and the join, as they happen
            expect(step_box(page, step)).to_have_class("step completed")
        expect(page.locator("#status")).to_have_text("completed")
    expect(page.locator("#status")).to_have_class("badge s-completed")
    expect(page.locator("#progress-text")).to_have_text("4/4")
    expect(page.locator("#finished time")).to_have_count(1)  # timing filled in live too
    # a completed run can only be rerun from a step
    expect(page.locator("#actions button[data-action]:not([hidden])")).to_have_text(["Rerun"])
    expect(step_box(page, "b").locator("text.status")).to_have_text("completed · t.echo")
    head = site.engine.execution(eid).head_seq
    expect(page.locator("#version")).to_have_text(str(head))
    page.click("#tab-ledger")
    expect(page.locator("#ledger-rows tr")).to_have_count(head)  # every entry, once
    expect(page.locator("#ledger-rows tr").last).to_contain_text("execution.completed")
    assert page.evaluate("window.loadedOnce") is True
    page.click("#tab-steps")
    expect(page.locator("#steprow-c .badge")).to_have_text("completed")
    expect(page.locator("#steprow-c td.attempts")).to_have_text("1")  # read on opening
    expect(page.locator("#steprow-c")).to_contain_text("t.echo")
    site.shot(page, "execution-steps")
    page.get_by_role("button", name="Details of step b").click()  # one step, on demand
    detail = page.locator("#step-detail-b")
    expect(detail.locator("table.candidates caption")).to_contain_text("Routing (t.echo)")
    expect(detail.locator("table.candidates tr.chosen")).to_contain_text("chosen")
    expect(detail).to_contain_text("Input")
    expect(detail).to_contain_text("Output")
    site.shot(page, "execution-step-detail")
    page.click("#tab-state")
    expect(page.locator("#state")).to_contain_text('"a"')  # step a's output, in the state
    site.shot(page, "execution-state")
    page.click("#tab-graph")
    site.shot(page, "execution-completed")
    page.goto(site.url("/ui/executions"))
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    site.shot(page, "executions")
    phone = site.signed_in("operator", viewport=PHONE)
    open_execution(phone, site, eid)
    site.shot(phone, "execution-phone")
    phone.goto(site.url("/ui/executions"))
    site.shot(phone, "executions-phone")


def test_pause_from_the_page_changes_the_badge_and_no_new_step_starts(
        site: Site, agents: Any) -> None:
    site.engine.apply(HELD)
    eid = site.engine.start("held", {}, execution_id="held-1")
    page = site.signed_in("operator")
    with Background(site.engine):
        assert agents.gate.entered.wait(60), "the held step never started"
        open_execution(page, site, eid)
        expect(page.locator("#status")).to_have_text("running")
        expect(page.locator("[data-action=resume]")).to_be_hidden()
        page.fill("#reason", "looking into it")
        page.click("[data-action=pause]")
        expect(page.locator("#status")).to_have_text("paused")
        expect(page.locator("#flash .banner.ok")).to_contain_text("Paused")
        expect(page.locator("[data-action=pause]")).to_be_hidden()
        expect(page.locator("[data-action=resume]")).to_be_visible()
        expect(page.locator("#last-control")).to_contain_text("looking into it")
        agents.gate.opened.set()  # the running step finishes and records...
        expect(step_box(page, "hold")).to_have_class("step completed")
        site.shot(page, "execution-paused")
    assert site.engine.status(eid).status == "paused"  # ...and nothing after it started
    assert agents.calls["after"] == 0
    last = [e for e in site.engine.history(eid) if e.event_type == "execution.paused"][-1]
    assert last.payload["reason"] == "looking into it"
    page.reload()  # as the server renders it
    expect(page.locator("#last-control")).to_contain_text("execution.paused by token:")
    expect(page.locator("#last-control")).to_contain_text("looking into it")


def set_hidden(page: Page, hidden: bool) -> None:
    """What the browser does when the tab goes to the background (or comes back)."""
    page.evaluate("""hidden => {
        Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
        Object.defineProperty(document, "visibilityState",
                              {value: hidden ? "hidden" : "visible", configurable: true});
        document.dispatchEvent(new Event("visibilitychange"));
    }""", hidden)


def test_a_hidden_tab_closes_its_stream_and_resumes_after_the_last_entry(site: Site) -> None:
    site.engine.apply(HELD)
    eid = site.engine.start("held", {}, execution_id="hidden-1")  # no worker: it waits
    page = site.signed_in("operator")
    open_execution(page, site, eid)
    streams = site.api.state.streams
    wait_for(lambda: streams.open() == 1, what="the page's one stream")
    set_hidden(page, True)
    expect(page.locator("#execution")).to_have_attribute("data-stream", "closed")
    wait_for(lambda: streams.open() == 0, what="the hidden tab's stream closes")
    site.engine.pause(eid, "while hidden")  # missed while hidden...
    set_hidden(page, False)
    expect(page.locator("#status")).to_have_text("paused")  # ...and caught up after
    expect(page.locator("#last-control")).to_contain_text("while hidden")
    page.click("#tab-ledger")
    head = site.engine.execution(eid).head_seq
    expect(page.locator("#ledger-rows tr")).to_have_count(head)  # no gap, no duplicate
    assert page.locator("#ledger-rows tr").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.seq))") == list(range(1, head + 1))
    wait_for(lambda: streams.open() == 1, what="one stream again")


def tamper(site: Site, sql: str, params: tuple[Any, ...]) -> None:
    """One statement behind the engine's back (without the append-only trigger), on the
    site's database, SQLite or PostgreSQL (``?`` placeholders)."""
    url = site.engine.db_url
    if url.startswith("sqlite:"):
        with closing(sqlite3.connect(db_path(site), isolation_level=None)) as conn:
            conn.execute("DROP TRIGGER ledger_entries_no_update")
            assert conn.execute(sql, params).rowcount == 1
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER ledger_entries_no_update ON ledger_entries")
        assert conn.execute(sql.replace("?", "%s"), params).rowcount == 1


def test_verify_turns_red_naming_a_tampered_entry(site: Site) -> None:
    site.engine.apply(diamond("t.echo"))
    eid = site.engine.start("diamond", {"mode": "full"}, execution_id="tampered-1")
    until_idle(site.engine)
    page = site.signed_in("viewer")
    open_execution(page, site, eid)
    page.click("#tab-ledger")
    page.click("#verify")
    expect(page.locator("#verify-result")).to_have_class(re.compile(r"\bverify-ok\b"))
    tamper(site, "UPDATE ledger_entries SET payload = ? WHERE execution_id = ? "
           "AND seq = 4", ('{"forged":true}', eid))
    page.reload()  # the tab is kept in the address
    expect(page.locator("#panel-ledger")).to_be_visible()
    page.click("#verify")
    result = page.locator("#verify-result")
    expect(result).to_have_class(re.compile(r"\bverify-bad\b"))
    expect(result).to_contain_text("entry 4")
    expect(result).to_contain_text("payload mismatch")
    expect(page.locator("#ledger-rows tr.bad")).to_have_attribute("data-seq", "4")  # marked
    site.shot(page, "ledger-tampered")


def test_a_second_page_acting_on_what_it_loaded_gets_the_changed_banner(site: Site) -> None:
    site.engine.apply(HELD)
    eid = site.engine.start("held", {}, execution_id="two-tabs-1")  # no worker: it waits
    first = site.signed_in("operator")
    second = site.signed_in("operator")
    # the second page's stream is down (a network failure): it shows what it loaded
    second.route("**/events**", lambda route: route.abort())
    open_execution(first, site, eid)
    second.goto(site.url(f"/ui/executions/{eid}"))
    loaded = second.locator("#version").inner_text()
    first.click("[data-action=pause]")
    expect(first.locator("#status")).to_have_text("paused")
    expect(second.locator("#version")).to_have_text(loaded)  # it missed the change
    second.click("[data-action=cancel]")
    banner = second.locator("#flash .banner.stale")
    expect(banner).to_contain_text("This execution changed since you loaded it")
    expect(banner).to_contain_text("reload to see the new state")
    site.shot(second, "execution-changed-banner")
    assert site.engine.status(eid).status == "paused"  # the cancel did nothing


def test_another_tenants_execution_is_not_found_like_a_missing_one(site: Site) -> None:
    site.engine.apply(HELD)
    eid = site.engine.start("held", {}, execution_id="ours-1")
    theirs = site.signed_in("admin", tenant="acme")
    answer = theirs.goto(site.url(f"/ui/executions/{eid}"))
    assert answer is not None and answer.status == 404
    other = theirs.locator("main").inner_text()
    missing = theirs.goto(site.url("/ui/executions/no-such-execution"))
    assert missing is not None and missing.status == 404
    assert theirs.locator("main").inner_text() == other  # the same page, word for word
    expect(theirs.locator("h1")).to_have_text("Not found")
    assert eid not in theirs.content()
    site.shot(theirs, "not-found")


def test_a_viewer_sees_no_action_and_a_forged_one_is_refused(site: Site) -> None:
    site.engine.apply(HELD)
    eid = site.engine.start("held", {}, execution_id="viewed-1")
    page = site.signed_in("viewer")
    open_execution(page, site, eid)
    expect(page.locator("#actions")).to_have_count(0)
    expect(page.locator("button[data-action]")).to_have_count(0)
    page.click("#tab-ledger")
    expect(page.locator("#verify")).to_be_visible()  # reading the ledger is a viewer's
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf
    version = str(site.engine.execution(eid).head_seq)
    forged = page.request.post(site.url(f"/ui/executions/{eid}/pause"),
                               form={"version": version, "reason": "forged"},
                               headers={"X-CSRF-Token": csrf})
    assert forged.status == 403
    assert "viewer" in forged.text()
    # an operator's session without its CSRF token is refused too
    operator = site.signed_in("operator")
    no_csrf = operator.request.post(site.url(f"/ui/executions/{eid}/pause"),
                                    form={"version": version})
    assert no_csrf.status == 403
    assert site.engine.status(eid).status == "pending"
    site.shot(page, "execution-viewer")


def test_no_session_goes_to_sign_in_and_a_bad_token_says_why(site: Site) -> None:
    page = site.page()
    page.goto(site.url("/ui/executions"))
    expect(page).to_have_url(re.compile(r"/ui/login\?next=/ui/executions$"))
    expect(page.locator("#token")).to_be_visible()
    sign_in(page, site.base, "not-a-token")
    expect(page.locator("#login-message")).to_contain_text("not a ledgerflow token")
    site.shot(page, "login-wrong-token")
    token = site.token("operator")
    sign_in(page, site.base, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"))
    expect(page.locator("#login-message")).to_be_visible()
    sign_in(page, site.base, token)
    expect(page).to_have_url(site.url("/ui/"))
    # revoking the token ends the session at the next request
    site.engine.access.revoke(site.engine.access.authenticate(token).token_id)
    page.goto(site.url("/ui/executions"))
    expect(page).to_have_url(re.compile(r"/ui/login\?"))
    expect(page.locator("#login-message")).to_contain_text("revoked")
    assert token not in page.content()
