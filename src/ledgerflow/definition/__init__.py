"""Workflow definitions: the model, loading, validation, expressions. Pure, except reading files.

- ``load_file(path)`` / ``load_text(text, source, fmt)`` read YAML or JSON;
- ``from_mapping(spec, source)`` validates a parsed spec;
- ``WorkflowBuilder`` writes the same spec in Python.

All three return a frozen ``Definition`` or raise ``errors.DefinitionError`` listing every
problem with its path.
"""

from __future__ import annotations

from ledgerflow.definition.builder import WorkflowBuilder
from ledgerflow.definition.durations import DurationError, format_duration, parse_duration
from ledgerflow.definition.expressions import (
    Expression,
    ExpressionSyntaxError,
    Template,
    TemplateSyntaxError,
    compile_expression,
    compile_template,
    referenced_steps,
)
from ledgerflow.definition.loader import load_file, load_text, parse_text
from ledgerflow.definition.model import (
    BackoffKind,
    Definition,
    Evaluable,
    OutputMode,
    OutputTarget,
    RetryPolicy,
    SignalHandler,
    Step,
    StepType,
)
from ledgerflow.definition.validate import from_mapping

__all__ = [
    "BackoffKind",
    "Definition",
    "DurationError",
    "Evaluable",
    "Expression",
    "ExpressionSyntaxError",
    "OutputMode",
    "OutputTarget",
    "RetryPolicy",
    "SignalHandler",
    "Step",
    "StepType",
    "Template",
    "TemplateSyntaxError",
    "WorkflowBuilder",
    "compile_expression",
    "compile_template",
    "format_duration",
    "from_mapping",
    "load_file",
    "load_text",
    "parse_duration",
    "parse_text",
    "referenced_steps",
]
