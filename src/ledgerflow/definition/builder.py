"""Write workflow definitions in Python; the result is the same as the equivalent YAML.

::

    wf = (WorkflowBuilder("onboarding", description="Client onboarding")
          .step("kyc", agent="kyc.verify", input={"entity": "${input.name}"}, retry=3)
          .step("ubo", agent="ubo.discover", needs=["kyc"], when='input.type == "TRUST"')
          .build())

The builder only writes the spec mapping; ``build`` validates it with ``from_mapping``.
Arguments left as ``None`` are left out of the spec, exactly as an absent YAML key, so the
definition has the same ``sha256`` as the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledgerflow.definition.model import Definition
from ledgerflow.definition.validate import from_mapping

__all__ = ["WorkflowBuilder"]

Duration = str | int | float


class WorkflowBuilder:
    """Collects a workflow spec step by step; each method returns the builder itself."""

    def __init__(
        self,
        name: str,
        *,
        description: str | None = None,
        ttl: Duration | None = None,
        input_schema: Mapping[str, Any] | None = None,
    ) -> None:
        self._spec: dict[str, Any] = _present(
            name=name, description=description, ttl=ttl, input_schema=input_schema
        )
        self._steps: list[dict[str, Any]] = []
        self._handlers: dict[str, dict[str, Any] | list[dict[str, Any]]] = {}

    def step(
        self,
        id: str,
        *,
        type: str | None = None,
        agent: str | None = None,
        needs: Sequence[str] | None = None,
        when: str | None = None,
        input: Mapping[str, Any] | None = None,
        retry: int | Mapping[str, Any] | None = None,
        timeout: Duration | None = None,
        heartbeat_timeout: Duration | None = None,
        output: str | Mapping[str, Any] | None = None,
        at_most_once: bool | None = None,
        description: str | None = None,
        signal: str | None = None,
        for_: Duration | None = None,
        until: str | None = None,
        workflow: str | None = None,
    ) -> WorkflowBuilder:
        """Add a step; arguments mirror the spec's step fields (``for_`` is ``for``)."""
        self._steps.append(
            _present(
                id=id, type=type, agent=agent, needs=_listed(needs),
                when=when, input=input, retry=retry, timeout=timeout,
                heartbeat_timeout=heartbeat_timeout, output=output, at_most_once=at_most_once,
                description=description, signal=signal, until=until, workflow=workflow,
            )
            | _present(**{"for": for_})
        )
        return self

    def on(
        self, signal: str, *, agent: str, output: str | Mapping[str, Any] | None = None,
        when: str | None = None,
    ) -> WorkflowBuilder:
        """Handle ``signal`` with the capability ``agent`` (a session's signal handler);
        calling it again for the same signal adds another handler (each with its ``when``)."""
        handler = _present(agent=agent, output=output, when=when)
        found = self._handlers.get(signal)
        if found is None:
            self._handlers[signal] = handler
        elif isinstance(found, list):
            found.append(handler)
        else:
            self._handlers[signal] = [found, handler]
        return self

    def to_spec(self) -> dict[str, Any]:
        """The spec mapping written so far, as it would appear in a YAML file."""
        spec = dict(self._spec)
        spec["steps"] = [dict(step) for step in self._steps]
        if self._handlers:
            spec["on"] = {
                name: [dict(h) for h in handler] if isinstance(handler, list) else dict(handler)
                for name, handler in self._handlers.items()
            }
        return spec

    def build(self, source: str | None = None) -> Definition:
        """Validate and return the ``Definition``; raises ``errors.DefinitionError``."""
        return from_mapping(self.to_spec(), source or f"<builder {self._spec.get('name')!r}>")


def _listed(needs: Sequence[str] | None) -> Any:
    """A list of ids; a bare string is passed on unchanged so validation reports it."""
    return needs if needs is None or isinstance(needs, str) else list(needs)


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
