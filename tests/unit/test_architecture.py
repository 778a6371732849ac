"""The layers hold: arrows point down only (DESIGN.md §3), and the engine's sub-packages
import each other only in the directions their docstrings promise."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "ledgerflow"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every ledgerflow module a file imports, at any depth (functions, TYPE_CHECKING)."""
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m == "ledgerflow" or m.startswith("ledgerflow.")}


def _files(package: str) -> list[Path]:
    base = SRC.joinpath(*package.split(".")[1:])
    return sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]


def _violations(package: str, allowed: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in _files(package):
        for target in sorted(_imports(path)):
            inside = [p for p in allowed if target == p or target.startswith(p + ".")]
            banned = [p for p in forbidden if target == p or target.startswith(p + ".")]
            if banned and not inside:
                found.append(f"{_module_name(path)} imports {target}")
    return found


E = "ledgerflow.engine"
ENGINE_PARTS = tuple(f"{E}.{p}" for p in
                     ("model", "rules", "worker", "agents", "control", "reports", "app",
                      "definitions"))

RULES = {
    # package: (what it may import from the forbidden set, the forbidden set)
    f"{E}.model": ((f"{E}.model",), (E,)),
    f"{E}.rules": ((f"{E}.model", f"{E}.rules"), (E,)),
    f"{E}.reports": ((f"{E}.model", f"{E}.reports"), (E,)),
    f"{E}.agents": ((f"{E}.model", f"{E}.rules", f"{E}.agents"), (E,)),
    f"{E}.worker": ((), (f"{E}.control", f"{E}.app", f"{E}.reports")),
    f"{E}.control": ((), (f"{E}.worker", f"{E}.app", f"{E}.agents")),
    # the pure and storage layers below the engine never look up
    "ledgerflow.definition": ((), (E, "ledgerflow.cli", "ledgerflow.storage")),
    "ledgerflow.routing": ((), (E, "ledgerflow.cli", "ledgerflow.storage")),
    "ledgerflow.ledger": ((), (E, "ledgerflow.cli", "ledgerflow.storage")),
    "ledgerflow.telemetry": ((), (E, "ledgerflow.cli")),
    "ledgerflow.storage": ((), (E, "ledgerflow.cli")),
    # the CLI is a face: the public API (``ledgerflow``), errors and the read model, plus
    # stateless parsing and settings helpers; never storage or the engine's insides
    "ledgerflow.cli": ((f"{E}.reports", "ledgerflow.definition.durations"),
                       (E, "ledgerflow.storage", "ledgerflow.ledger", "ledgerflow.routing",
                        "ledgerflow.telemetry", "ledgerflow.definition")),
}


@pytest.mark.parametrize("package", sorted(RULES))
def test_imports_point_down(package: str) -> None:
    allowed, forbidden = RULES[package]
    assert _violations(package, allowed, forbidden) == []


def test_engine_has_no_loose_modules() -> None:
    """The engine is its sub-packages, ``app`` and ``definitions``; nothing else lies
    beside them, so a newcomer navigates by package names."""
    loose = {_module_name(p) for p in (SRC / "engine").glob("*.py")} - {E, *ENGINE_PARTS}
    packages = {_module_name(p.parent) for p in (SRC / "engine").glob("*/__init__.py")}
    assert loose == set()
    assert packages == set(ENGINE_PARTS) - {f"{E}.definitions"}


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rules above can fail: an import of the worker from the model is caught."""
    sample = tmp_path / "bad.py"
    sample.write_text("def f():\n    from ledgerflow.engine.worker import loop\n")
    assert _imports(sample) == {"ledgerflow.engine.worker", "ledgerflow.engine.worker.loop"}
