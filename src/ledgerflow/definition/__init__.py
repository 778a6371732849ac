"""Workflow definitions: the model, loading, validation, expressions. Pure, except reading files.

- ``load_file(path)`` / ``load_text(text, source, fmt)`` read YAML or JSON;
- ``from_mapping(spec, source)`` validates a parsed spec;
- ``WorkflowBuilder`` writes the same spec in Python;
- ``check_input(definition, value)`` checks an execution's input against ``input_schema``.

All three return a frozen ``Definition`` or raise ``errors.DefinitionError`` listing every
problem with its path.

The names below load their modules on first use (PEP 562): importing the model
(``definition.model``) or durations costs nothing more, and CEL, JSON Schema and YAML load
only when a definition is compiled or read from text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# name -> the module it lives in
_EXPORTS = {
    "BackoffKind": "ledgerflow.definition.model",
    "Definition": "ledgerflow.definition.model",
    "DurationError": "ledgerflow.definition.durations",
    "Evaluable": "ledgerflow.definition.model",
    "Expression": "ledgerflow.definition.expressions",
    "ExpressionSyntaxError": "ledgerflow.definition.expressions",
    "OutputMode": "ledgerflow.definition.model",
    "OutputTarget": "ledgerflow.definition.model",
    "RetryPolicy": "ledgerflow.definition.model",
    "SignalHandler": "ledgerflow.definition.model",
    "Step": "ledgerflow.definition.model",
    "StepType": "ledgerflow.definition.model",
    "Template": "ledgerflow.definition.expressions",
    "TemplateSyntaxError": "ledgerflow.definition.expressions",
    "WorkflowBuilder": "ledgerflow.definition.builder",
    "check_input": "ledgerflow.definition.inputs",
    "compile_expression": "ledgerflow.definition.expressions",
    "compile_template": "ledgerflow.definition.expressions",
    "format_duration": "ledgerflow.definition.durations",
    "from_mapping": "ledgerflow.definition.validate",
    "load_file": "ledgerflow.definition.loader",
    "load_text": "ledgerflow.definition.loader",
    "parse_duration": "ledgerflow.definition.durations",
    "parse_text": "ledgerflow.definition.loader",
    "referenced_steps": "ledgerflow.definition.expressions",
}

if TYPE_CHECKING:  # the same names, for type checkers and readers (a test holds them equal)
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
    from ledgerflow.definition.inputs import check_input
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
else:
    from ledgerflow import _lazy

    __getattr__, __dir__ = _lazy.exports(__name__, _EXPORTS)

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
    "check_input",
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
