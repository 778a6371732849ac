"""Lazily exported modules: ``import ledgerflow`` (and ``ledgerflow.definition``, the agent rows of
``storage.rows``) loads nothing heavy, yet every name is there, is the object its
``TYPE_CHECKING`` import names, and ``dir()`` lists it."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import ledgerflow
import ledgerflow.definition
import ledgerflow.ledger
import ledgerflow.storage.rows

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGES = [ledgerflow, ledgerflow.definition, ledgerflow.ledger, ledgerflow.storage.rows]


def _type_checking_imports(package: ModuleType) -> dict[str, str]:
    """``name -> "module:attribute"`` of what the package imports under TYPE_CHECKING."""
    tree = ast.parse(Path(str(package.__file__)).read_text("utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    found = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module, ast.dump(node)
        for alias in node.names:
            found[alias.asname or alias.name] = f"{node.module}:{alias.name}"
    return found


def _lazy_map(package: ModuleType) -> dict[str, str]:
    """The package's export map, each entry spelt ``module:attribute``."""
    return {name: target if ":" in target else f"{target}:{name}"
            for name, target in vars(package)["_EXPORTS"].items()}


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_lazy_names_are_the_type_checking_imports(package: ModuleType) -> None:
    """Type checkers, IDEs and the import-direction tests read the TYPE_CHECKING block;
    the runtime reads the map. They name the same objects."""
    assert _lazy_map(package) == _type_checking_imports(package)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_exported_name_resolves_to_its_object(package: ModuleType) -> None:
    eager = {n for n in package.__all__ if n in vars(package)} - set(_lazy_map(package))
    assert set(package.__all__) == set(_lazy_map(package)) | eager
    for name, target in _lazy_map(package).items():
        module, _, attribute = target.partition(":")
        assert getattr(package, name) is getattr(importlib.import_module(module), attribute)
    assert set(package.__all__) <= set(dir(package))


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="module 'ledgerflow' has no attribute 'Ap'"):
        ledgerflow.Ap  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(ledgerflow.definition, "nothing")


def _loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(SRC)}).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_import_ledgerflow_loads_only_the_package_and_errors() -> None:
    loaded = {m for m in _loaded_after("import ledgerflow") if m.startswith("ledgerflow")}
    assert loaded == {"ledgerflow", "ledgerflow._lazy", "ledgerflow.errors",
                      "ledgerflow.errors.core", "ledgerflow.errors.storage",
                      "ledgerflow.errors.access"}


def test_a_name_loads_on_first_use() -> None:
    """The same probe sees the engine once a name is used: the test above can fail."""
    loaded = _loaded_after("import ledgerflow\nledgerflow.App")
    assert {"ledgerflow.engine.app.core", "ledgerflow.storage.sqlite"} <= loaded


def test_storage_loads_the_agent_rows_on_first_use() -> None:
    """A process that reads executions (``status``) defines no agent or worker row."""
    assert "ledgerflow.storage.agent_rows" not in _loaded_after("import ledgerflow.storage")
    assert "ledgerflow.storage.agent_rows" in _loaded_after(
        "from ledgerflow.storage.rows import WorkerRow")


def test_the_definition_model_loads_no_expression_or_schema_library() -> None:
    """The engine's model imports ``definition.model``; CEL, JSON Schema and YAML come only
    with compiling or loading a definition."""
    heavy = {"ledgerflow.cel", "jsonschema", "yaml", "lark"}
    assert not heavy & _loaded_after("import ledgerflow.definition.model")
    assert heavy <= _loaded_after("import ledgerflow.definition\n"
                                  "ledgerflow.definition.from_mapping\n"
                                  "ledgerflow.definition.load_file")
