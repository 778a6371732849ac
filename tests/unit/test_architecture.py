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
    assert packages == set(ENGINE_PARTS) - {f"{E}.app", f"{E}.definitions"}


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rules above can fail: an import of the worker from the model is caught."""
    sample = tmp_path / "bad.py"
    sample.write_text("def f():\n    from ledgerflow.engine.worker import loop\n")
    assert _imports(sample) == {"ledgerflow.engine.worker", "ledgerflow.engine.worker.loop"}


# time is injected (DESIGN.md §3): below the faces, only ``ledgerflow.clock`` reads it
TIME_READS = {("time", n) for n in ("time", "time_ns", "monotonic", "monotonic_ns",
                                    "perf_counter", "perf_counter_ns")} | {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}
CLOCKED = (E, "ledgerflow.definition", "ledgerflow.routing", "ledgerflow.ledger",
           "ledgerflow.telemetry")


def _time_reads(path: Path) -> list[str]:
    """``module.function`` reads of the current time in a file (called or imported)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                (node.value.id, node.attr) in TIME_READS:
            found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
        elif isinstance(node, ast.ImportFrom) and node.module in ("time", "datetime"):
            found.extend(f"from {node.module} import {a.name} (line {node.lineno})"
                         for a in node.names if (node.module, a.name) in TIME_READS)
    return found


@pytest.mark.parametrize("package", CLOCKED)
def test_time_is_read_through_the_clock(package: str) -> None:
    """Every read of the time goes through the injected ``Clock`` (durations through
    ``clock.monotonic()``), so a ``FakeClock`` moves all of it."""
    reads = {_module_name(p): r for p in _files(package) if (r := _time_reads(p))}
    assert reads == {}


def test_the_time_checker_sees_a_read(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import time\nfrom time import perf_counter\n"
                      "def f(datetime):\n    return time.monotonic(), datetime.now()\n")
    assert _time_reads(sample) == ["from time import perf_counter (line 2)",
                                   "time.monotonic (line 4)", "datetime.now (line 4)"]
