"""ledgerflow: durable workflow orchestration for Python with a verifiable ledger.

The public API is ``__all__``; everything else may change between versions.
"""

from __future__ import annotations

from ledgerflow import errors
from ledgerflow.definition.builder import WorkflowBuilder
from ledgerflow.definition.model import Definition
from ledgerflow.engine.agents.registry import AgentRegistry, agent
from ledgerflow.engine.app import App
from ledgerflow.engine.model.lifecycle import ExecutionStatus, StepStatus
from ledgerflow.engine.worker.context import StepContext
from ledgerflow.errors import LedgerflowError

__version__ = "0.1.0"

__all__ = [
    "AgentRegistry",
    "App",
    "Definition",
    "ExecutionStatus",
    "LedgerflowError",
    "StepContext",
    "StepStatus",
    "WorkflowBuilder",
    "__version__",
    "agent",
    "errors",
]
