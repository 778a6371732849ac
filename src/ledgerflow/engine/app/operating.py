"""What ``App`` does to executions as an operator: pause, resume, cancel, retry, rerun,
fork, signal and state edits, each a ledger entry with the app's actor.

The operator rules (``rules.actions``, ``control.editing``) load with the first command
given, not with the app: a process that only reads never imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledgerflow import errors
from ledgerflow.definition import limits
from ledgerflow.engine.model.lifecycle import OperatorAction as A
from ledgerflow.ledger import values

if TYPE_CHECKING:
    from ledgerflow.engine.control.commands import Controller
    from ledgerflow.engine.model.transition import Transition


class Operating:
    """The operator half of ``App`` (a mixin: ``App`` provides ``_commands``)."""

    @property
    def _commands(self) -> Controller:
        raise NotImplementedError

    # Each command takes ``expected_seq``: act only on the execution as of that ledger
    # head (what the caller read), else ``errors.VersionMismatch`` and nothing changes.

    def pause(self, execution_id: str, reason: str | None = None, *,
              expected_seq: int | None = None) -> None:
        """No new step is dispatched once this returns; running steps finish and record."""
        from ledgerflow.engine.rules import actions

        self._commands.apply(execution_id, A.PAUSE, lambda tr: actions.pause(tr, reason),
                             expected_seq=expected_seq)

    def resume(self, execution_id: str, reason: str | None = None,
               from_step: str | None = None, *, expected_seq: int | None = None) -> None:
        """Continue where it stopped, or reset ``from_step`` and its dependents first."""
        from ledgerflow.engine.rules import actions

        self._commands.apply(execution_id, A.RESUME,
                             lambda tr: actions.resume(tr, reason, from_step),
                             expected_seq=expected_seq)

    def cancel(self, execution_id: str, reason: str | None = None, *,
               expected_seq: int | None = None) -> bool:
        """End it ``cancelled`` (False if it already was). Running handlers see
        ``ctx.cancelled``."""
        from ledgerflow.engine.rules import actions

        return self._commands.apply(execution_id, A.CANCEL, lambda tr: actions.cancel(tr, reason),
                                    expected_seq=expected_seq)

    def retry(self, execution_id: str, reason: str | None = None, *,
              expected_seq: int | None = None) -> list[str]:
        """Run the failed steps of a failed execution again; returns their ids."""
        from ledgerflow.engine.rules import actions

        return self._commands.apply(execution_id, A.RETRY, lambda tr: actions.retry(tr, reason),
                                    expected_seq=expected_seq)

    def rerun(self, execution_id: str, from_step: str, reason: str | None = None, *,
              expected_seq: int | None = None) -> list[str]:
        """Run ``from_step`` and its dependents of a finished execution again."""
        from ledgerflow.engine.rules import actions

        return self._commands.apply(execution_id, A.RERUN,
                                    lambda tr: actions.rerun(tr, from_step, reason),
                                    expected_seq=expected_seq)

    def fork(self, execution_id: str, at_seq: int | None = None,
             input_patch: Any = None) -> str:
        """A new execution from the state as of ledger entry ``at_seq``; returns its id."""
        limits.check_value(input_patch, "the input patch")
        return self._commands.fork(execution_id, at_seq, input_patch)

    def signal(self, execution_id: str, name: str, data: Any = None, *,
               expected_seq: int | None = None) -> None:
        """Store a signal for the execution's wait steps and handlers."""
        from ledgerflow.engine.rules import actions

        if not name.strip():
            raise errors.InputValidationError(
                "a signal needs a name: the one a wait step or an `on:` handler listens for")
        given = {} if data is None else data
        limits.check_value(given, "signal data")
        value = values.accept(given, "data", "the signal data")
        self._commands.apply(execution_id, A.SIGNAL,
                             lambda tr: actions.signal(tr, name, value), strict=False,
                             expected_seq=expected_seq)

    def set_state(self, execution_id: str, path: str, value: Any,
                  reason: str | None = None) -> int:
        """Set ``path`` (dotted) in the state of a paused execution; the new state version."""
        from ledgerflow.engine.control import editing
        from ledgerflow.engine.rules import actions

        limits.check_value(value, "the state value")
        keys = [k for k in path.split(".") if k]
        if not keys:
            raise errors.InputValidationError("a state path such as 'case.risk' is required",
                                              path=path)

        def edit(tr: Transition) -> int:
            new = editing.set_path(tr.state, keys, value)
            actions.edit_state(tr, new, {"set": path, "value": value}, reason)
            return tr.view.row.state_version + 1
        return self._commands.apply(execution_id, A.EDIT_STATE, edit)

    def patch_state(self, execution_id: str, patch: Any, reason: str | None = None, *,
                    json_patch: bool = False, expected_seq: int | None = None) -> int:
        """Edit the state of a paused execution with a JSON merge patch (RFC 7386): a JSON
        object whose keys replace the document's (``None`` removes a key; anything but an
        object is refused, since it would replace the whole document). With ``json_patch``,
        ``patch`` is an RFC 6902 JSON Patch instead: a list of operations, applied all or
        none. The ledger entry records the patch under ``merge_patch`` or ``json_patch``.
        Returns the new state version."""
        from ledgerflow.engine.control import editing
        from ledgerflow.engine.rules import actions

        limits.check_value(patch, "the patch")

        def edit(tr: Transition) -> int:
            if json_patch:
                new = editing.json_patch(tr.state, patch)
                how = {"json_patch": patch}
            else:
                new = editing.merge_patch(tr.state, patch)
                how = {"merge_patch": patch}
            actions.edit_state(tr, new, how, reason)
            return tr.view.row.state_version + 1
        return self._commands.apply(execution_id, A.EDIT_STATE, edit, expected_seq=expected_seq)
