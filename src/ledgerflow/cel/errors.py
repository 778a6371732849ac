"""The two failures of an expression, from ledgerflow's one error tree: it does not parse
(``ExpressionSyntaxError``: reason, line, column), or its evaluation fails
(``ExpressionError``: the message names the operation and the values' types)."""

from __future__ import annotations

from ledgerflow.errors import ExpressionError, ExpressionSyntaxError

CelError = ExpressionError
CelSyntaxError = ExpressionSyntaxError


def syntax_error(reason: str, line: int | None = None,
                 column: int | None = None) -> ExpressionSyntaxError:
    """A syntax error whose source ``compile`` fills in."""
    return ExpressionSyntaxError(source="", reason=reason, line=line, column=column)


def with_source(exc: ExpressionSyntaxError, source: str) -> ExpressionSyntaxError:
    return ExpressionSyntaxError(source=source, reason=exc.reason, line=exc.line,
                                 column=exc.column)
