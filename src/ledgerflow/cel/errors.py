"""The two failures of an expression: it does not parse, or its evaluation fails."""

from __future__ import annotations


class CelSyntaxError(ValueError):
    """The source is not a CEL expression; ``reason`` says why, at ``line``/``column``."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"{reason}{where}")
        self.reason = reason
        self.line = line
        self.column = column


class CelError(Exception):
    """Evaluation failed; the message names the operation and the values' types."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else "evaluation error"
