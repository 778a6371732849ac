"""Wake-ups read in id order although ids may commit out of order."""

from __future__ import annotations

from ledgerflow.engine.worker.wake_cursor import WakeCursor


def test_each_wake_up_is_seen_once_and_the_cursor_moves_over_seen_ids() -> None:
    cursor = WakeCursor(position=10)
    assert cursor.see([(11, "a"), (12, "b"), (12, "b")], now=0.0) == ["a", "b"]
    assert cursor.position == 12
    assert cursor.see([(13, "a")], now=0.0) == ["a"]
    assert cursor.see([(13, "a")], now=0.0) == []


def test_a_wake_up_committed_late_below_a_seen_id_is_not_missed() -> None:
    cursor = WakeCursor(position=0)
    assert cursor.see([(2, "late-writer-won")], now=0.0) == ["late-writer-won"]
    assert cursor.position == 0  # id 1 not seen yet: the next read starts after 0 again
    assert cursor.see([(1, "slow"), (2, "late-writer-won")], now=1.0) == ["slow"]
    assert cursor.position == 2


def test_a_hole_that_never_fills_is_given_up_on_after_the_gap_time() -> None:
    cursor = WakeCursor(position=0, gap_seconds=30.0)
    cursor.see([(2, "x")], now=0.0)
    cursor.see([(2, "x")], now=29.0)
    assert cursor.position == 0
    assert cursor.see([(2, "x"), (3, "y")], now=31.0) == ["y"]
    assert cursor.position == 3


def test_the_same_execution_woken_twice_in_one_read_is_listed_once() -> None:
    assert WakeCursor().see([(1, "a"), (2, "a")], now=0.0) == ["a"]
