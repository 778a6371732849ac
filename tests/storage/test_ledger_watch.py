"""Ledger commits reach a watcher whichever store (connection, process) made them: one
notice per execution whose ledger grew, with its tenant and new head."""

from __future__ import annotations

import queue

from ledgerflow.storage import open_store
from ledgerflow.storage.base import Store
from ledgerflow.storage.notices import LedgerNotice
from tests.storage.conftest import OTHER_TENANT, TENANT, Changes, activation
from tests.support import SAFETY


def _next_notice(heard: queue.Queue[LedgerNotice | None]) -> LedgerNotice:
    """The next notice (skipping the "look again" a (re)connection says)."""
    while True:
        notice = heard.get(timeout=SAFETY)
        if notice is not None:
            return notice


def test_a_commit_by_another_store_reaches_the_watcher(store: Store, changes: Changes) -> None:
    heard: queue.Queue[LedgerNotice | None] = queue.Queue()
    watcher = store.watch_ledger(heard.put)
    other = open_store(store.url)  # another connection, as another process has
    try:
        first = changes.new("e1")
        assert other.commit([first]) == [True]
        assert _next_notice(heard) == LedgerNotice(TENANT, "e1", first.execution.head_seq)
        moved = activation(changes.view("e1"))
        assert other.commit([moved.change]) == [True]
        assert _next_notice(heard) == LedgerNotice(TENANT, "e1", moved.change.execution.head_seq)
        elsewhere = changes.new("e2", tenant=OTHER_TENANT)
        assert store.commit([elsewhere]) == [True]  # this store's own commit too
        assert _next_notice(heard) == LedgerNotice(OTHER_TENANT, "e2",
                                                   elsewhere.execution.head_seq)
    finally:
        watcher.close()
        other.close()


def test_a_closed_watcher_hears_nothing_more(store: Store, changes: Changes) -> None:
    heard: queue.Queue[LedgerNotice | None] = queue.Queue()
    store.watch_ledger(heard.put).close()
    while not heard.empty():
        heard.get()
    assert store.commit([changes.new("e1")]) == [True]
    try:
        notice = heard.get(timeout=0.3)
    except queue.Empty:
        notice = None
    assert notice is None
