"""The dashboard's catalog pages over HTTP, on each backend: definitions and the start form
made from ``input_schema``, agents and the breaker reset, workers, tokens made and revoked;
what a viewer may read and may not do, and that every action needs the CSRF token.
(In a real browser: tests/browser/test_dashboard_catalog.py.)"""

from __future__ import annotations

import html
import logging
import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from ledgerflow.engine.reports.listing import Listing
from ledgerflow.ledger.verify import Problem, VerifyResult
from tests.server.conftest import Served
from tests.server.sse_client import Event, Reader, until_closed
from tests.server.test_dashboard import signed_in

FORM = {"name": "form", "input_schema": {
    "type": "object", "required": ["who", "n"],
    "properties": {"who": {"type": "string", "description": "a name"},
                   "n": {"type": "integer", "minimum": 1},
                   "rate": {"type": "number"},
                   "fast": {"type": "boolean"},
                   "mode": {"enum": ["a", "b"]},
                   "tags": {"type": "array", "items": {"type": "string"}}}},
    "steps": [{"id": "w", "type": "wait", "signal": "go"}]}
BOOM = {"name": "boom", "steps": [{"id": "a", "agent": "t.fail"}]}


def _open_breaker(served: Served) -> str:
    """Fail ``t.fail`` until its breaker opens; the agent's name."""
    served.engine.apply(BOOM)
    for _ in range(10):
        served.engine.start("boom", {})
        served.engine.run_until_idle()
        found = [a for a in served.engine.agents() if a.capability == "t.fail"]
        if found and found[0].breaker == "open":
            return found[0].agent
    raise AssertionError("the breaker of t.fail never opened")


def test_a_viewer_reads_every_catalog_page_without_action_controls(served: Served) -> None:
    served.engine.apply(FORM)
    served.engine.apply({**FORM, "description": "the second version"})
    agent = _open_breaker(served)
    signed_in(served, "viewer")
    listed = served.client.get("/ui/definitions")
    assert listed.status_code == 200 and 'href="/ui/definitions/form"' in listed.text
    sha = served.engine.definition("form").sha256
    assert f'title="{sha}"' in listed.text and sha[:12] in listed.text
    assert "version 2 <small" in listed.text and "(2 versions)" in listed.text
    one = served.client.get("/ui/definitions/form")
    assert one.status_code == 200
    assert "version 2" in one.text and "?version=1" in one.text  # both versions, linked
    assert "<svg" in one.text and "the second version" in one.text  # graph and YAML
    assert "may not start executions" in one.text and "/start" not in one.text
    older = served.client.get("/ui/definitions/form?version=1")
    assert older.status_code == 200 and "older version" in older.text
    agents = served.client.get("/ui/agents")
    assert agents.status_code == 200
    assert html.escape(agent) in agents.text
    assert "open: not used" in agents.text  # the breaker in words, not by colour alone
    assert "0.0%" in agents.text  # its success rate
    history = agents.text.split("Breaker history", 1)[1]
    moved = '<span class="badge s-closed">closed: in use</span> → <span class="badge s-open">'
    assert moved in history  # its move from closed to open is listed
    assert "breaker/reset" not in agents.text  # a viewer gets no reset button
    workers = served.client.get("/ui/workers")
    assert workers.status_code == 200 and "Workers" in workers.text
    assert 'href="/ui/settings/tokens"' not in listed.text  # tokens: admins only
    assert served.client.get("/ui/settings/tokens").status_code == 403
    for missing in ("/ui/definitions/nothing", "/ui/definitions/form?version=9"):
        r = served.client.get(missing)
        assert r.status_code == 404 and "Not found" in r.text, missing


def test_the_start_form_is_made_from_the_input_schema_and_starts(served: Served) -> None:
    served.engine.apply(FORM)
    csrf = signed_in(served, "operator")
    form = served.client.get("/ui/definitions/form").text
    for name in ("who", "n", "rate", "fast", "mode"):
        assert f'name="in.{name}"' in form, name
    assert form.count("(required)") == 2
    assert '<option value="&#34;b&#34;">b</option>' in form  # an enum's choice, as JSON
    assert 'name="input_json"' in form  # "tags" (an array) goes in the raw JSON field
    r = served.client.post("/ui/definitions/form/start", data={
        "csrf_token": csrf, "version": "1", "in.who": "ada", "in.n": "3", "in.rate": "0.5",
        "in.fast": "true", "in.mode": '"b"', "input_json": '{"tags": ["x"]}'},
        follow_redirects=False)
    assert r.status_code == 303, r.text
    eid = r.headers["location"].removeprefix("/ui/executions/")
    assert served.engine.execution(eid).workflow == "form"
    assert served.engine.execution(eid).input == {
        "who": "ada", "n": 3, "rate": 0.5, "fast": True, "mode": "b", "tags": ["x"]}
    assert served.client.get(r.headers["location"]).status_code == 200


