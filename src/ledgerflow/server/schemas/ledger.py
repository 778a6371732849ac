"""Bodies of the routes that read an execution's ledger and edit its state."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ledgerflow.engine.reports.activity import LogRecord, RoutingDecision
from ledgerflow.engine.reports.history import HistoryEntry


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


class Logs(BaseModel):
    items: list[LogRecord]
    next_after: int | None


class Routing(BaseModel):
    items: list[RoutingDecision]  # duration_ms as the engine measured it (a float)


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
