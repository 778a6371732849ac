"""Errors of tokens, roles and HTTP answers (the tree: ``ledgerflow.errors``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledgerflow.errors.core import LedgerflowError


class Unauthorized(LedgerflowError):
    """No usable token: ``reason`` is ``missing``, ``malformed``, ``unknown``, ``expired``
    or ``revoked`` (a server answers 401 for each, with the same words)."""

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class Forbidden(LedgerflowError):
    """The token's ``role`` may not do what needs ``needed`` (a server answers 403)."""

    def __init__(self, message: str, *, role: str, needed: str) -> None:
        self.role = role
        self.needed = needed
        super().__init__(message)


class HttpProblem(LedgerflowError):
    """An answer the HTTP API gives as it is (``If-Match`` failed, a body too large...):
    ``status``, ``code`` (its problem type), ``problems`` ({path, message} each),
    ``headers`` and ``members`` added to the problem body."""

    def __init__(self, status: int, code: str, detail: str, *,
                 problems: Sequence[dict[str, str]] = (), retryable: bool = False,
                 headers: dict[str, str] | None = None, **members: Any) -> None:
        self.status = status
        self.code = code
        self.problems = list(problems)
        self.problem_retryable = retryable
        self.headers = headers or {}
        self.members = members
        super().__init__(detail)
