"""The feed that wakes long-polls: one watcher reads the heads of the executions someone
waits on and wakes the waiters whose entry arrived; a wait with nothing new ends empty."""

from __future__ import annotations

import threading

from ledgerflow.server.feed import Feed, Key
from tests.support import wait_for


class Heads:
    def __init__(self) -> None:
        self.seq = {("t", "e1"): 3, ("t", "e2"): 7}
        self.read: list[Key] = []

    def __call__(self, key: Key) -> int | None:
        self.read.append(key)
        return self.seq.get(key)


def test_a_waiter_wakes_when_its_execution_moves_and_not_for_another() -> None:
    heads = Heads()
    feed = Feed(heads, interval=0.01)
    woke: list[bool] = []
    waiters = [threading.Thread(target=lambda: woke.append(feed.wait(("t", "e1"), 3, 60)))
               for _ in range(3)]
    for w in waiters:
        w.start()
    wait_for(lambda: feed.waiting() == 3 and ("t", "e1") in heads.read, what="waiting")
    heads.seq[("t", "e2")] = 9  # another execution moving wakes nobody waiting on e1
    wait_for(lambda: heads.read.count(("t", "e1")) > 3, what="more reads")
    assert woke == []
    heads.seq[("t", "e1")] = 4
    for w in waiters:
        w.join()
    assert woke == [True, True, True]
    assert ("t", "e2") not in heads.read  # only what someone waits on is read
    wait_for(lambda: feed.waiting() == 0, what="no waiter")
    feed.close()


def test_a_wait_with_nothing_new_returns_false_and_a_gone_execution_wakes() -> None:
    heads = Heads()
    feed = Feed(heads, interval=0.01)
    assert feed.wait(("t", "e1"), 3, 0.05) is False
    assert feed.wait(("t", "gone"), 0, 60) is True
    feed.close()
