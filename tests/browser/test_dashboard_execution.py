"""The execution page's actions and the live list, in Chromium: edit a paused state
(preview, then save) and resume from a step; send a signal to a waiting execution; fork at
a ledger entry; the list counts a new execution instead of shifting its rows; a bulk pause.
Screenshots of each tab, at desktop and phone width."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Page, expect

from ledgerflow.testing import FakeClock
from tests.browser.conftest import PHONE, Site
from tests.browser.test_dashboard import open_execution, step_box
from tests.server.test_dashboard_execution import TWO, WAIT
from tests.support import Background, until_idle, wait_for

# a held first step whose output joins the state, then one more
HELD: dict[str, Any] = {"name": "held-out", "steps": [
    {"id": "hold", "agent": "t.gate", "output": "hold"},
    {"id": "after", "agent": "t.echo", "needs": ["hold"]},
]}


def tab(page: Page, name: str) -> None:
    page.click(f"#tab-{name}")
    expect(page.locator(f"#panel-{name}")).to_be_visible()


def test_edit_the_state_while_paused_then_resume_from_a_step(site: Site, agents: Any) -> None:
    site.engine.apply(HELD)
    eid = site.engine.start("held-out", {"n": 1}, execution_id="edit-1")
    page = site.signed_in("operator")
    with Background(site.engine):
        assert agents.gate.entered.wait(60), "the held step never started"
        open_execution(page, site, eid)
        page.evaluate("window.loadedOnce = true")  # gone if the page were loaded again
        tab(page, "state")
        expect(page.locator("#state-patch")).to_be_disabled()  # not paused yet
        page.fill("#reason", "to fix the input")
        page.click("[data-action=pause]")
        expect(page.locator("#status")).to_have_text("paused")
        agents.gate.opened.set()  # the held step finishes; nothing starts after it
        expect(step_box(page, "hold")).to_have_class("step completed")
        expect(page.locator("#state-patch")).to_be_enabled()
        expect(page.locator("#state")).to_contain_text('"hold"')  # read again once paused
        page.fill("#state-patch", json.dumps({"note": "checked by hand", "hold": None}))
        page.click("#state-preview")
        diff = page.locator("#preview-result table.diff")
        expect(diff.locator("tr.op-add")).to_contain_text("/note")
        expect(diff.locator("tr.op-remove")).to_contain_text("/hold")
        assert "note" not in site.engine.state(eid).state  # a preview changes nothing
        site.shot(page, "execution-state-preview")
        page.fill("#state-reason", "skip the gate's output")
        page.click("#state-save")
        expect(page.locator("#state-result .banner.ok")).to_contain_text("State saved")
        expect(page.locator("#state")).to_contain_text("checked by hand")  # shown as saved
        head = site.engine.execution(eid).head_seq
        expect(page.locator("#version")).to_have_text(str(head))  # the stream moved it
        assert site.engine.state(eid).state.get("note") == "checked by hand"
        page.select_option("#from-step", "hold")
        page.fill("#reason", "run the gate again")
        page.click("[data-action=resume]")
        expect(page.locator("#flash .banner.ok")).to_contain_text("Resumed from step hold")
        expect(page.locator("#status")).to_have_text("completed")
        expect(page.locator("#state-patch")).to_be_disabled()
    assert page.evaluate("window.loadedOnce") is True
    history = site.engine.history(eid)
    assert [h.step_id for h in history if h.event_type == "step.completed"] == [
        "hold", "hold", "after"]
    tab(page, "timeline")
    expect(page.locator("#timeline svg")).to_contain_text("after")  # drawn again live
    site.shot(page, "execution-timeline")
    page.reload()  # the tab is kept in the address, and read as it opens
    expect(page.locator("#panel-timeline")).to_be_visible()
    expect(page.locator("#timeline svg")).to_contain_text("after")
    page.focus("#tab-timeline")
    page.keyboard.press("ArrowLeft")  # the keyboard opens a tab as a click does
    expect(page.locator("#panel-steps")).to_be_visible()
    expect(page.locator("#steprow-after")).to_contain_text("completed")
    tab(page, "logs")  # every step's routing decision, the last ones too
    expect(page.locator("#log-rows tr").filter(has_text="t.echo")).to_have_count(1)
    expect(page.locator("#log-rows tr").filter(has_text="t.gate")).to_have_count(2)
    site.shot(page, "execution-logs")
    edited = next(h.state_version for h in history if h.event_type == "state.edited")
    tab(page, "state")  # the edit, as the difference of two versions
    page.fill("#state-version", str(edited))
    page.fill("#state-compare", str(edited - 1))
    page.click("#state-show")
    changed = page.locator("#state-diff")
    expect(changed).to_contain_text(f"From version {edited - 1} to {edited}: 2 changes")
    expect(changed.locator("tr.op-add")).to_contain_text("/note")
    expect(changed.locator("tr.op-remove")).to_contain_text("/hold")
    site.shot(page, "execution-state-diff")
    phone = site.signed_in("operator", viewport=PHONE)
    open_execution(phone, site, eid)
    tab(phone, "state")
    site.shot(phone, "execution-state-phone")
    tab(phone, "timeline")
    site.shot(phone, "execution-timeline-phone")


def test_send_a_signal_to_a_waiting_execution_and_watch_it_complete(site: Site) -> None:
    site.engine.apply(WAIT)
    eid = site.engine.start("waiter", {}, execution_id="wait-1", ttl=3600)
    page = site.signed_in("operator")
    with Background(site.engine):
        open_execution(page, site, eid)
        tab(page, "waits")
        # the wait step starts (perhaps after the page loaded): the tab is read again
        expect(page.locator("#waits-list")).to_contain_text("waits for the signal go")
        expect(page.locator("#ttl .countdown")).to_contain_text(re.compile(r"in \d+ min"))
        page.fill("#signal-name", "go")
        page.fill("#signal-data", '{"approved": tru')
        page.click("#signal-send")
        expect(page.locator("#signal-result .banner.error")).to_contain_text("not valid JSON")
        site.shot(page, "execution-waits")
        page.fill("#signal-data", '{"approved": true}')
        page.click("#signal-send")
        expect(page.locator("#signal-result .banner.ok")).to_contain_text("Signal go sent")
        expect(page.locator("#status")).to_have_text("completed")
        expect(page.locator("#signal-rows")).to_contain_text('{"approved": true}')
        expect(page.locator("#waits-none")).to_be_visible()
        site.shot(page, "execution-waits-done")
    phone = site.signed_in("operator", viewport=PHONE)
    open_execution(phone, site, eid)
    tab(phone, "waits")
    site.shot(phone, "execution-waits-phone")


def test_fork_at_a_ledger_entry_lands_on_the_new_execution(site: Site) -> None:
    site.engine.apply(TWO)
    eid = site.engine.start("two", {"n": 1}, execution_id="fork-me")
    until_idle(site.engine)
    page = site.signed_in("operator")
    open_execution(page, site, eid)
    tab(page, "ledger")
    site.shot(page, "execution-ledger")
    page.locator('#ledger-rows tr[data-seq="4"] button.fork').click()
    # (the tab's "#ledger" is gone with the page: a page of another execution)
    expect(page).to_have_url(re.compile(r"/ui/executions/(?!fork-me)[^/#]+$"))
    forks = site.engine.forks(eid)
    assert len(forks) == 1
    expect(page).to_have_url(site.url(f"/ui/executions/{forks[0]}"))
    expect(page.locator("main")).to_contain_text("forked from fork-me")
    assert site.engine.execution(forks[0]).forked_from == eid


def rows(page: Page) -> Any:
    return page.locator("#execution-rows tr")


def test_the_list_counts_a_new_execution_without_shifting_its_rows(site: Site) -> None:
    site.engine.apply(WAIT)
    first = site.engine.start("waiter", {}, execution_id="first-run")
    page = site.signed_in("operator")
    page.goto(site.url("/ui/executions"))
    expect(page.locator("#executions")).to_have_attribute("data-stream", "open")
    expect(rows(page)).to_have_count(1)
    site.engine.start("waiter", {}, execution_id="second-run")
    expect(page.locator("#new-runs")).to_have_text("1 new — show")
    expect(rows(page)).to_have_count(1)  # not shifted
    expect(rows(page).first).to_have_attribute("data-id", first)
    site.engine.pause(first, "look")  # a row on the page is updated in place
    expect(page.locator(f'[id="row-{first}"] .badge')).to_have_text("paused")
    site.shot(page, "executions-new")
    page.click("#new-runs")
    expect(rows(page)).to_have_count(2)
    expect(rows(page).first).to_have_attribute("data-id", "second-run")


def test_a_bulk_pause_of_two_checked_executions(site: Site) -> None:
    site.engine.apply(WAIT)
    ids = [site.engine.start("waiter", {}, execution_id=f"bulk-{n}") for n in range(3)]
    page = site.signed_in("operator")
    page.goto(site.url("/ui/executions"))
    expect(page.locator("#executions")).to_have_attribute("data-stream", "open")
    for eid in ids[:2]:
        page.check(f'input[name="ids"][value="{eid}"]')
    page.select_option("#bulk-action", "pause")
    page.fill("#bulk-reason", "maintenance window")
    page.click("#bulk-go")
    result = page.locator('#bulk-result [data-state="done"]')
    expect(result).to_contain_text("2 of 2 done")
    for eid in ids[:2]:
        expect(page.locator(f'[id="row-{eid}"] .badge')).to_have_text("paused")
    expect(page.locator(f'[id="row-{ids[2]}"] .badge')).to_have_text("pending")
    assert [site.engine.status(i).status for i in ids] == ["paused", "paused", "pending"]
    site.shot(page, "executions-bulk")
    phone = site.signed_in("operator", viewport=PHONE)
    phone.goto(site.url("/ui/executions"))
    site.shot(phone, "executions-phone")


def test_the_list_reads_itself_every_10_s_once_its_stream_failed_three_times(
        site: Site) -> None:
    site.engine.apply(WAIT)
    site.engine.start("waiter", {}, execution_id="polled-1")
    page = site.signed_in("operator")
    page.route("**/ui/events", lambda route: route.abort())  # the stream cannot connect
    page.goto(site.url("/ui/executions"))
    # three failed connections, a few seconds apart (the browser's reconnection delay)
    expect(page.locator("#executions")).to_have_attribute("data-stream", "polling")
    expect(page.locator("#live-state")).to_have_text(
        "Live updates are unavailable: the list is read again every 10 s.")
    site.engine.start("waiter", {}, execution_id="polled-2")
    expect(rows(page)).to_have_count(2)  # read again, within 10 s
    expect(page.locator("#live-state")).to_contain_text("every 10 s")  # still polling
    site.shot(page, "executions-polling")
    page.unroute("**/ui/events")  # the stream works again: live at the next reload
    expect(page.locator("#executions")).to_have_attribute("data-stream", "open")


def test_a_steps_log_is_appended_to_the_logs_tab_live(site: Site, agents: Any) -> None:
    @site.engine.agent("t.talk")
    def talk(ctx: Any, data: Any) -> Any:
        ctx.log("hello from the step", answer=42)
        agents.gate.hold(ctx)
        return {}

    site.engine.apply({"name": "talker", "steps": [{"id": "speak", "agent": "t.talk"}]})
    eid = site.engine.start("talker", {}, execution_id="talk-1")
    page = site.signed_in("operator")
    open_execution(page, site, eid)
    tab(page, "logs")
    with Background(site.engine):
        assert agents.gate.entered.wait(60), "the step never started"
        wait_for(lambda: any(r.message == "hello from the step"
                             for r in site.engine.logs(eid)), what="the log is written")
        page.click("[data-action=pause]")  # a change: the stream sends what was logged
        line = page.locator("#log-rows tr").filter(has_text="hello from the step")
        expect(line).to_have_count(1)
        expect(line).to_contain_text('"answer":42')
        expect(line).to_contain_text("speak")
        site.shot(page, "execution-logs-live")
        agents.gate.opened.set()


TWO_WAITS: dict[str, Any] = {"name": "two-waits", "steps": [
    {"id": "first", "type": "wait", "signal": "go"},
    {"id": "second", "type": "wait", "signal": "go2", "needs": ["first"]},
]}


def _signal(site: Site, eid: str, name: str) -> None:
    site.engine.signal(eid, name, {})
    site.engine.run_until_idle()


def test_the_eta_counts_down_and_follows_the_run_without_a_reload(
        site: Site, clock: FakeClock) -> None:
    site.engine.apply(TWO_WAITS)
    earlier = site.engine.start("two-waits", {})
    site.engine.run_until_idle()
    clock.advance(3600)  # an earlier run took an hour
    _signal(site, earlier, "go")
    _signal(site, earlier, "go2")
    assert site.engine.status(earlier).status == "completed"
    eid = site.engine.start("two-waits", {}, execution_id="eta-1")
    site.engine.run_until_idle()
    clock.advance(600)  # ten minutes in: fifty to go
    page = site.signed_in("viewer")
    open_execution(page, site, eid)
    eta = page.locator("#eta")
    expect(eta).to_have_text(re.compile(r"^ETA about (50 min 0 s|49 min 5\d s)$"))
    clock.advance(1200)  # half an hour in, and the run moves: the stream brings the new ETA
    _signal(site, eid, "go")
    expect(step_box(page, "first")).to_have_class("step completed")
    expect(eta).to_have_text(re.compile(r"^ETA about (30 min 0 s|29 min 5\d s)$"))
    _signal(site, eid, "go2")
    expect(page.locator("#status")).to_have_text("completed")
    expect(eta).to_be_hidden()


def test_an_id_is_copied_in_one_click_from_the_list_and_the_page(site: Site) -> None:
    site.engine.apply(WAIT)
    eid = site.engine.start("waiter", {}, execution_id="copy-me-1")
    page = site.signed_in("viewer")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    page.goto(site.url("/ui/executions"))
    button = page.get_by_role("button", name=f"Copy the id {eid}")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == eid
    page.evaluate("navigator.clipboard.writeText('')")
    open_execution(page, site, eid)
    page.get_by_role("button", name="Copy the execution id").click()
    expect(page.get_by_role("button", name="Copy the execution id")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == eid