def test_a_refused_input_shows_every_problem_and_keeps_what_was_typed(
        served: Served) -> None:
    served.engine.apply(FORM)
    csrf = signed_in(served, "operator")
    r = served.client.post("/ui/definitions/form/start", data={
        "csrf_token": csrf, "version": "1", "in.n": "0", "in.rate": "fast",
        "input_json": '{"tags": [1]}'})
    assert r.status_code == 422
    assert "rate" in r.text and "is not a number" in r.text  # made by the form
    assert 'value="fast"' in r.text and 'value="0"' in r.text  # kept
    r = served.client.post("/ui/definitions/form/start", data={
        "csrf_token": csrf, "version": "1", "in.n": "0", "in.mode": '"a"',
        "input_json": '{"tags": [1]}'})
    assert r.status_code == 422
    problems = re.search(r'id="start-problems".*?</div>', r.text, re.S)
    assert problems is not None
    text = problems.group(0)
    assert "3 problems" in text  # who missing, n below its minimum, tags/0 not a string
    assert "<code>who</code>: required, but not given" in text and "<code>n</code>" in text
    assert "<code>tags/0</code>" in text
    assert 'aria-invalid="true"' in r.text and 'value="0"' in r.text
    assert "{&#34;tags&#34;: [1]}" in r.text  # the raw JSON as typed
    assert sum(served.engine.count(Listing()).values()) == 0  # nothing started


def test_no_schema_means_a_raw_json_input(served: Served) -> None:
    served.engine.apply({"name": "plain", "steps": [{"id": "w", "type": "wait",
                                                      "signal": "go"}]})
    csrf = signed_in(served, "operator")
    page = served.client.get("/ui/definitions/plain").text
    assert 'name="input_json"' in page and 'name="in.' not in page
    r = served.client.post("/ui/definitions/plain/start", data={
        "csrf_token": csrf, "input_json": "{not json"})
    assert r.status_code == 422 and "not JSON" in r.text
    r = served.client.post("/ui/definitions/plain/start", data={
        "csrf_token": csrf, "input_json": '{"k": [1, 2]}'}, follow_redirects=False)
    assert r.status_code == 303
    eid = r.headers["location"].rsplit("/", 1)[1]
    assert served.engine.execution(eid).input == {"k": [1, 2]}


def test_catalog_actions_are_refused_to_a_viewer_and_without_csrf(served: Served) -> None:
    served.engine.apply(FORM)
    agent = _open_breaker(served)
    victim = served.engine.access.create_token("default", "viewer", name="victim").row.id
    actions = [("/ui/definitions/form/start", {"in.who": "x", "in.n": "1"}),
               (f"/ui/agents/{quote(agent, safe='')}/breaker/reset", {"reason": "r"}),
               ("/ui/settings/tokens", {"role": "viewer", "name": "x", "days": "1"}),
               (f"/ui/settings/tokens/{victim}/revoke", {})]
    admin = TestClient(served.client.app)
    admin_csrf = signed_in(served, "admin", admin)
    for url, data in actions:  # no CSRF token, or a wrong one: refused, for any role
        for headers in ({}, {"X-CSRF-Token": "0" * 64}):
            r = admin.post(url, data=data, headers=headers)
            assert r.status_code == 403 and "CSRF" in r.text, (url, headers)
    csrf = signed_in(served, "viewer")
    for url, data in actions:
        r = served.client.post(url, data={**data, "csrf_token": csrf})
        assert r.status_code == 403 and "viewer" in r.text, url
    operator = TestClient(served.client.app)
    op_csrf = signed_in(served, "operator", operator)
    for url, data in actions[1:]:  # reset and tokens: admins only
        r = operator.post(url, data=data, headers={"X-CSRF-Token": op_csrf})
        assert r.status_code == 403 and "admin" in r.text, url
    assert served.engine.agents()[0].breaker == "open"
    assert not [t for t in served.engine.access.tokens("default") if t.revoked_at]
    assert not [t for t in served.engine.access.tokens("default") if t.name == "x"]
    assert admin_csrf  # the admin's own session was valid all along


