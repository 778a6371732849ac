"""An unambiguous prefix of 8 or more characters names an execution wherever an id does,
on both backends, within the tenant; an ambiguous one is "not found" with its candidates;
a shorter one is an exact id only. The lookup reads the primary-key index."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledgerflow import App, errors
from ledgerflow.storage import open_store, queries

FLOW = {"name": "two", "steps": [
    {"id": "a", "agent": "t.ok", "output": "a"},
    {"id": "w", "type": "wait", "signal": "go", "needs": ["a"]},
]}
IDS = ["c0ffee01-1111-4a4a-8b8b-000000000001", "c0ffee02-2222-4a4a-8b8b-000000000002",
       "c0ffee02-2222-4a4a-8b8b-000000000003"]


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    url = request.getfixturevalue("pg_url") if request.param == "postgres" \
        else f"sqlite:///{tmp_path / 'prefix.db'}"
    with App(url) as found:
        found.agent("t.ok")(lambda ctx, data: {"ok": True})
        found.apply(FLOW)
        for execution_id in IDS:
            found.start("two", {}, execution_id=execution_id)
        found.run_until_idle()
        yield found


UNIQUE = "c0ffee01"  # IDS[0] only: the shortest prefix that names it
SHARED = "c0ffee02-2222"  # IDS[1] and IDS[2]

# every App call that takes an execution id, with what it returns that names the execution
READS: dict[str, Callable[[App, str], Any]] = {
    "execution": lambda app, i: app.execution(i).id,
    "status": lambda app, i: app.status(i).id,
    "history": lambda app, i: app.history(i)[0].seq,
    "state": lambda app, i: app.state(i).execution_id,
    "state_diff": lambda app, i: app.state_diff(i, 1, 2),
    "routing": lambda app, i: app.routing(i)[0].execution_id,
    "logs": lambda app, i: app.logs(i) is not None,
    "metrics": lambda app, i: app.metrics(i).steps_total,
    "forks": lambda app, i: app.forks(i),
    "verify": lambda app, i: app.verify(i).execution_id,
}


@pytest.mark.parametrize("read", sorted(READS))
def test_a_unique_prefix_reads_like_the_id(app: App, read: str) -> None:
    assert READS[read](app, UNIQUE) == READS[read](app, IDS[0])


def test_a_unique_prefix_controls_like_the_id(app: App) -> None:
    app.signal(UNIQUE, "nothing", {"x": 1})
    app.pause(UNIQUE, "look")
    app.set_state(UNIQUE, "checked", True)
    app.patch_state(UNIQUE, {"note": "ok"})
    app.resume(IDS[0][:20])
    app.run_until_idle()
    assert app.execution(IDS[0]).status == "waiting"
    assert app.state(IDS[0]).state == {"a": {"ok": True}, "checked": True, "note": "ok"}
    fork = app.fork(UNIQUE)
    assert app.execution(fork).forked_from == IDS[0]
    app.signal(UNIQUE, "go")
    app.run_until_idle()
    assert app.execution(IDS[0]).status == "completed"
    assert app.rerun(UNIQUE, "w") == ["w"]
    assert app.cancel(UNIQUE) is True
    assert app.execution(IDS[0]).status == "cancelled"


def test_an_ambiguous_prefix_is_not_found_with_its_candidates(app: App) -> None:
    with pytest.raises(errors.AmbiguousExecutionId) as ambiguous:
        app.status(SHARED)
    assert isinstance(ambiguous.value, errors.ExecutionNotFound)
    assert ambiguous.value.candidates == tuple(IDS[1:])
    assert ambiguous.value.id == SHARED
    assert str(ambiguous.value) == (
        f"execution id prefix {SHARED!r} is ambiguous: the ids of 2 executions start with it "
        f"({IDS[1]}, {IDS[2]}); give more of the id")
    with pytest.raises(errors.AmbiguousExecutionId):
        app.cancel(SHARED[:8])
    assert {app.execution(i).status for i in IDS[1:]} == {"waiting"}  # nothing cancelled


def test_many_candidates_are_cut_to_a_few(app: App) -> None:
    for n in range(4, 7):
        app.start("two", {}, execution_id=f"c0ffee02-2222-extra-{n}")
    with pytest.raises(errors.AmbiguousExecutionId) as ambiguous:
        app.status(SHARED)
    assert len(ambiguous.value.candidates) == 3
    assert "more than 3 executions" in str(ambiguous.value) and ", …)" in str(ambiguous.value)


def test_fewer_than_eight_characters_are_an_exact_id(app: App) -> None:
    with pytest.raises(errors.ExecutionNotFound) as unknown:
        app.status(UNIQUE[:7])
    assert not isinstance(unknown.value, errors.AmbiguousExecutionId)


def test_an_exact_id_wins_over_a_prefix(app: App) -> None:
    app.start("two", {}, execution_id=IDS[0] + "-again")
    assert app.status(IDS[0]).id == IDS[0]


def test_prefixes_stay_in_their_tenant(app: App) -> None:
    other = app.for_tenant("acme")
    other.apply(FLOW)
    other.start("two", {}, execution_id="c0ffee01-acme")
    assert app.status(UNIQUE).id == IDS[0]  # acme's id does not make it ambiguous
    assert other.status(UNIQUE).id == "c0ffee01-acme"
    with pytest.raises(errors.ExecutionNotFound):
        app.for_tenant("nobody").status(UNIQUE)


def test_sqlite_reads_the_prefix_from_the_primary_key(tmp_path: Path) -> None:
    open_store(f"sqlite:///{tmp_path / 'plan.db'}").close()
    sql = queries.load("sqlite")["execution_ids_by_prefix"]
    with closing(sqlite3.connect(tmp_path / "plan.db")) as conn:
        plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}",
                            {"low": "a", "high": "b", "tenant_id": "t", "limit": 2}).fetchall()
    details = " ".join(row[-1] for row in plan)
    assert "sqlite_autoindex_executions_1 (id>? AND id<?)" in details, details
    assert "TEMP B-TREE" not in details


def test_postgres_reads_the_prefix_from_the_primary_key(pg_url: str) -> None:
    sql = queries.load("postgres")["execution_ids_by_prefix"]
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET enable_seqscan = off")  # a tiny table: show what the index does
        plan = conn.execute(f"EXPLAIN {sql}", {"low": "a", "high": "b", "tenant_id": "t",
                                               "limit": 2}).fetchall()
    details = " ".join(row[0] for row in plan)
    assert "executions_pkey" in details, details
    assert "executions_by" not in details, details
