"""The last verification run of a tenant: when the hash chains were last recomputed (by
``POST /api/v1/verify`` or ``ledgerflow verify``), how many executions were checked and
which failed. Kept as a telemetry record of the tenant that no execution owns (kind
``telemetry``, message ``verify``), so the overview can say it after a restart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ledgerflow.ledger.verify import VerifyResult

KIND, MESSAGE = "telemetry", "verify"
FAILURES_KEPT = 20  # the failures a record names (its count says how many there were)


@dataclass(frozen=True, slots=True)
class Verification:
    """One verification run: ``checked`` executions at ``at`` (ISO 8601, UTC), of which
    ``failed`` were not intact (the first ``FAILURES_KEPT`` in ``failures``: execution,
    first bad seq, problem, detail); ``scope``: ``all`` or ``some`` (named executions)."""

    at: str
    checked: int
    failed: int
    scope: str = "all"
    actor: str = ""
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def fields(self) -> str:
        return json.dumps({"checked": self.checked, "failed": self.failed, "scope": self.scope,
                           "actor": self.actor, "failures": self.failures},
                          sort_keys=True, separators=(",", ":"))

    @classmethod
    def of(cls, at: str, checked: int, failures: Sequence[VerifyResult], scope: str,
           actor: str) -> Verification:
        bad = [r for r in failures if not r.ok]
        return cls(at=at, checked=checked, failed=len(bad), scope=scope, actor=actor,
                   failures=[{"execution_id": r.execution_id, "seq": r.seq,
                              "problem": str(r.problem or ""), "detail": r.detail}
                             for r in bad[:FAILURES_KEPT]])

    @classmethod
    def from_record(cls, occurred_at: str, fields: str) -> Verification | None:
        """The run a stored record says (None: a record this version cannot read)."""
        try:
            said = json.loads(fields)
            return cls(at=occurred_at, checked=int(said["checked"]), failed=int(said["failed"]),
                       scope=str(said.get("scope", "all")), actor=str(said.get("actor", "")),
                       failures=[f for f in said.get("failures", []) if isinstance(f, dict)])
        except (ValueError, KeyError, TypeError):
            return None
