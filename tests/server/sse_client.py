"""Reading server-sent events in tests: frames parsed as a browser's EventSource does, read
until what a test waits for arrives (a keep-alive interval of a fraction of a second keeps
every read short, so the deadline is checked often; it is a safety net, never a measure)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

from tests.support import SAFETY


@dataclass(frozen=True)
class Event:
    event: str  # "comment" for a comment line, "retry" for a retry field
    data: Any
    id: int | None = None


def events(response: httpx.Response) -> Iterator[Event]:
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line.startswith(":"):
            yield Event("comment", line[1:].strip())
        elif line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        elif "retry" in fields and "data" not in fields:
            yield Event("retry", int(fields.pop("retry")))
        elif fields:
            yield Event(fields.get("event", "message"), json.loads(fields.get("data", "null")),
                        int(fields["id"]) if "id" in fields else None)
            fields = {}


class Reader:
    """The events of one response, read on demand; ``seen`` keeps them all."""

    def __init__(self, response: httpx.Response) -> None:
        self._events = events(response)
        self.seen: list[Event] = []

    def until(self, done: Callable[[Event], bool]) -> list[Event]:
        """Every event read so far, up to and with the first new ``done`` one."""
        deadline = time.monotonic() + SAFETY
        for event in self._events:
            self.seen.append(event)
            if done(event):
                return self.seen
            assert time.monotonic() < deadline, \
                f"no such event within {SAFETY:g} s: {self.seen[-5:]}"
        raise AssertionError(f"the stream ended first: {self.seen[-5:]}")


def until_closed(reader: Reader) -> list[Event]:
    """Every event until the server ends the stream (within the safety net)."""
    try:
        reader.until(lambda e: False)
    except AssertionError as ended:
        assert "the stream ended first" in str(ended), ended
    return reader.seen


def read_until(response: httpx.Response, done: Callable[[Event], bool]) -> list[Event]:
    """Every event of a fresh response up to and with the first ``done`` one."""
    return Reader(response).until(done)
