"""Idempotency keys in the store, on every backend: claimed by one request at a time,
answered once, released, taken over when expired, purged."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from ledgerflow.storage import open_store
from ledgerflow.storage.base import Store

T0 = "2026-12-05T10:00:00.000000Z"
T1 = "2026-12-05T10:05:00.000000Z"
DAY = "2026-12-06T10:00:00.000000Z"
LATER = "2026-12-06T10:00:00.000001Z"


def test_the_first_claim_wins_and_the_next_finds_it_in_flight(store: Store) -> None:
    row, claimed = store.claim_idempotency_key("acme", "k1", "f1", now=T0, expires_at=T1)
    assert claimed is True
    assert (row.state, row.fingerprint, row.created_at, row.expires_at) == (
        "in_flight", "f1", T0, T1)
    assert (row.status, row.body, row.content_type) == (None, None, None)
    again, claimed = store.claim_idempotency_key("acme", "k1", "f2", now=T0, expires_at=T1)
    assert claimed is False and again == row  # the stored row, its fingerprint kept


def test_a_finished_claim_holds_its_answer_until_it_expires(store: Store) -> None:
    row, _ = store.claim_idempotency_key("acme", "k1", "f1", now=T0, expires_at=T1)
    assert store.finish_idempotency_key("acme", "k1", claimed_at=row.created_at, status=201,
                                        body='{"id": 1}',
                                        headers={"content-type": "application/json",
                                                 "location": "/x/1"},
                                        expires_at=DAY) is True
    done, claimed = store.claim_idempotency_key("acme", "k1", "f1", now=T1, expires_at=DAY)
    assert claimed is False
    assert (done.state, done.status, done.body, done.content_type, done.expires_at) == (
        "done", 201, '{"id": 1}', "application/json", DAY)
    assert json.loads(done.headers or "") == {"content-type": "application/json",
                                              "location": "/x/1"}
    assert store.finish_idempotency_key("acme", "k1", claimed_at=T0, status=200, body="{}",
                                        headers={}, expires_at=DAY) is False
    assert store.release_idempotency_key("acme", "k1", claimed_at=T0) is False  # done: kept
    fresh, claimed = store.claim_idempotency_key("acme", "k1", "f2", now=DAY, expires_at=LATER)
    assert claimed is True and (fresh.state, fresh.fingerprint, fresh.status,
                                fresh.headers) == ("in_flight", "f2", None, None)


def test_keys_are_per_tenant(store: Store) -> None:
    assert store.claim_idempotency_key("acme", "k1", "f1", now=T0, expires_at=T1)[1] is True
    assert store.claim_idempotency_key("other", "k1", "f1", now=T0, expires_at=T1)[1] is True
    assert store.claim_idempotency_key("acme", "k1", "f1", now=T0, expires_at=T1)[1] is False


def test_a_released_claim_frees_the_key_and_only_its_own_claim_is_released(
        store: Store) -> None:
    row, _ = store.claim_idempotency_key("acme", "k1", "f1", now=T0, expires_at=T1)
    assert store.release_idempotency_key("acme", "k1", claimed_at="1999-01-01") is False
    assert store.release_idempotency_key("acme", "k1", claimed_at=row.created_at) is True
    assert store.release_idempotency_key("acme", "k1", claimed_at=row.created_at) is False
    assert store.claim_idempotency_key("acme", "k1", "f2", now=T0, expires_at=T1)[1] is True


def test_an_expired_claim_is_taken_over_and_the_old_one_can_no_longer_finish(
        store: Store) -> None:
    store.claim_idempotency_key("acme", "k1", "f1", now=T0, expires_at=T1)
    row, claimed = store.claim_idempotency_key("acme", "k1", "f2", now=T1, expires_at=DAY)
    assert claimed is True and row.created_at == T1 and row.fingerprint == "f2"
    assert store.finish_idempotency_key("acme", "k1", claimed_at=T0, status=200, body="{}",
                                        headers={}, expires_at=DAY) is False
    assert store.release_idempotency_key("acme", "k1", claimed_at=T0) is False
    assert store.finish_idempotency_key("acme", "k1", claimed_at=T1, status=200, body="{}",
                                        headers={}, expires_at=DAY) is True


def test_purge_deletes_expired_rows_only(store: Store) -> None:
    store.claim_idempotency_key("acme", "old", "f", now=T0, expires_at=T1)
    store.claim_idempotency_key("acme", "new", "f", now=T0, expires_at=DAY)
    assert store.purge_idempotency_keys(T0) == 0
    assert store.purge_idempotency_keys(T1) == 1
    assert store.claim_idempotency_key("acme", "new", "g", now=T1, expires_at=DAY)[1] is False
    assert store.claim_idempotency_key("acme", "old", "g", now=T0, expires_at=T1)[1] is True


def test_of_racing_claims_exactly_one_wins(store: Store) -> None:
    """Claims of the same keys from separate stores (connections) at once."""
    others = [open_store(store.url) for _ in range(3)]
    keys = [f"race-{i}" for i in range(20)]
    start = threading.Barrier(4)

    def run(claimer: Store) -> list[bool]:
        start.wait()
        return [claimer.claim_idempotency_key("acme", key, "f", now=T0, expires_at=T1)[1]
                for key in keys]

    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(run, [store, *others]))
    finally:
        for other in others:
            other.close()
    assert [sum(won) for won in zip(*results, strict=True)] == [1] * len(keys)
