"""Finding an execution by its id or an unambiguous prefix of it: what every read and
every operator command does first, so it needs nothing of the operator rules."""

from __future__ import annotations

from ledgerflow import errors
from ledgerflow.storage.base import Store
from ledgerflow.storage.rows import ExecutionRow

PREFIX_MIN = 8  # an id prefix this long or longer names the one execution it starts
PREFIX_SHOWN = 3  # candidates an ambiguous prefix's error lists


def execution_row(store: Store, tenant: str, execution_id: str) -> ExecutionRow:
    """The execution's row, by its id or by an unambiguous prefix of ``PREFIX_MIN`` or
    more characters (an exact id wins over a prefix). Unknown ids, ambiguous prefixes
    and ids retention removed are errors that say which."""
    row = store.load_execution(tenant, execution_id) or _by_prefix(store, tenant, execution_id)
    if row is None:
        from ledgerflow.engine.control import retention  # only for an id not found

        removed = retention.removed_error(store, tenant, execution_id)
        if removed is not None:
            raise removed
        raise errors.ExecutionNotFound(f"execution {execution_id!r} not found",
                                       id=execution_id)
    return row


def _by_prefix(store: Store, tenant: str, prefix: str) -> ExecutionRow | None:
    if len(prefix) < PREFIX_MIN:
        return None
    found = store.execution_ids_by_prefix(tenant, prefix, PREFIX_SHOWN + 1)
    if len(found) > 1:
        many = len(found) > PREFIX_SHOWN
        count = f"more than {PREFIX_SHOWN}" if many else str(len(found))
        shown = ", ".join(found[:PREFIX_SHOWN]) + (", …" if many else "")
        raise errors.AmbiguousExecutionId(
            f"execution id prefix {prefix!r} is ambiguous: the ids of {count} executions "
            f"start with it ({shown}); give more of the id", id=prefix,
            candidates=found[:PREFIX_SHOWN],
        )
    return store.load_execution(tenant, found[0]) if found else None
