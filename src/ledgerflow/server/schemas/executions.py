"""Bodies of the execution routes: start, the execution resource ``E`` (FACES.md §3), its
list and counts, signals, and the answers of the control routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class StartRequest(BaseModel):
    workflow: str = Field(min_length=1, max_length=200)
    version: int | None = Field(default=None, ge=1, description="default: the latest")
    input: Any = None
    id: str | None = Field(default=None, min_length=1, max_length=200, description=(
        "your id for it: the same id and input again answer the existing execution"))
    ttl: float | str | None = Field(default=None, description=(
        "a session's time to live: seconds, or a duration such as '30m' (default: the "
        "definition's ttl, if any)"))


class WorkflowRef(BaseModel):
    name: str
    version: int
    definition_sha256: str


class Progress(BaseModel):
    total: int
    completed: int
    failed: int
    skipped: int
    running: int
    pending: int
    percentage: float
    eta_ms: int | None


class RunningStep(BaseModel):
    step_id: str
    attempt: int
    agent: str | None
    started_at: str | None


class LastControl(BaseModel):
    action: str  # the ledger event: execution.paused, execution.resumed, state.edited...
    actor: dict[str, str]
    reason: str | None
    at: str
    seq: int


class LedgerHead(BaseModel):
    head_seq: int
    head_hash: str


class Execution(BaseModel):
    id: str
    workflow: WorkflowRef
    status: str
    version: int  # the ledger head seq: the ETag, and what If-Match names
    input: Any
    result: Any
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration_ms: int | None
    expires_at: str | None
    progress: Progress
    running_steps: list[RunningStep]
    last_control: LastControl | None
    forked_from: str | None
    forked_at_seq: int | None
    forks: list[str]
    ledger: LedgerHead
    links: dict[str, str]


class ExecutionItem(BaseModel):
    """An execution as a list shows it."""

    id: str
    workflow: str
    workflow_version: int
    status: str
    version: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration_ms: int | None
    error: str | None
    expires_at: str | None


class ExecutionPage(BaseModel):
    items: list[ExecutionItem]
    next_cursor: str | None  # null on the last page


class Counts(BaseModel):
    total: int
    by_status: dict[str, int]


class SignalRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    data: Any = None


class SignalSent(BaseModel):
    execution_id: str
    name: str
    version: int


class ControlRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


class ResumeRequest(ControlRequest):
    from_step: str | None = Field(default=None, max_length=200, description=(
        "reset this step and its dependents first"))


class RerunRequest(ControlRequest):
    from_step: str = Field(min_length=1, max_length=200)


class ForkRequest(BaseModel):
    at_seq: int | None = Field(default=None, ge=1, description="default: the ledger head")
    input_patch: Any = None


class Controlled(BaseModel):
    """What a control route did: ``changed`` is false when there was nothing to do (a
    second pause, a cancel of a cancelled execution)."""

    execution_id: str
    status: str
    changed: bool
    version: int  # the ledger head seq now (the next If-Match)
    running: list[str] = []  # a pause: the steps still finishing
    pending: list[str] = []  # a pause: the steps it holds back
    steps: list[str] = []  # a retry or a rerun: the steps that run again


class Forked(BaseModel):
    id: str  # the new execution
    forked_from: str
    at_seq: int | None


class BatchRequest(BaseModel):
    action: str = Field(pattern="^(pause|resume|cancel|retry)$")
    ids: list[str] | None = Field(default=None, max_length=500)
    status: list[str] | None = Field(default=None, description=(
        "instead of ids: every execution in these statuses (with workflow, at most 500)"))
    workflow: str | None = None
    reason: str | None = Field(default=None, max_length=500)


class BatchItem(BaseModel):
    execution_id: str
    ok: bool
    changed: bool
    status: str | None
    problem: str | None  # why it was not done (its problem code), when not ok
    detail: str | None


class Batch(BaseModel):
    batch_id: str
    action: str
    state: str  # running, done
    total: int
    done: int
    failed: int
    items: list[BatchItem]
