"""Live events over HTTP on each backend: an execution's entries stream once and in order and
end with ``end``; a client resumes after Last-Event-ID with no gap and no duplicate; a commit
by another App (another process's connection) wakes the stream; idle streams get keep-alive
comments; a token holds at most 4 streams; another tenant's execution is 404; the tenant-wide
stream tells list pages which execution changed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ledgerflow import App
from ledgerflow.testing import FakeClock
from tests.server.conftest import Served
from tests.server.sse_client import Event, Reader, read_until, until_closed
from tests.support import SAFETY

WAITS = {"name": "waits", "steps": [{"id": "w", "type": "wait", "signal": "go"}]}
ECHO = {"name": "echo", "steps": [{"id": "a", "agent": "t.echo", "output": "a"},
                                  {"id": "b", "agent": "t.echo", "needs": ["a"]},
                                  {"id": "c", "agent": "t.echo", "needs": ["b"]}]}
API = "/api/v1/executions"


@pytest.fixture
def live(served: Served) -> Iterator[Served]:
    served.client.app.state.sse_keepalive = 0.1  # type: ignore[attr-defined]
    yield served


def _waiting(served: Served) -> str:
    served.engine.apply(WAITS)
    return served.engine.start("waits", {})


def _ended(event: Event) -> bool:
    return event.event == "end"


def _entries(got: list[Event]) -> list[int]:
    return [e.id for e in got if e.event == "entry" and e.id is not None]


def test_a_run_by_a_worker_streams_every_entry_once_in_order_then_end(live: Served) -> None:
    live.engine.apply(ECHO)
    eid = live.engine.start("echo", {"x": 1})
    with live.client.stream("GET", f"{API}/{eid}/events",
                            headers=live.headers("viewer")) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        reader = Reader(r)
        first = reader.until(lambda e: e.event == "progress")
        assert first[0] == Event("retry", 3000)
        worker = threading.Thread(target=live.engine.run_until_idle)
        worker.start()
        got = reader.until(_ended)
        worker.join()
    history = live.engine.history(eid)
    assert _entries(got) == [h.seq for h in history]  # every entry once, in order
    sent = {e.id: e.data for e in got if e.event == "entry"}
    items = live.client.get(f"{API}/{eid}/history?limit=500",
                            headers=live.headers("viewer")).json()["items"]
    assert [sent[i["seq"]] for i in items] == items  # as history gives them
    assert got[-1].data == {"status": "completed", "version": history[-1].seq}
    progress = [e.data for e in got if e.event == "progress"]
    assert progress[-1]["completed"] == progress[-1]["total"] == 3
    assert progress[-1]["percentage"] == 100


def test_a_client_resumes_after_last_event_id_with_no_gap_nor_duplicate(
        live: Served) -> None:
    eid = _waiting(live)
    viewer = live.headers("viewer")
    with live.client.stream("GET", f"{API}/{eid}/events", headers=viewer) as r:
        before = _entries(read_until(r, lambda e: e.event == "progress"))
    assert before == list(range(1, live.engine.execution(eid).head_seq + 1))
    wait_for_no_waiter(live)
    live.engine.signal(eid, "go", {"ok": True})  # committed while the client was away
    live.engine.run_until_idle()
    with live.client.stream("GET", f"{API}/{eid}/events",
                            headers=viewer | {"Last-Event-ID": str(before[-1])}) as r:
        after = _entries(read_until(r, _ended))
    assert after == list(range(before[-1] + 1, live.engine.execution(eid).head_seq + 1))
    with live.client.stream("GET", f"{API}/{eid}/events?after_seq=2", headers=viewer) as r:
        assert _entries(read_until(r, _ended))[0] == 3


def wait_for_no_waiter(served: Served) -> None:
    from tests.support import wait_for

    wait_for(lambda: served.client.app.state.feed.waiting() == 0,  # type: ignore[attr-defined]
             what="the closed stream lets go of its waiter")


def test_a_commit_by_another_app_wakes_the_stream(live: Served, backend_url: str) -> None:
    eid = _waiting(live)
    with live.client.stream("GET", f"{API}/{eid}/events",
                            headers=live.headers("viewer")) as r:
        reader = Reader(r)
        head = _entries(reader.until(lambda e: e.event == "progress"))[-1]
        other = App(backend_url)  # its own connections, as another process has
        try:
            other.signal(eid, "go", {"from": "elsewhere"})
        finally:
            other.close()
        got = reader.until(lambda e: e.event == "entry" and e.id is not None and e.id > head)
    assert got[-1].id == head + 1
    assert got[-1].data["event_type"].startswith("signal")


TALKS = {"name": "talks", "steps": [{"id": "a", "agent": "t.talk"},
                                    {"id": "b", "agent": "t.talk", "needs": ["a"]}]}


def _talking(served: Served) -> str:
    @served.engine.agent("t.talk")
    def talk(ctx: object, data: object) -> dict[str, bool]:
        ctx.log("said", n=1)  # type: ignore[attr-defined]
        return {"ok": True}

    served.engine.apply(TALKS)
    return served.engine.start("talks", {})


def test_step_changes_and_logs_stream_with_the_entries(live: Served) -> None:
    eid = _talking(live)
    live.engine.run_until_idle()
    with live.client.stream("GET", f"{API}/{eid}/events",
                            headers=live.headers("viewer")) as r:
        got = read_until(r, _ended)
    history = live.engine.history(eid)
    moved = [e.data for e in got if e.event == "step"]
    assert moved == [{"step_id": h.step_id, "status": h.to_state, "attempt": h.attempt,
                      "seq": h.seq} for h in history if h.step_id and h.to_state]
    assert [m["status"] for m in moved if m["step_id"] == "b"][-1] == "completed"
    for i, event in enumerate(got):  # a step event follows the entry that moved the step
        if event.event == "step":
            assert got[i - 1].event == "entry" and got[i - 1].id == event.data["seq"]
    logs = [e.data for e in got if e.event == "log"]
    assert logs == [r.to_dict() for r in live.engine.logs(eid)]
    said = [(x["step_id"], x["fields"]) for x in logs if x["message"] == "said"]
    assert said == [("a", {"attempt": 1, "n": 1}), ("b", {"attempt": 1, "n": 1})]


def test_a_resumed_stream_sends_the_logs_after_logs_after_or_only_new_ones(
        live: Served) -> None:
    eid = _talking(live)
    live.engine.run_until_idle()
    records = live.engine.logs(eid)
    assert len(records) >= 2
    viewer = live.headers("viewer")
    first = records[0].id
    with live.client.stream("GET", f"{API}/{eid}/events?after_seq=1&logs_after={first}",
                            headers=viewer) as r:
        logs = [e.data["id"] for e in read_until(r, _ended) if e.event == "log"]
    assert logs == [x.id for x in records[1:]]
    with live.client.stream("GET", f"{API}/{eid}/events",
                            headers={**viewer, "Last-Event-ID": "1"}) as r:
        got = read_until(r, _ended)
    assert [e for e in got if e.event == "log"] == []  # resumed: only logs from now on
    assert _entries(got)[0] == 2


def test_an_idle_stream_gets_keep_alive_comments(live: Served) -> None:
    eid = _waiting(live)
    with live.client.stream("GET", f"{API}/{eid}/events",
                            headers=live.headers("viewer")) as r:
        got = read_until(r, lambda e: e.event == "comment")
    assert got[-1].data == "keep-alive"


def test_a_fifth_stream_of_a_token_is_429_until_one_closes(live: Served) -> None:
    eid = _waiting(live)
    viewer = live.headers("viewer")
    url = f"{API}/{eid}/events"
    streams = [live.client.stream("GET", url, headers=viewer) for _ in range(4)]
    opened = [s.__enter__() for s in streams]
    try:
        assert [r.status_code for r in opened] == [200] * 4
        fifth = live.client.get("/api/v1/events", headers=viewer)
        assert fifth.status_code == 429, fifth.text
        assert fifth.headers["retry-after"].isdigit()
        assert fifth.json()["code"] == "too-many-streams"
        with live.client.stream("GET", url, headers=live.headers("viewer")) as other_token:
            assert other_token.status_code == 200  # the limit is per token
    finally:
        streams.pop().__exit__(None, None, None)
    try:
        with live.client.stream("GET", url, headers=viewer) as r:
            assert r.status_code == 200
    finally:
        for s in streams:
            s.__exit__(None, None, None)


def test_another_tenants_execution_is_404_like_a_missing_one(live: Served) -> None:
    eid = _waiting(live)
    theirs = live.client.get(f"{API}/{eid}/events", headers=live.headers("viewer", "acme"))
    missing = live.client.get(f"{API}/nope-nope-nope/events",
                              headers=live.headers("viewer", "acme"))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["code"] == missing.json()["code"]


def test_a_viewer_may_stream_and_a_metrics_token_may_not(live: Served) -> None:
    eid = _waiting(live)
    with live.client.stream("GET", f"{API}/{eid}/events",
                            headers=live.headers("viewer")) as r:
        assert r.status_code == 200
    for url in (f"{API}/{eid}/events", "/api/v1/events"):
        r = live.client.get(url, headers=live.headers("metrics"))
        assert r.status_code == 403, r.text
    assert live.client.get("/api/v1/events").status_code == 401


def test_a_malformed_last_event_id_is_400(live: Served) -> None:
    eid = _waiting(live)
    r = live.client.get(f"{API}/{eid}/events",
                        headers=live.headers("viewer") | {"Last-Event-ID": "abc"})
    assert r.status_code == 400 and "Last-Event-ID" in r.json()["detail"]


def test_the_tenant_stream_tells_which_execution_changed(live: Served) -> None:
    live.engine.apply(WAITS)
    mine = live.engine.start("waits", {})
    acme = live.engine.for_tenant("acme")
    live.headers("viewer", "acme")  # makes the tenant
    acme.apply(WAITS)
    theirs = acme.start("waits", {})
    with live.client.stream("GET", "/api/v1/events", headers=live.headers("viewer")) as r:
        reader = Reader(r)
        reader.until(lambda e: e.event == "retry")
        acme.signal(theirs, "go", {})  # another tenant's change: not for this stream
        live.engine.signal(mine, "go", {})
        got = reader.until(lambda e: e.event == "execution")
    assert got[-1].data["id"] == mine
    assert got[-1].data["version"] == live.engine.execution(mine).head_seq
    assert got[-1].data["workflow"] == "waits"
    assert all(e.data["id"] != theirs for e in got if e.event == "execution")


def test_open_streams_are_a_gauge(live: Served) -> None:
    from tests.server.test_metrics import scrape

    eid = _waiting(live)
    assert scrape(live)[("ledgerflow_sse_streams", ())] == 0
    with live.client.stream("GET", f"{API}/{eid}/events",
                            headers=live.headers("viewer")) as r:
        assert r.status_code == 200
        assert scrape(live)[("ledgerflow_sse_streams", ())] == 1


@pytest.mark.parametrize("how", ["over HTTP", "from the command line"])
def test_revoking_a_token_ends_its_open_streams(live: Served, how: str) -> None:
    if how == "over HTTP":  # at once: no keep-alive comes before the test gives up
        live.client.app.state.sse_keepalive = 3600  # type: ignore[attr-defined]
    eid = _waiting(live)
    issued = live.engine.access.create_token("default", "viewer")
    viewer = {"Authorization": f"Bearer {issued.secret}"}
    with live.client.stream("GET", f"{API}/{eid}/events", headers=viewer) as one, \
            live.client.stream("GET", "/api/v1/events", headers=viewer) as every:
        readers = [Reader(one), Reader(every)]
        for reader in readers:
            reader.until(lambda e: e.event == "retry")
        if how == "over HTTP":  # this server ends them at once
            r = live.client.delete(f"/api/v1/tokens/{issued.row.id}", headers=live.headers())
            assert r.status_code == 204
        else:  # another process: the streams see it at their next keep-alive
            live.engine.access.revoke(issued.row.id)
        closing = [threading.Thread(target=until_closed, args=(r,)) for r in readers]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join(SAFETY)
            assert not thread.is_alive(), "a stream of the revoked token stays open"
    assert live.client.get(f"{API}/{eid}/events", headers=viewer).status_code == 401
    wait_for_no_waiter(live)


def test_on_a_real_server_a_client_that_leaves_lets_go_at_once(
        served: Served, backend_url: str) -> None:
    """Through uvicorn and a socket, with no keep-alive due for an hour: the server sees the
    client leave, and the stream lets go of its waiter and its slot."""
    import socket

    import httpx2
    import uvicorn

    from ledgerflow.server.app import create_app
    from tests.support import wait_for

    eid = _waiting(served)
    api = create_app(served.engine, keepalive=3600)
    server = uvicorn.Server(uvicorn.Config(api, log_level="warning", lifespan="on"))
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    running = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    running.start()
    try:
        wait_for(lambda: server.started, what="the server listens")
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=SAFETY) as client, \
                client.stream("GET", f"{API}/{eid}/events",
                              headers=served.headers("viewer")) as r:
            assert r.status_code == 200
            reader = Reader(r)  # held: a dropped reader closes the response, and so leaves
            reader.until(lambda e: e.event == "progress")
            # the stream waits on the feed once it has sent what there is
            wait_for(lambda: api.state.feed.waiting() == 1 and api.state.streams.open() == 1,
                     what="the stream waits for the next commit")
            assert reader.seen[-1].event == "progress"  # the stream is still open
        wait_for(lambda: api.state.feed.waiting() == 0 and api.state.streams.open() == 0,
                 what="the stream lets go when its client leaves")
    finally:
        server.should_exit = True
        running.join(SAFETY)
        sock.close()


def test_progress_carries_the_eta_by_the_median_of_earlier_runs(
        served: Served, clock: FakeClock) -> None:
    served.client.app.state.sse_keepalive = 0.1  # type: ignore[attr-defined]
    first = _waiting(served)
    served.engine.run_until_idle()
    clock.advance(60)  # the first run takes 60 s
    served.engine.signal(first, "go", {})
    served.engine.run_until_idle()
    assert served.engine.status(first).status == "completed"
    eid = served.engine.start("waits", {})
    served.engine.run_until_idle()
    clock.advance(20)
    viewer = served.headers("viewer")
    with served.client.stream("GET", f"{API}/{eid}/events", headers=viewer) as r:
        running = [e.data for e in read_until(r, lambda e: e.event == "progress")
                   if e.event == "progress"]
    assert running[-1]["status"] == "waiting" and running[-1]["eta_ms"] == 40_000
    served.engine.signal(eid, "go", {})
    served.engine.run_until_idle()
    with served.client.stream("GET", f"{API}/{eid}/events", headers=viewer) as r:
        done = [e.data for e in read_until(r, _ended) if e.event == "progress"]
    assert done[-1]["status"] == "completed" and done[-1]["eta_ms"] is None
