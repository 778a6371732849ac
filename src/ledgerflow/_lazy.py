"""Lazy re-exports (PEP 562) for packages whose names are costly to import.

A package that re-exports names from heavy modules (the engine, CEL, JSON Schema) lists them
as ``name -> "module"`` (or ``"module:attribute"`` when the name differs) and installs what
``exports`` returns as its module ``__getattr__`` and ``__dir__``. A name's module is
imported on first access, and the value is stored in the package's namespace, so later
accesses are plain attribute lookups. ``dir(package)`` lists every name before any is
loaded.

Each such package imports the same names under ``TYPE_CHECKING`` too, so type checkers,
IDEs and the import-direction tests see the real names; ``tests/unit/test_lazy_exports.py``
holds the two lists equal.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str,
            names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` (its ``__name__``) for ``names``."""
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        target = names.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        value = getattr(module, attribute or name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
