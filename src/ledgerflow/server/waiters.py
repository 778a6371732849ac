"""Who waits for what, and whom a ledger commit wakes. Pure: no thread, no database; the
feed (``server.feed``) holds the lock around every call and does the waking.

A waiter waits on one execution for an entry after ``after_seq`` (the long-poll of
``history``, an execution's event stream), or on every execution of its tenant (the
tenant-wide event stream, ``execution_id`` None), which collects the heads it heard until
its stream takes them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

Key = tuple[str, str]  # (tenant, execution id)
At = TypeVar("At")


class Notice(Protocol):
    """A ledger commit as the store's watcher tells it (``storage.notices.LedgerNotice``)."""

    @property
    def tenant(self) -> str: ...

    @property
    def execution_id(self) -> str: ...

    @property
    def head_seq(self) -> int: ...


@dataclass(eq=False, kw_only=True)
class Waiter:
    tenant: str
    execution_id: str | None  # None: every execution of the tenant
    wake: Callable[[], None]  # called by the feed (any thread, must not block)
    after_seq: int = 0
    news: bool = False  # an entry after ``after_seq`` was committed
    changed: dict[str, int] = field(default_factory=dict)  # tenant-wide: id -> head heard
    look_again: bool = False  # notices may have been missed: read again

    @property
    def key(self) -> Key | None:
        return None if self.execution_id is None else (self.tenant, self.execution_id)


@dataclass(frozen=True, kw_only=True)
class News:
    """What a waiter heard since it last took its news."""

    arrived: bool
    changed: dict[str, int]
    look_again: bool


class Board:
    def __init__(self) -> None:
        self._on_key: dict[Key, list[Waiter]] = {}
        self._on_tenant: dict[str, list[Waiter]] = {}

    def add(self, waiter: Waiter) -> None:
        key = waiter.key
        if key is None:
            self._on_tenant.setdefault(waiter.tenant, []).append(waiter)
        else:
            self._on_key.setdefault(key, []).append(waiter)

    def remove(self, waiter: Waiter) -> None:
        key = waiter.key
        if key is None:
            _discard(self._on_tenant, waiter.tenant, waiter)
        else:
            _discard(self._on_key, key, waiter)

    def count(self) -> int:
        return sum(map(len, self._on_key.values())) + sum(map(len, self._on_tenant.values()))

    def watched(self) -> list[Key]:
        """The executions someone waits on."""
        return list(self._on_key)

    def heard(self, notice: Notice) -> list[Waiter]:
        """A commit: the waiters it wakes (those of that execution waiting for a later
        entry than they have, those of its tenant)."""
        woken = []
        for waiter in self._on_key.get((notice.tenant, notice.execution_id), ()):
            if notice.head_seq > waiter.after_seq:
                waiter.news = True
                woken.append(waiter)
        for waiter in self._on_tenant.get(notice.tenant, ()):
            seen = waiter.changed.get(notice.execution_id, -1)
            waiter.changed[notice.execution_id] = max(seen, notice.head_seq)
            woken.append(waiter)
        return woken

    def missed(self) -> list[Waiter]:
        """Notices may have been lost (a reconnection): every waiter should read again."""
        everyone = [w for ws in (*self._on_key.values(), *self._on_tenant.values())
                    for w in ws]
        for waiter in everyone:
            waiter.look_again = True
        return everyone

    @staticmethod
    def take(waiter: Waiter, after_seq: int | None = None) -> News:
        """The waiter's news, forgotten now; ``after_seq``: it has read that far."""
        news = News(arrived=waiter.news, changed=waiter.changed,
                    look_again=waiter.look_again)
        waiter.news, waiter.changed, waiter.look_again = False, {}, False
        if after_seq is not None:
            waiter.after_seq = after_seq
        return news


def _discard(where: dict[At, list[Waiter]], at: At, waiter: Waiter) -> None:
    found = where.get(at, [])
    if waiter in found:
        found.remove(waiter)
        if not found:
            del where[at]
