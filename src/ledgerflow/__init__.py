"""ledgerflow: durable workflow orchestration for Python with a verifiable ledger.

The public API is ``__all__``; everything else may change between versions. What ``App``
returns (the read model) is listed here too, each type with ``to_dict()``.

``import ledgerflow`` is cheap: each name below loads its module on first use (PEP 562), so
a program (or the CLI) pays only for what it touches. ``errors`` is loaded at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledgerflow import errors
from ledgerflow.errors import LedgerflowError

__version__ = "0.1.0"

# name -> the module it lives in ("module:attribute" when the name differs)
_EXPORTS = {
    "Actor": "ledgerflow.ledger.chain",
    "AgentInfo": "ledgerflow.engine.agents.admin",
    "AgentRegistry": "ledgerflow.engine.agents.registry",
    "App": "ledgerflow.engine.app",
    "Applied": "ledgerflow.engine.definitions",
    "BreakerTransition": "ledgerflow.engine.reports.activity",
    "CleanupReport": "ledgerflow.engine.control.retention",
    "CopyReport": "ledgerflow.storage.copy",
    "Definition": "ledgerflow.definition.model",
    "DefinitionInfo": "ledgerflow.engine.reports.records",
    "ExecutionReport": "ledgerflow.engine.reports.status",
    "ExecutionStatus": "ledgerflow.engine.model.lifecycle",
    "ExecutionSummary": "ledgerflow.engine.reports.records",
    "ExecutionUpdate": "ledgerflow.engine.reports.records",
    "HistoryEntry": "ledgerflow.engine.reports.history",
    "Listing": "ledgerflow.engine.reports.listing",
    "LogRecord": "ledgerflow.engine.reports.activity",
    "Metrics": "ledgerflow.engine.reports.status",
    "Prometheus": "ledgerflow.telemetry.metrics",
    "Recalculated": "ledgerflow.engine.agents.admin",
    "RoutingDecision": "ledgerflow.engine.reports.activity",
    "StateVersion": "ledgerflow.engine.reports.records",
    "StepContext": "ledgerflow.engine.worker.context",
    "StepStatus": "ledgerflow.engine.model.lifecycle",
    "Store": "ledgerflow.storage.base",
    "Tombstone": "ledgerflow.engine.reports.tombstone",
    "VerifyResult": "ledgerflow.ledger.verify",
    "Worker": "ledgerflow.engine.worker.loop",
    "WorkerInfo": "ledgerflow.engine.reports.workers",
    "WorkerReport": "ledgerflow.engine.worker.loop",
    "WorkflowBuilder": "ledgerflow.definition.builder",
    "agent": "ledgerflow.engine.agents.registry",
    "copy_deployment": "ledgerflow.storage.copy",
    "load_agents": "ledgerflow.engine.agents.modules",
    "open_store": "ledgerflow.storage",
}

if TYPE_CHECKING:  # the same names, for type checkers and readers (a test holds them equal)
    from ledgerflow.definition.builder import WorkflowBuilder
    from ledgerflow.definition.model import Definition
    from ledgerflow.engine.agents.admin import AgentInfo, Recalculated
    from ledgerflow.engine.agents.modules import load_agents
    from ledgerflow.engine.agents.registry import AgentRegistry, agent
    from ledgerflow.engine.app import App
    from ledgerflow.engine.control.retention import CleanupReport
    from ledgerflow.engine.definitions import Applied
    from ledgerflow.engine.model.lifecycle import ExecutionStatus, StepStatus
    from ledgerflow.engine.reports.activity import BreakerTransition, LogRecord, RoutingDecision
    from ledgerflow.engine.reports.history import HistoryEntry
    from ledgerflow.engine.reports.listing import Listing
    from ledgerflow.engine.reports.records import (
        DefinitionInfo,
        ExecutionSummary,
        ExecutionUpdate,
        StateVersion,
    )
    from ledgerflow.engine.reports.status import ExecutionReport, Metrics
    from ledgerflow.engine.reports.tombstone import Tombstone
    from ledgerflow.engine.reports.workers import WorkerInfo
    from ledgerflow.engine.worker.context import StepContext
    from ledgerflow.engine.worker.loop import Worker, WorkerReport
    from ledgerflow.ledger.chain import Actor
    from ledgerflow.ledger.verify import VerifyResult
    from ledgerflow.storage import open_store
    from ledgerflow.storage.base import Store
    from ledgerflow.storage.copy import CopyReport, copy_deployment
    from ledgerflow.telemetry.metrics import Prometheus
else:
    from ledgerflow import _lazy

    __getattr__, __dir__ = _lazy.exports(__name__, _EXPORTS)

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
    "Listing",
    "LogRecord",
    "Metrics",
    "Prometheus",
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
