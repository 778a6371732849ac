"""Clocks: the real one, and the fake one that moves only when told to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledgerflow.clock import MovedByHand, SystemClock
from ledgerflow.testing import FakeClock

T0 = datetime(2026, 11, 22, 7, 33, tzinfo=UTC)


def test_a_fake_clock_moves_now_and_monotonic_together_and_tells_its_listeners() -> None:
    clock = FakeClock(T0)
    seen: list[tuple[datetime, float]] = []
    unsubscribe = clock.on_advance(lambda: seen.append((clock.now(), clock.monotonic())))
    clock.advance(1.5)
    clock.advance(0)
    assert seen == [(T0 + timedelta(seconds=1.5), 1.5), (T0 + timedelta(seconds=1.5), 1.5)]
    unsubscribe()
    unsubscribe()  # twice is harmless
    clock.advance(1)
    assert len(seen) == 2 and clock.monotonic() == 2.5


def test_a_fake_clock_does_not_go_backwards() -> None:
    clock = FakeClock(T0)
    with pytest.raises(ValueError, match="does not go backwards"):
        clock.advance(-1)
    assert (clock.now(), clock.monotonic()) == (T0, 0.0)


def test_only_a_clock_moved_by_hand_is_one() -> None:
    """A worker subscribes to clocks that jump; the real clock never does."""
    assert isinstance(FakeClock(), MovedByHand)
    assert not isinstance(SystemClock(), MovedByHand)
