"""What writers tell listeners.

Workers (PostgreSQL ``NOTIFY ledgerflow``; nothing on SQLite, whose one worker polls): there
is work to claim, or an execution changed outside its holder.

Readers of the ledger (``NOTIFY ledgerflow_ledger`` on PostgreSQL, the store's commit watcher
on SQLite): an execution's ledger grew to ``head_seq``. A payload holds one notice a line,
``TENANT EXECUTION_ID HEAD_SEQ``, and stays under PostgreSQL's 8000-byte limit (a batch that
says more is split into several payloads). Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledgerflow.storage.base import Change

CHANNEL = "ledgerflow"
WORK = "work"  # something to claim
WAKE = "wake "  # + an execution id: its holder should reload it

LEDGER_CHANNEL = "ledgerflow_ledger"
MAX_PAYLOAD = 7999  # bytes: PostgreSQL refuses a payload of 8000 or more


@dataclass(frozen=True, slots=True)
class LedgerNotice:
    """An execution's ledger now ends at ``head_seq`` (committed)."""

    tenant: str
    execution_id: str
    head_seq: int

    def line(self) -> str:
        return f"{self.tenant} {self.execution_id} {self.head_seq}"


def ledger_notices(applied: Iterable[Change]) -> list[LedgerNotice]:
    """What a committed batch tells readers: each execution whose ledger grew, once, with
    its new head."""
    heads = {(c.execution.tenant_id, c.execution.id): c.execution.head_seq
             for c in applied if c.ledger}
    return [LedgerNotice(tenant, eid, head) for (tenant, eid), head in heads.items()]


def ledger_payloads(notices: Iterable[LedgerNotice]) -> list[str]:
    """The notices as few payloads as fit, each under ``MAX_PAYLOAD`` bytes. (An id takes
    at most 255 characters, so one line always fits.)"""
    payloads: list[str] = []
    lines: list[str] = []
    size = 0
    for notice in notices:
        line = notice.line()
        cost = len(line.encode()) + (1 if lines else 0)
        if lines and size + cost > MAX_PAYLOAD:
            payloads.append("\n".join(lines))
            lines, size, cost = [], 0, len(line.encode())
        lines.append(line)
        size += cost
    if lines:
        payloads.append("\n".join(lines))
    return payloads


def parse_ledger_payload(payload: str) -> list[LedgerNotice]:
    """The notices of one payload; a line that is not one (another version's) is skipped.
    A tenant holds no space and a head is a number: an id may hold spaces."""
    found = []
    for line in payload.splitlines():
        tenant, _, rest = line.partition(" ")
        execution_id, _, head = rest.rpartition(" ")
        if tenant and execution_id and head.isdigit():
            found.append(LedgerNotice(tenant, execution_id, int(head)))
    return found
