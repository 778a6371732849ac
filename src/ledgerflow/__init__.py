"""ledgerflow: durable workflow orchestration for Python with a verifiable ledger.

The public API is ``__all__``; everything else may change between versions. What ``App``
returns (the read model) is listed here too, each type with ``to_dict()``.
"""

from __future__ import annotations

from ledgerflow import errors
from ledgerflow.definition.builder import WorkflowBuilder
from ledgerflow.definition.model import Definition
from ledgerflow.engine.agents.admin import AgentInfo, Recalculated
from ledgerflow.engine.agents.modules import load_agents
from ledgerflow.engine.agents.registry import AgentRegistry, agent
from ledgerflow.engine.app import App
from ledgerflow.engine.control.retention import CleanupReport
from ledgerflow.engine.definitions import Applied
from ledgerflow.engine.model.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.engine.reports.history import HistoryEntry
from ledgerflow.engine.reports.records import (
    BreakerTransition,
    DefinitionInfo,
    ExecutionSummary,
    ExecutionUpdate,
    LogRecord,
    RoutingDecision,
    StateVersion,
    Tombstone,
)
from ledgerflow.engine.reports.status import ExecutionReport, Metrics
from ledgerflow.engine.reports.workers import WorkerInfo
from ledgerflow.engine.worker.context import StepContext
from ledgerflow.engine.worker.loop import Worker, WorkerReport
from ledgerflow.errors import LedgerflowError
from ledgerflow.ledger.chain import Actor
from ledgerflow.ledger.verify import VerifyResult
from ledgerflow.storage import open_store
from ledgerflow.storage.base import Store
from ledgerflow.storage.copy import CopyReport, copy_deployment

__version__ = "0.1.0"

__all__ = [
    "Actor",
    "AgentInfo",
    "AgentRegistry",
    "App",
    "Applied",
    "BreakerTransition",
    "CleanupReport",
    "CopyReport",
    "Definition",
    "DefinitionInfo",
    "ExecutionReport",
    "ExecutionStatus",
    "ExecutionSummary",
    "ExecutionUpdate",
    "HistoryEntry",
    "LedgerflowError",
    "LogRecord",
    "Metrics",
    "Recalculated",
    "RoutingDecision",
    "StateVersion",
    "StepContext",
    "StepStatus",
    "Store",
    "Tombstone",
    "VerifyResult",
    "Worker",
    "WorkerInfo",
    "WorkerReport",
    "WorkflowBuilder",
    "__version__",
    "agent",
    "copy_deployment",
    "errors",
    "load_agents",
    "open_store",
]
