"""An execution's input checked against its definition's ``input_schema`` (JSON Schema).

Its own module, so JSON Schema loads only when an execution starts or forks (through the
package's lazy ``check_input``), never for a read.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from ledgerflow import errors
from ledgerflow.definition.model import Definition


def check_input(definition: Definition, value: Any) -> None:
    """Raise ``InputValidationError`` listing every mismatch with the input schema."""
    schema = definition.input_schema
    if schema is None:
        return
    validator_cls = jsonschema.validators.validator_for(schema)
    problems = sorted(
        validator_cls(schema).iter_errors(value), key=lambda e: list(e.absolute_path)
    )
    if problems:
        lines = [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
                 for e in problems]
        raise errors.InputValidationError(
            f"input does not match the input_schema of {definition.name!r}: "
            + "; ".join(lines), problems=lines,
        )
