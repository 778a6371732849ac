"""The execution page's actions and the list's bulk actions over HTTP, on each backend:
resume and rerun from a step, fork at a ledger entry, send a signal, edit a paused state
(preview, then save), batch control; each one for an operator, refused for a viewer and
without the CSRF token, and a stale version answered by the 412 banner. (In a real browser:
tests/browser/test_dashboard_execution.py.)"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.server.conftest import Served
from tests.server.test_dashboard import signed_in
from tests.support import until_idle, wait_for

WAIT: dict[str, Any] = {"name": "waiter", "steps": [
    {"id": "w", "type": "wait", "signal": "go"},
    {"id": "after", "agent": "t.echo", "needs": ["w"]},
]}
TWO: dict[str, Any] = {"name": "two", "steps": [
    {"id": "a", "agent": "t.echo"},
    {"id": "b", "agent": "t.echo", "needs": ["a"]},
]}


def post(served: Served, path: str, csrf: str | None, **fields: Any) -> Any:
    headers = {"HX-Request": "true"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return served.client.post(path, data=fields, headers=headers)


def completions(served: Served, eid: str) -> dict[str, int]:
    """How many times each step completed, from the ledger."""
    found: dict[str, int] = {}
    for h in served.engine.history(eid):
        if h.event_type == "step.completed" and h.step_id:
            found[h.step_id] = found.get(h.step_id, 0) + 1
    return found


def head(served: Served, eid: str) -> int:
    return served.engine.execution(eid).head_seq


def paused(served: Served) -> str:
    served.engine.apply(TWO)
    eid = served.engine.start("two", {"n": 1})
    served.engine.pause(eid, "to edit")
    return eid


def finished(served: Served) -> str:
    served.engine.apply(TWO)
    eid = served.engine.start("two", {"n": 1})
    until_idle(served.engine)
    assert served.engine.status(eid).status == "completed"
    return eid


def test_the_page_has_the_new_tabs_and_an_operators_forms(served: Served) -> None:
    served.engine.apply(WAIT)
    eid = served.engine.start("waiter", {}, ttl=3600)
    until_idle(served.engine)  # the wait step runs: it waits for "go"
    signed_in(served, "operator")
    page = served.client.get(f"/ui/executions/{eid}").text
    for tab in ("tab-timeline", "tab-logs", "tab-waits"):
        assert f'id="{tab}"' in page
    timeline = page.split('id="timeline"', 1)[1].split("</section>", 1)[0]
    # the chart is drawn on the server when the tab is opened (it is big for big runs)
    assert 'hx-trigger="click from:#tab-timeline, refresh"' in timeline
    assert "<svg" not in timeline
    waits = served.client.get(f"/ui/executions/{eid}/waits").text
    assert "waits for the signal" in waits and ">go<" in waits
    assert 'class="countdown" data-until=' in waits  # its TTL, counted down on the page
    assert 'id="signal-form"' in page and 'id="state-edit"' in page
    assert 'class="small fork"' in page
    assert served.client.get(f"/ui/executions/{eid}/timeline").text.startswith("<svg")


def test_a_viewer_gets_no_forms_and_every_action_is_refused(served: Served) -> None:
    eid = paused(served)
    csrf = signed_in(served, "viewer")
    page = served.client.get(f"/ui/executions/{eid}").text
    assert 'id="signal-form"' not in page and 'id="state-edit"' not in page
    assert 'class="small fork"' not in page
    version = str(head(served, eid))
    for path, fields in (("resume", {"from_step": "a"}), ("rerun", {"from_step": "a"}),
                         ("fork", {"at_seq": "1"}), ("signals", {"name": "go"}),
                         ("state", {"patch": '{"x": 1}'}),
                         ("state/preview", {"patch": '{"x": 1}'})):
        r = post(served, f"/ui/executions/{eid}/{path}", csrf, version=version, **fields)
        assert r.status_code == 403 and "viewer" in r.text, path
    r = post(served, "/ui/executions/batch", csrf, action="cancel", ids=eid)
    assert r.status_code == 403
    assert head(served, eid) == int(version)
    assert len(served.engine.list()) == 1  # no fork either


@pytest.mark.parametrize("path,fields", [
    ("resume", {"from_step": "a"}), ("fork", {"at_seq": "1"}), ("signals", {"name": "go"}),
    ("state", {"patch": '{"x": 1}'}), ("state/preview", {"patch": '{"x": 1}'})])
def test_every_action_needs_the_csrf_token(served: Served, path: str,
                                           fields: dict[str, str]) -> None:
    eid = paused(served)
    signed_in(served, "operator")
    before = head(served, eid)
    for csrf in (None, "0" * 64):
        r = post(served, f"/ui/executions/{eid}/{path}", csrf, version=str(before), **fields)
        assert r.status_code == 403 and "CSRF" in r.text
    r = post(served, "/ui/executions/batch", None, action="cancel", ids=eid)
    assert r.status_code == 403 and "CSRF" in r.text
    assert head(served, eid) == before and len(served.engine.list()) == 1


def test_resume_from_a_step_runs_it_again(served: Served) -> None:
    served.engine.apply(TWO)
    eid = served.engine.start("two", {})
    until_idle(served.engine)
    csrf = signed_in(served, "operator")
    r = post(served, f"/ui/executions/{eid}/rerun", csrf, version=str(head(served, eid)),
             from_step="b", reason="again")
    assert r.status_code == 200 and "Rerunning from step b" in r.text
    served.engine.pause(eid, "hold")
    r = post(served, f"/ui/executions/{eid}/resume", csrf, version=str(head(served, eid)),
             from_step="a", reason="from a")
    assert r.status_code == 200 and "Resumed from step a" in r.text
    until_idle(served.engine)
    assert served.engine.status(eid).status == "completed"
    history = served.engine.history(eid)
    resumed = [h for h in history if h.event_type == "execution.resumed"]
    assert resumed and resumed[-1].payload.get("reason") == "from a"
    assert completions(served, eid) == {"a": 2, "b": 2}  # a and what needs it ran again


def test_rerun_needs_a_step_and_a_finished_execution(served: Served) -> None:
    eid = finished(served)
    csrf = signed_in(served, "operator")
    before = head(served, eid)
    r = post(served, f"/ui/executions/{eid}/rerun", csrf, version=str(before))
    assert r.status_code == 422 and "choose the step" in r.text
    r = post(served, f"/ui/executions/{eid}/rerun", csrf, version=str(before), from_step="b")
    assert r.status_code == 200
    until_idle(served.engine)
    assert served.engine.status(eid).status == "completed"
    assert completions(served, eid) == {"a": 1, "b": 2}


def test_fork_at_a_seq_sends_the_page_to_the_new_execution(served: Served) -> None:
    eid = finished(served)
    csrf = signed_in(served, "operator")
    r = post(served, f"/ui/executions/{eid}/fork", csrf, at_seq="2")
    assert r.status_code == 200
    target = r.headers["hx-redirect"]
    fork_id = target.rsplit("/", 1)[1]
    assert fork_id != eid and served.engine.execution(fork_id).forked_from == eid
    assert served.client.get(target).status_code == 200
    r = post(served, f"/ui/executions/{eid}/fork", csrf, at_seq="9999")
    assert 400 <= r.status_code < 500 and "banner error" in r.text  # no such entry


def test_a_signal_is_sent_and_bad_data_is_named_in_place(served: Served) -> None:
    served.engine.apply(WAIT)
    eid = served.engine.start("waiter", {})
    until_idle(served.engine)
    csrf = signed_in(served, "operator")
    before = head(served, eid)
    r = post(served, f"/ui/executions/{eid}/signals", csrf, version=str(before), name="go",
             data='{"ok": tru')
    assert r.status_code == 422 and "not valid JSON" in r.text and "banner error" in r.text
    r = post(served, f"/ui/executions/{eid}/signals", csrf, version=str(before), name=" ")
    assert r.status_code == 422 and "needs a name" in r.text
    assert head(served, eid) == before  # neither was sent
    r = post(served, f"/ui/executions/{eid}/signals", csrf, version=str(before), name="go",
             data='{"ok": true}')
    assert r.status_code == 200 and "Signal go sent" in r.text
    until_idle(served.engine)
    assert served.engine.status(eid).status == "completed"
    assert '{"ok": true}' in served.client.get(f"/ui/executions/{eid}/waits").text


def test_a_stale_version_is_the_412_banner_for_each_action(served: Served) -> None:
    eid = paused(served)
    csrf = signed_in(served, "operator")
    seen = head(served, eid)
    served.engine.patch_state(eid, {"moved": True}, "elsewhere")  # another person acts
    for path, fields in (("resume", {"from_step": "a"}), ("signals", {"name": "go"}),
                         ("state", {"patch": '{"x": 1}'})):
        r = post(served, f"/ui/executions/{eid}/{path}", csrf, version=str(seen), **fields)
        assert r.status_code == 412, path
        assert "This execution changed since you loaded it" in r.text
    assert head(served, eid) == seen + 1
    assert served.engine.status(eid).status == "paused"


def test_the_state_is_edited_only_while_paused(served: Served) -> None:
    served.engine.apply(WAIT)
    eid = served.engine.start("waiter", {})
    until_idle(served.engine)
    csrf = signed_in(served, "operator")
    page = served.client.get(f"/ui/executions/{eid}").text
    assert re.search(r'<fieldset id="state-fields" disabled>', page)
    before = head(served, eid)
    r = post(served, f"/ui/executions/{eid}/state", csrf, version=str(before),
             patch='{"x": 1}')
    assert r.status_code == 409 and "pause it first" in r.text
    assert head(served, eid) == before
    served.engine.pause(eid)
    page = served.client.get(f"/ui/executions/{eid}").text
    assert '<fieldset id="state-fields">' in page


def test_preview_shows_the_diff_and_changes_nothing_then_save_does(served: Served) -> None:
    eid = paused(served)
    served.engine.patch_state(eid, {"keep": 1, "drop": "x", "risk": "high"})
    csrf = signed_in(served, "operator")
    before, state = head(served, eid), served.engine.state(eid)
    patch = '{"risk": "low", "drop": null, "new": [1, 2]}'
    r = post(served, f"/ui/executions/{eid}/state/preview", csrf, patch=patch)
    assert r.status_code == 200
    rows = re.findall(r'<tr class="op-(\w+)"><td>(\w+)</td><td class="mono">([^<]+)</td>',
                      r.text)
    assert sorted(rows) == [("add", "added", "/new"), ("remove", "removed", "/drop"),
                            ("replace", "changed", "/risk")]
    assert '<code class="mono">"high"</code>' in r.text  # before
    assert '<code class="mono">"low"</code>' in r.text  # and after
    assert head(served, eid) == before and served.engine.state(eid) == state
    for bad, says in (("[1]", "JSON object"), ('{"a": ', "not valid JSON"), ("", "object")):
        r = post(served, f"/ui/executions/{eid}/state/preview", csrf, patch=bad)
        assert r.status_code == 422 and says in r.text, bad
    r = post(served, f"/ui/executions/{eid}/state", csrf, version=str(before), patch=patch,
             reason="lower the risk")
    assert r.status_code == 200 and "State saved" in r.text
    now = served.engine.state(eid).state
    assert now["risk"] == "low" and "drop" not in now and now["new"] == [1, 2]
    edited = served.engine.history(eid)[-1]
    assert edited.event_type == "state.edited" and edited.payload["reason"] == "lower the risk"


def test_the_state_tab_shows_any_version_and_the_diff_between_two(served: Served) -> None:
    eid = paused(served)
    served.engine.patch_state(eid, {"keep": 1, "risk": "high", "old": {"k": [1, 2]}})
    served.engine.patch_state(eid, {"risk": "low", "old": None, "new": {"k": [1, 2]}})
    latest = served.engine.state(eid).version
    signed_in(served, "viewer")
    url = f"/ui/executions/{eid}/state"
    now = served.client.get(url).text
    assert f'max="{latest}" value="{latest}"' in now and "(the current one)" in now
    assert "data-current" in now and "state-diff" not in now
    older = served.client.get(url, params={"version": latest - 1}).text
    assert f"State version {latest - 1}," in older and "data-current" not in older
    # in the document's own order (as stored), not sorted
    assert re.search(r"&#34;keep&#34;: 1,\s+&#34;risk&#34;: &#34;high&#34;,\s+&#34;old&#34;",
                     older)
    diff = served.client.get(url, params={"version": latest, "compare": latest - 1}).text
    assert f"From version {latest - 1} to {latest}: 3 changes" in diff
    rows = re.findall(r'<tr class="op-(\w+)"><td>(\w+)</td><td class="mono">([^<]+)</td>',
                      diff)
    assert sorted(rows) == [("add", "added", "/new"), ("remove", "removed", "/old"),
                            ("replace", "changed", "/risk")]
    same = served.client.get(url, params={"version": 1, "compare": 1}).text
    assert "Versions 1 and 1 are the same document." in same
    missing = served.client.get(url, params={"version": latest + 5},
                                headers={"HX-Request": "true"})
    assert missing.status_code == 404
    assert f"has no state version {latest + 5} (versions 1..{latest})." in missing.text
    assert served.client.get(url, params={"version": 0}).status_code == 422


def test_bulk_actions_on_checked_rows_and_on_the_filter(served: Served) -> None:
    served.engine.apply(WAIT)
    ids = [served.engine.start("waiter", {}) for _ in range(3)]
    csrf = signed_in(served, "operator")
    listing = served.client.get("/ui/executions").text
    assert 'id="bulk"' in listing and listing.count('name="ids"') == 3
    r = post(served, "/ui/executions/batch", csrf, action="pause", ids=ids[:2],
             reason="maintenance")
    assert r.status_code == 200 and "Pause" in r.text
    batch_id = re.search(r'id="batch-(batch_[0-9a-f]+)"', r.text)
    assert batch_id is not None

    seen: list[str] = []

    def done() -> bool:
        seen.append(served.client.get(f"/ui/batches/{batch_id.group(1)}").text)
        return 'data-state="done"' in seen[-1]

    wait_for(done, what="the batch ends")
    assert "2 of 2 done" in seen[-1] and "refused" not in seen[-1]
    assert [served.engine.status(i).status for i in ids] == ["paused", "paused", "pending"]
    r = post(served, "/ui/executions/batch", csrf, action="cancel", scope="filter",
             status="paused", reason="by filter")
    assert r.status_code == 200
    # the batch runs in the background, in no promised order: wait for both
    wait_for(lambda: [served.engine.status(i).status for i in ids[:2]] == ["cancelled"] * 2,
             what="the filter's executions are cancelled")
    assert served.engine.status(ids[2]).status == "pending"  # outside the filter
    r = post(served, "/ui/executions/batch", csrf, action="pause")
    assert r.status_code == 422 and "Check the executions" in r.text
    r = post(served, "/ui/executions/batch", csrf, action="explode", ids=ids[2])
    assert r.status_code == 422 and "Choose the action" in r.text


def test_the_list_and_logs_streams_are_the_apis(served: Served) -> None:
    signed_in(served, "viewer")
    listing = served.client.get("/ui/executions").text
    assert 'data-events="/ui/events"' in listing and 'id="new-runs"' in listing
    assert 'id="bulk"' not in listing  # a viewer has no bulk actions
    served.engine.apply(TWO)
    eid = served.engine.start("two", {})
    row = served.client.get(f"/ui/executions/{eid}/row").text
    assert f'id="row-{eid}"' in row and "s-pending" in row
    assert served.client.get("/ui/executions/missing/row").status_code == 404
