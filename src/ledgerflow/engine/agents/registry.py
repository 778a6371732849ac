"""Agents: Python callables registered for a capability.

A handler is called as ``handler(ctx, data)``: ``data`` is the step's evaluated input and
``ctx`` a ``StepContext``. It returns a JSON-serialisable value (the step's output) or raises.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ledgerflow import errors
from ledgerflow.definition.durations import DurationError, parse_duration
from ledgerflow.routing.breaker import DEFAULT_POLICY, BreakerPolicy

Handler = Callable[[Any, Any], Any]
F = TypeVar("F", bound=Handler)

_CAPABILITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


POLICY_OPTIONS = ("failure_threshold", "failure_rate", "window", "min_calls", "cooldown",
                  "half_open_probes", "probe_timeout")
DURATION_OPTIONS = ("cooldown", "probe_timeout")


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentSpec:
    capability: str
    name: str
    handler: Handler
    priority: int = 0
    weight: float = 1.0  # multiplies the router's score
    policy: BreakerPolicy = DEFAULT_POLICY  # its circuit breaker
    options: dict[str, Any] = field(default_factory=dict)


def agent_policy(where: str, options: dict[str, Any], *, capability: str | None = None,
                 agent: str | None = None) -> tuple[float, BreakerPolicy]:
    """(weight, breaker policy) from an agent's options; a bad one names the option."""
    unknown = sorted(set(options) - {"weight", *POLICY_OPTIONS})
    if unknown:
        raise errors.AgentError(
            f"agent {where}: unknown option(s) {', '.join(unknown)}; allowed: weight, "
            f"{', '.join(POLICY_OPTIONS)}", capability=capability, agent=agent,
        )
    values = {k: options[k] for k in POLICY_OPTIONS if k in options}
    if "failure_threshold" in values and "failure_rate" not in values:
        values["failure_rate"] = None  # a threshold alone asks for count mode
    try:
        for key in DURATION_OPTIONS:
            if isinstance(values.get(key), str):
                values[key] = parse_duration(values[key])
        weight = float(options.get("weight", 1.0))
        if not weight > 0:
            raise ValueError(f"weight must be > 0, got {weight}")
        return weight, BreakerPolicy(**values)
    except (ValueError, TypeError, DurationError) as exc:
        raise errors.AgentError(f"agent {where}: {exc}", capability=capability,
                                agent=agent) from None


class AgentRegistry:
    """Which agents this process offers, by capability."""

    def __init__(self, parents: Iterable[AgentRegistry] = ()) -> None:
        self._agents: dict[str, dict[str, AgentSpec]] = {}
        self._parents = tuple(parents)
        self.registrations = 0  # handlers registered so far (a module that adds none: a mistake)

    def register(self, capability: str, handler: Handler, *, name: str | None = None,
                 priority: int = 0, **options: Any) -> AgentSpec:
        if not _CAPABILITY.match(capability):
            raise errors.AgentError(
                f"bad capability name {capability!r}: use letters, digits and . _ : - "
                "(for example 'kyc.verify')", capability=capability,
            )
        agent_name = name or f"{capability}:{getattr(handler, '__qualname__', 'handler')}"
        weight, policy = agent_policy(f"{agent_name!r} of {capability!r}", dict(options),
                                      capability=capability, agent=agent_name)
        spec = AgentSpec(capability=capability, name=agent_name, handler=handler,
                         priority=priority, weight=weight, policy=policy,
                         options=dict(options))
        self._agents.setdefault(capability, {})[agent_name] = spec
        self.registrations += 1
        return spec

    def agent(self, capability: str, *, name: str | None = None, priority: int = 0,
              **options: Any) -> Callable[[F], F]:
        """Decorator: ``@registry.agent("kyc.verify")`` registers the function."""

        def decorate(handler: F) -> F:
            self.register(capability, handler, name=name, priority=priority, **options)
            return handler

        return decorate

    def candidates(self, capability: str) -> list[AgentSpec]:
        """Every agent offering ``capability``, own agents before inherited ones."""
        found = dict(self._agents.get(capability, {}))
        for parent in self._parents:
            for spec in parent.candidates(capability):
                found.setdefault(spec.name, spec)
        return list(found.values())

    def get(self, capability: str, name: str) -> AgentSpec | None:
        """The agent ``candidates`` lists under ``name`` (own before inherited)."""
        spec = self._agents.get(capability, {}).get(name)
        for parent in self._parents:
            if spec is not None:
                break
            spec = parent.get(capability, name)
        return spec

    def all(self) -> list[AgentSpec]:
        """Every agent of every capability."""
        return [spec for cap in self.capabilities() for spec in self.candidates(cap)]

    def capabilities(self) -> list[str]:
        names = set(self._agents)
        for parent in self._parents:
            names.update(parent.capabilities())
        return sorted(names)


DEFAULT_REGISTRY = AgentRegistry()


def agent(capability: str, *, name: str | None = None, priority: int = 0,
          **options: Any) -> Callable[[F], F]:
    """Register a handler for a capability in the process-wide registry.

    ``ledgerflow worker --agents MODULE`` imports MODULE, whose decorated functions become
    the worker's agents::

        @ledgerflow.agent("kyc.verify")
        def verify(ctx, data):
            return {"verified": True}
    """
    return DEFAULT_REGISTRY.agent(capability, name=name, priority=priority, **options)


def load_modules(modules: Sequence[str]) -> None:
    """Import agents modules by dotted name (or ``path/to/file.py``), as Python runs them.

    A dotted name is imported with the current directory on ``sys.path`` (as ``python -m``
    does), so ``my_agents`` finds ``./my_agents.py``; a ``path/to/file.py`` is imported with
    its own folder on ``sys.path`` (as ``python path/to/file.py`` does), so it can import the
    modules beside it. Those folders stay on ``sys.path`` for the life of the process: a
    handler may import its neighbours when it runs, too.
    """
    for module in modules:
        module = module.strip()
        if not module:
            continue
        try:
            if module.endswith(".py"):
                _load_path(module)
            else:
                _on_path(Path.cwd())
                importlib.import_module(module)
        except errors.LedgerflowError:
            raise
        except ModuleNotFoundError as exc:
            raise errors.AgentError(
                f"cannot import agents module {module!r}: {exc}; check the name and that "
                "its folder is the current one or on PYTHONPATH (or pass a path ending in "
                ".py)", module=module,
            ) from exc
        except Exception as exc:
            raise errors.AgentError(
                f"agents module {module!r} failed while importing: {type(exc).__name__}: {exc}",
                module=module,
            ) from exc


def _on_path(folder: Path) -> None:
    """Put ``folder`` first on ``sys.path`` unless it is there already."""
    entry = str(folder.resolve())
    if entry not in sys.path:
        sys.path.insert(0, entry)


def _load_path(path: str) -> None:
    file = Path(path)
    if not file.is_file():
        raise errors.AgentError(f"agents file {path!r} does not exist", module=path)
    spec = importlib.util.spec_from_file_location(f"ledgerflow_agents_{file.stem}", file)
    if spec is None or spec.loader is None:
        raise errors.AgentError(f"cannot load agents file {path!r}", module=path)
    _on_path(file.parent)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