def test_an_admin_resets_a_breaker_with_a_reason(served: Served) -> None:
    agent = _open_breaker(served)
    csrf = signed_in(served, "admin")
    page = served.client.get("/ui/agents").text
    action = f"/ui/agents/{quote(agent, safe='')}/breaker/reset"
    assert f'action="{action}"' in page
    r = served.client.post(action, data={"capability": "t.fail", "reason": "fixed upstream"},
                           headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and "Breaker of" in r.text and "open → closed" in r.text
    assert next(a for a in served.engine.agents() if a.agent == agent).breaker == "closed"
    last = served.engine.breaker_transitions(agent)[-1]
    assert (last.from_state, last.to_state) == ("open", "closed")
    assert last.reason.endswith(": fixed upstream") and last.actor.startswith("token:")
    assert "fixed upstream" in r.text  # in the history the page shows
    r = served.client.post("/ui/agents/nobody/breaker/reset", data={"csrf_token": csrf})
    assert r.status_code == 404 and "Not found" in r.text


def test_an_admin_makes_a_token_sees_its_secret_once_and_revokes_it(
        served: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    csrf = signed_in(served, "admin")
    page = served.client.get("/ui/settings/tokens")
    assert page.status_code == 200 and "(this session)" in page.text
    assert re.search(r"lf_adm_[0-9A-Za-z]{12}…", page.text)  # a prefix, never a secret
    r = served.client.post("/ui/settings/tokens", data={
        "csrf_token": csrf, "role": "operator", "name": "deploys", "days": "30"})
    assert r.status_code == 201
    found = re.search(r'<code id="secret">(lf_api_[0-9A-Za-z_]+)</code>', r.text)
    assert found is not None and "shown this once" in r.text
    secret = found.group(1)
    made = served.engine.access.authenticate(secret)
    assert made.role == "operator"
    again = served.client.get("/ui/settings/tokens").text
    assert "deploys" in again and secret not in again  # shown that once only
    # the new token signs in; revoking it ends that session
    other = TestClient(served.client.app)
    other.post("/ui/login", data={"token": secret})
    assert other.get("/ui/", follow_redirects=False).status_code == 200
    r = served.client.post(f"/ui/settings/tokens/{made.token_id}/revoke",
                           data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    shown = served.client.get(r.headers["location"])
    assert "is revoked" in shown.text and "revoked</span>" in shown.text
    r = other.get("/ui/executions", follow_redirects=False)
    assert r.status_code == 303 and "why=revoked" in r.headers["location"]
    r = served.client.post("/ui/settings/tokens/tok_none/revoke", data={"csrf_token": csrf})
    assert r.status_code == 404 and "Not found" in r.text
    assert caplog.records and secret not in caplog.text and secret[:20] not in caplog.text


def test_a_refused_token_is_explained_and_only_roles_it_may_make_are_offered(
        served: Served) -> None:
    csrf = signed_in(served, "admin")
    before = len(served.engine.access.tokens("default"))
    for data, words in (({"role": "system", "days": "1"}, "belongs to no tenant"),
                        ({"role": "root", "days": "1"}, "is not a role"),
                        ({"role": "viewer", "days": "soon"}, "not a number of days"),
                        ({"role": "viewer", "days": "0"}, "out of range")):
        r = served.client.post("/ui/settings/tokens", data={"csrf_token": csrf, "name": "n",
                                                            **data})
        assert r.status_code in (403, 422) and words in r.text, data
        assert f'value="{data["days"]}"' in r.text  # kept as typed
    assert len(served.engine.access.tokens("default")) == before
    page = served.client.get("/ui/settings/tokens").text
    options = re.findall(r'<option value="(\w+)"', page)
    assert options == ["viewer", "operator", "admin"]


def test_the_agents_and_workers_pages_read_their_live_part_again(served: Served) -> None:
    agent = _open_breaker(served)
    signed_in(served, "viewer")
    page = served.client.get("/ui/agents").text
    # the page follows its stream; its live part is read whole only when the stream failed
    assert 'data-stream="/ui/agents/stream"' in page
    assert 'hx-get="/ui/agents/live"' in page and 'hx-trigger="refresh"' in page
    assert "/ui/static/refresh.js" in page
    live = served.client.get("/ui/agents/live")
    assert live.status_code == 200
    assert live.text.lstrip().startswith('<div id="agents-live"')  # a fragment, no page
    assert "<html" not in live.text and "<table class=\"list agents\">" in live.text
    assert html.escape(agent) in live.text and "open: not used" in live.text
    assert "Breaker history" in live.text and "breaker/reset" not in live.text
    assert re.search(r'updated <span class="clock" data-at="[^"]+"[^>]*>\d\d:\d\d:\d\d UTC',
                     live.text)
    served.engine.reset_breaker(agent, reason="behind the page's back")
    again = served.client.get("/ui/agents/live").text
    assert "closed: in use" in again and "behind the page&#39;s back" in again
    workers = served.client.get("/ui/workers/live")
    assert workers.status_code == 200 and workers.text.lstrip().startswith(
        '<div id="workers-live"')
    assert "No worker is alive" in workers.text and "<html" not in workers.text
    served.client.cookies.clear()
    assert served.client.get("/ui/agents/live", headers={"HX-Request": "true"}
                             ).headers.get("HX-Redirect", "").startswith("/ui/login")


def _html(event: Event) -> bool:
    return event.event == "html"


def test_the_agents_and_workers_streams_send_their_table_when_it_changes(
        served: Served) -> None:
    agent = _open_breaker(served)
    served.client.app.state.ui_tick = 0.05  # type: ignore[attr-defined]
    served.client.app.state.sse_keepalive = 0.2  # type: ignore[attr-defined]
    signed_in(served, "viewer")
    with served.client.stream("GET", "/ui/agents/stream") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        reader = Reader(r)
        first = reader.until(_html)[-1].data
        assert first.lstrip().startswith('<div id="agents-live"') and "<html" not in first
        assert html.escape(agent) in first and "open: not used" in first
        # nothing changed: no table again, only "same" with when it was read
        same = reader.until(lambda e: e.event == "same")
        assert [e.event for e in same].count("html") == 1 and same[-1].data["at"]
        served.engine.reset_breaker(agent, reason="behind the page's back")
        again = reader.until(_html)[-1].data
        assert "closed: in use" in again and "behind the page&#39;s back" in again
    with served.client.stream("GET", "/ui/workers/stream") as r:
        table = Reader(r).until(_html)[-1].data
        assert table.lstrip().startswith('<div id="workers-live"')
        assert "No worker is alive" in table


@pytest.mark.parametrize("how", ["over HTTP", "from the command line"])
def test_revoking_the_sessions_token_ends_its_table_stream(served: Served, how: str) -> None:
    served.client.app.state.ui_tick = 0.05  # type: ignore[attr-defined]
    # over HTTP the server ends it at once; else it sees it at its next keep-alive
    served.client.app.state.sse_keepalive = 3600 if how == "over HTTP" else 0.1  # type: ignore[attr-defined]
    issued = served.engine.access.create_token("default", "viewer")
    r = served.client.post("/ui/login", data={"token": issued.secret}, follow_redirects=False)
    assert r.status_code == 303
    with served.client.stream("GET", "/ui/workers/stream") as stream:
        reader = Reader(stream)
        reader.until(_html)
        if how == "over HTTP":
            gone = served.client.delete(f"/api/v1/tokens/{issued.row.id}",
                                        headers=served.headers())
            assert gone.status_code == 204
        else:
            served.engine.access.revoke(issued.row.id)
        seen = len(reader.seen)
        rest = until_closed(reader)[seen:]  # returns: the stream ended
    assert all(e.event in ("same", "comment") for e in rest)
    refused = served.client.get("/ui/workers/stream", follow_redirects=False)
    assert refused.status_code == 303 and "/ui/login" in refused.headers["location"]


def test_the_overview_says_the_last_verification(served: Served) -> None:
    signed_in(served, "viewer")
    overview = served.client.get("/ui/").text
    assert 'hx-get="/ui/overview/verified"' in overview and "Ledger verification" in overview
    none = served.client.get("/ui/overview/verified")
    assert none.status_code == 200 and "No verification recorded yet" in none.text
    served.engine.apply(BOOM)
    served.engine.start("boom", {})
    served.engine.run_until_idle()
    r = served.client.post("/api/v1/verify", headers=served.headers("operator"))
    assert r.status_code == 200 and r.json()["verified"] == 1
    ok = served.client.get("/ui/overview/verified").text
    assert "Verified 1 execution at <time" in ok and ": all intact." in ok
    run = served.engine.last_verification()
    assert run is not None and run.ok and run.checked == 1 and run.scope == "all"
    assert f'datetime="{run.at}"' in ok
    # a run that found a broken chain (as `ledgerflow verify` records it) turns it red
    bad = VerifyResult(execution_id="e-<1>", ok=False, entries=3, seq=2,
                       problem=Problem.HASH_MISMATCH, detail="entry 2 changed")
    served.engine.record_verification(5, [bad], scope="some")
    red = served.client.get("/ui/overview/verified").text
    assert "Verified 5 named executions" in red and "1 not intact" in red
    assert 'class="badge verify-bad"' in red
    assert 'href="/ui/executions/e-%3C1%3E">e-&lt;1&gt;</a>: hash mismatch at entry 2' in red
    # another tenant has its own last run: none yet
    with TestClient(served.client.app) as theirs:
        theirs.cookies.set("ledgerflow_session", served.token("viewer", "acme"))
        assert "No verification recorded yet" in theirs.get("/ui/overview/verified").text


def _big(served: Served) -> None:
    """A definition of 541 steps: a start and 12 chains of 45."""
    steps = [{"id": "start", "type": "wait", "signal": "go"}]
    for b in range(12):
        steps += [{"id": f"b{b}-{i}", "type": "wait", "signal": "go",
                   "needs": [f"b{b}-{i - 1}" if i else "start"]} for i in range(45)]
    served.engine.apply({"name": "big", "steps": steps})


def test_a_big_definition_shows_its_collapsed_graph_first(served: Served) -> None:
    _big(served)
    signed_in(served, "viewer")
    first = served.client.get("/ui/definitions/big").text
    assert "Collapsed view: 541 steps in 13 boxes" in first
    assert 'href="?version=1&amp;graph=all"' in first and 'id="group-b3-0"' in first
    every = served.client.get("/ui/definitions/big?version=1&graph=all").text
    assert "Collapsed view" not in every and 'id="step-b3-44"' in every


def test_a_big_executions_page_shows_the_collapsed_graph_first(served: Served) -> None:
    _big(served)
    eid = served.engine.start("big", {})
    signed_in(served, "viewer")
    first = served.client.get(f"/ui/executions/{eid}").text
    assert "Collapsed view: 541 steps in 13 boxes" in first and 'id="group-b3-0"' in first
    every = served.client.get(f"/ui/executions/{eid}?graph=all").text
    assert "Collapsed view" not in every and 'id="step-b3-44"' in every
    # the picture alone, which the page reads again as steps move: boxes counted anew
    assert 'hx-get="/ui/executions/' + eid + '/graph"' in first
    assert 'hx-get="/ui/executions/' + eid + '/graph?graph=all"' in every
    served.engine.run_until_idle()
    served.engine.signal(eid, "go", {})
    served.engine.run_until_idle()
    drawn = served.client.get(f"/ui/executions/{eid}/graph")
    assert drawn.status_code == 200 and drawn.text.startswith("<svg")
    assert "Collapsed view: 541 steps" in drawn.text
    assert "45 steps: 45 pending" in first  # then the first step of each chain waits
    assert re.search(r'id="group-b3-0"[^>]*data-status="running"', drawn.text)
    assert "45 steps: 1 running, 44 pe" in drawn.text
    assert 'id="step-b3-44"' in served.client.get(f"/ui/executions/{eid}/graph?graph=all").text


def test_the_overviews_live_part_is_read_again_for_a_viewer(served: Served) -> None:
    served.engine.apply({"name": "one", "steps": [{"id": "w", "type": "wait",
                                                    "signal": "go"}]})
    signed_in(served, "viewer")
    page = served.client.get("/ui/").text
    assert 'id="overview-live"' in page and 'data-events="/ui/events"' in page
    served.engine.start("one", {})
    live = served.client.get("/ui/overview/live")
    assert live.status_code == 200
    assert re.search(r'id="count-pending">\s*<span class="count">1</span>', live.text)
    assert "<h1>" not in live.text  # the fragment only
    served.client.cookies.clear()
    assert served.client.get("/ui/overview/live", follow_redirects=False).status_code in (
        303, 307, 401)
