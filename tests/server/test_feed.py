"""The feed that wakes long-polls and event streams: the watcher's notices wake the waiters
of that execution (and of its tenant), never others; a wait with nothing new ends empty; a
"look again" (after a reconnection) makes waiters read the head again."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ledgerflow.server.feed import Feed
from ledgerflow.server.waiters import Key, Waiter
from ledgerflow.storage.notices import LedgerNotice
from tests.support import wait_for

Heard = Callable[[LedgerNotice | None], None]


class Source:
    """A stand-in for ``Store.watch_ledger`` and the heads in the database."""

    def __init__(self) -> None:
        self.seq: dict[Key, int] = {("t", "e1"): 3, ("t", "e2"): 7}
        self.read: list[Key] = []
        self.heard: Heard | None = None
        self.watching = 0
        self.closed = 0

    def watch(self, heard: Heard) -> Source:
        self.heard = heard
        self.watching += 1
        return self

    def close(self) -> None:
        self.closed += 1

    def head_of(self, key: Key) -> int | None:
        self.read.append(key)
        return self.seq.get(key)

    def commit(self, key: Key, head: int) -> None:
        self.seq[key] = head
        assert self.heard is not None
        self.heard(LedgerNotice(key[0], key[1], head))


def test_a_waiter_wakes_when_its_execution_moves_and_not_for_another() -> None:
    source = Source()
    feed = Feed(source.watch, source.head_of)
    woke: list[bool] = []
    waiters = [threading.Thread(target=lambda: woke.append(feed.wait(("t", "e1"), 3, 60)))
               for _ in range(3)]
    for w in waiters:
        w.start()
    wait_for(lambda: feed.waiting() == 3, what="waiting")
    source.commit(("t", "e2"), 9)  # another execution moving wakes nobody waiting on e1
    source.commit(("t", "e1"), 3)  # nor a head they have
    assert woke == [] and feed.waiting() == 3
    source.commit(("t", "e1"), 4)
    for w in waiters:
        w.join()
    assert woke == [True, True, True]
    assert source.read == [("t", "e1")] * 3  # one read each as it began, none after
    assert source.watching == 1  # one watcher, however many wait
    assert feed.waiting() == 0
    feed.close()
    assert source.closed == 1


def test_a_wait_with_nothing_new_returns_false_and_a_gone_execution_wakes() -> None:
    source = Source()
    feed = Feed(source.watch, source.head_of)
    assert feed.wait(("t", "e1"), 3, 0.05) is False
    assert feed.wait(("t", "gone"), 0, 60) is True
    assert feed.wait(("t", "e2"), 3, 60) is True  # committed before it waited
    feed.close()


def test_after_a_look_again_a_waiter_reads_the_head_once_more() -> None:
    source = Source()
    feed = Feed(source.watch, source.head_of)
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(feed.wait(("t", "e1"), 3, 60)))
    waiter.start()
    wait_for(lambda: feed.waiting() == 1, what="waiting")
    assert source.heard is not None
    source.heard(None)  # reconnected: nothing moved, it waits on
    wait_for(lambda: len(source.read) == 2, what="a second read")
    assert woke == []
    source.seq[("t", "e1")] = 5  # committed while the notices were lost
    source.heard(None)
    waiter.join()
    assert woke == [True]
    feed.close()


def test_tenant_waiters_collect_the_heads_of_their_tenant_only() -> None:
    source = Source()
    feed = Feed(source.watch, source.head_of)
    rings: list[str] = []
    mine = Waiter(tenant="t", execution_id=None, wake=lambda: rings.append("t"))
    theirs = Waiter(tenant="u", execution_id=None, wake=lambda: rings.append("u"))
    feed.join(mine)
    feed.join(theirs)
    source.commit(("t", "e1"), 4)
    source.commit(("t", "e1"), 5)
    source.commit(("t", "e2"), 8)
    assert rings == ["t", "t", "t"]
    assert feed.take(mine).changed == {"e1": 5, "e2": 8}
    assert feed.take(mine).changed == {}
    feed.leave(mine)
    source.commit(("t", "e1"), 6)
    assert rings == ["t", "t", "t"]
    feed.close()
