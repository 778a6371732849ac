"""Bodies of the routes that read an execution's ledger and edit its state."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class HistoryEntry(BaseModel):
    seq: int
    event_type: str
    step_id: str | None
    from_state: str | None
    to_state: str | None
    attempt: int | None
    actor: dict[str, str]
    occurred_at: str
    entry_hash: str
    prev_hash: str
    payload: Any
    state_version: int | None


class History(BaseModel):
    items: list[HistoryEntry]
    last_seq: int  # the seq to pass as after_seq next time
    head_seq: int


class State(BaseModel):
    version: int  # the state version
    seq: int  # the ledger entry that made it
    state: Any
    created_at: str


class StateEdited(BaseModel):
    version: int  # the ledger head seq after the edit (an ETag for the next If-Match)
    state_version: int


class LogRecord(BaseModel):
    id: int | None
    kind: str
    step_id: str | None
    message: str
    fields: Any
    at: str


class Logs(BaseModel):
    items: list[LogRecord]
    next_after: int | None


class RoutingDecision(BaseModel):
    step_id: str
    epoch: int
    attempt: int
    capability: str
    agent: str
    candidates: list[dict[str, Any]]
    reason: str
    decided_at: str
    outcome: str | None
    duration_ms: int | None
    finished_at: str | None


class Routing(BaseModel):
    items: list[RoutingDecision]


class GraphNode(BaseModel):
    id: str
    type: str
    agent: str | None
    status: str
    attempts: int


class GraphEdge(BaseModel):
    source: str
    target: str


class Graph(BaseModel):
    nodes: list[GraphNode]
    edges: list[GraphEdge]


class Attempt(BaseModel):
    step_id: str
    attempt: int
    agent: str | None
    started_at: str
    finished_at: str | None
    duration_ms: int | None
    outcome: str | None


class Timeline(BaseModel):
    items: list[Attempt]
