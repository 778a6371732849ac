"""The record of a verification run (pure): what it keeps and reads back, and that a record
it cannot read is no run rather than a crash."""

from __future__ import annotations

from ledgerflow.engine.reports.verification import FAILURES_KEPT, Verification
from ledgerflow.ledger.verify import Problem, VerifyResult


def test_a_run_round_trips_through_its_record_keeping_the_first_failures() -> None:
    bad = [VerifyResult(execution_id=f"e{i}", ok=False, entries=4, seq=3,
                        problem=Problem.GAP, detail="seq 3 missing") for i in range(25)]
    run = Verification.of("2026-12-05T22:00:00.000000Z", 100, bad, "all", "root@vm")
    assert not run.ok and run.checked == 100 and run.failed == 25
    assert len(run.failures) == FAILURES_KEPT
    assert run.failures[0] == {"execution_id": "e0", "seq": 3, "problem": "gap",
                               "detail": "seq 3 missing"}
    assert Verification.from_record(run.at, run.fields()) == run
    intact = Verification.of(run.at, 3, [], "some", "")
    assert intact.ok and Verification.from_record(run.at, intact.fields()) == intact


def test_a_record_it_cannot_read_is_no_run() -> None:
    for fields in ("not json", "[]", '{"checked": 1}', '{"checked": "x", "failed": 0}'):
        assert Verification.from_record("2026-12-05T22:00:00Z", fields) is None
