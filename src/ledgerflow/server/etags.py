"""``If-Match``: the version a caller read (an execution's ledger head seq, as its ``ETag``
says), which a control or edit route then acts on atomically (``errors.VersionMismatch``,
a 412, when the execution has moved on)."""

from __future__ import annotations

from ledgerflow.server.problems import Problem


def expected_version(if_match: str | None) -> int | None:
    """The version ``If-Match`` names; None without one (or with ``*``)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 18:
        raise Problem(400, "malformed", f"If-Match {if_match[:40]!r} is not a version such as "
                      '"12" (the ETag of the execution)')
    return int(tag)
