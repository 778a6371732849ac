"""The layers hold: arrows point down only (DESIGN.md §3), the engine's sub-packages
import each other only in the directions their docstrings promise, and no import hides in a
function (where it would hide a cycle) below the faces."""

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
    # the expression language is pure and knows nothing of workflows
    "ledgerflow.cel": ((), (E, "ledgerflow.cli", "ledgerflow.storage", "ledgerflow.definition",
                            "ledgerflow.ledger", "ledgerflow.routing", "ledgerflow.telemetry")),
    "ledgerflow.routing": ((), (E, "ledgerflow.cli", "ledgerflow.storage")),
    "ledgerflow.ledger": ((), (E, "ledgerflow.cli", "ledgerflow.storage")),
    "ledgerflow.telemetry": ((), (E, "ledgerflow.cli")),
    "ledgerflow.storage": ((), (E, "ledgerflow.cli")),
    # tenants, tokens and roles sit on storage, below the engine and the faces
    "ledgerflow.access": ((), (E, "ledgerflow.cli")),
    # the HTTP face: the public API, access, errors and the read model, as the CLI
    "ledgerflow.server": ((f"{E}.reports", "ledgerflow.definition.limits",
                           "ledgerflow.definition.durations", "ledgerflow.telemetry.metrics"),
                          (E, "ledgerflow.storage", "ledgerflow.cli", "ledgerflow.ledger",
                           "ledgerflow.routing", "ledgerflow.telemetry",
                           "ledgerflow.definition")),
    # the CLI is a face: the public API (``ledgerflow``), errors and the read model, plus
    # stateless parsing and settings helpers; never storage or the engine's insides
    "ledgerflow.cli": ((f"{E}.reports", "ledgerflow.definition.durations",
                        "ledgerflow.definition.limits"),
                       (E, "ledgerflow.storage", "ledgerflow.ledger", "ledgerflow.routing",
                        "ledgerflow.telemetry", "ledgerflow.definition")),
}


@pytest.mark.parametrize("package", sorted(RULES))
def test_imports_point_down(package: str) -> None:
    allowed, forbidden = RULES[package]
    assert _violations(package, allowed, forbidden) == []


@pytest.mark.parametrize("lower", ["kinds", "step_runs", "dispatching", "signals"])
def test_step_kinds_sit_below_the_graph_rules(lower: str) -> None:
    """The kinds and what they use never reach up to the rules that use them (``flow``
    reaches the kinds through their registry), so no cycle runs through them."""
    above = tuple(f"{E}.rules.{m}" for m in
                  ("flow", "delivery", "recovery", "actions", "starting"))
    assert _violations(f"{E}.rules.{lower}", (), above) == []


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


# Packages whose modules import other ledgerflow modules at the top only: an import inside a
# function hides a cycle (or a cost) from the reader and from the rules above. The faces
# (cli, ...) may import lazily for start-up speed.
NO_LAZY_IMPORTS = ("ledgerflow.cel", "ledgerflow.definition", "ledgerflow.engine",
                   "ledgerflow.ledger", "ledgerflow.routing", "ledgerflow.storage")
# (module, the module it imports inside a function): why
LAZY_IMPORTS = {
    ("ledgerflow.storage.sqlite", "ledgerflow.storage.sqlite_watch"):
        "the ledger watcher (and logging) load only when a server watches: a command that "
        "only reads never needs them",
    ("ledgerflow.engine.worker.telemetry", "ledgerflow.telemetry.metrics"):
        "prometheus_client loads only when a worker serves metrics",
    ("ledgerflow.storage", "ledgerflow.storage.postgres"):
        "psycopg is loaded only when a PostgreSQL URL is opened: embedded use and every "
        "CLI start do not pay for it",
    ("ledgerflow.storage.copy", "ledgerflow.storage.copy_postgres"):
        "the same: psycopg only when one end of the copy is PostgreSQL (the CLI imports copy)",
    ("ledgerflow.engine.app.core", "ledgerflow.engine.worker.loop"):
        "the worker loads only when the process works: reads and operator commands (every "
        "CLI command but worker, run and demo) start without it",
    # what an App loads only when first used, so a read (``status``, ``list``) starts short
    ("ledgerflow.engine.app.core", "ledgerflow.access.service"):
        "tenants and tokens load only for the commands and the server that manage them",
    ("ledgerflow.engine.app.core", "ledgerflow.engine.agents.registry"):
        "agents, and the routing they configure, load when the first agent is registered",
    ("ledgerflow.engine.app.core", "ledgerflow.engine.app.running"):
        "waiting for results (threads, logging) loads when a worker launches or a result "
        "is waited for",
    ("ledgerflow.engine.app.core", "ledgerflow.engine.control.commands"):
        "the operator commands load with the first one given",
    ("ledgerflow.engine.app.core", "ledgerflow.engine.model.transition"):
        "starting an execution builds a transition; reads never do",
    ("ledgerflow.engine.app.core", "ledgerflow.engine.rules.starting"):
        "the same: only starting an execution needs its rule",
    ("ledgerflow.engine.app.core", "ledgerflow.engine.model.ids"):
        "the same: only starting an execution makes an id (uuid_utils loads then)",
    ("ledgerflow.engine.app.operating", "ledgerflow.engine.rules.actions"):
        "the operator rules load with the first operator command",
    ("ledgerflow.engine.app.operating", "ledgerflow.engine.control.editing"):
        "state edits (and the JSON patch libraries) load with the first edit",
    ("ledgerflow.engine.app.reads", "ledgerflow.engine.agents.admin"):
        "agent reports (breakers, statistics: routing) load for the agent commands only",
    ("ledgerflow.engine.app.core", "ledgerflow.engine.reports.records"):
        "the public records load with the first read that returns one (a status returns "
        "none) or the first result waited for",
    ("ledgerflow.engine.app.reads", "ledgerflow.engine.reports.records"):
        "the same, for the reads that return them (list, execution, state, workflows)",
    ("ledgerflow.engine.app.reads", "ledgerflow.engine.reports.activity"):
        "routing decisions, logs and breaker moves load for the commands that show them",
    ("ledgerflow.engine.app.reads", "ledgerflow.engine.reports.history"):
        "the history loads for the history command",
    ("ledgerflow.engine.app.reads", "ledgerflow.ledger.verify"):
        "the verifier (its types, the chain's) loads for verify",
    ("ledgerflow.engine.app.reads", "ledgerflow.engine.reports.workers"):
        "worker reports load for the workers command, or a status whose steps wait for a "
        "worker",
    ("ledgerflow.engine.app.reads", "ledgerflow.engine.control.retention"):
        "retention loads for cleanup",
    ("ledgerflow.engine.app.reads", "ledgerflow.engine.reports.tombstone"):
        "tombstones load for the command that lists them",
    ("ledgerflow.engine.control.lookup", "ledgerflow.engine.control.retention"):
        "retention's tombstones are looked up only for an id that is not found",
}


def _function_imports(path: Path) -> set[str]:
    """The modules a file imports inside a function (relative ones as written: '.x')."""
    found: set[str] = set()
    for scope in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(scope):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level:
                found.add("." * node.level + (node.module or ""))
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.update(_imported_module(node.module, a.name) for a in node.names)
    return {m for m in found if m.startswith(("ledgerflow", "."))}


def _imported_module(module: str, name: str) -> str:
    """``from module import name``: the submodule ``name`` if there is one, else ``module``."""
    inner = SRC.parent.joinpath(*f"{module}.{name}".split("."))
    return f"{module}.{name}" if inner.with_suffix(".py").exists() or inner.is_dir() \
        else module


def _lazy_imports() -> set[tuple[str, str]]:
    return {(_module_name(path), target) for package in NO_LAZY_IMPORTS
            for path in _files(package) for target in _function_imports(path)}


def test_no_import_hides_in_a_function() -> None:
    assert sorted(_lazy_imports() - set(LAZY_IMPORTS)) == []


def test_each_allowed_lazy_import_is_still_there() -> None:
    """An exception above whose import went away is removed with it."""
    assert set(LAZY_IMPORTS) <= _lazy_imports()


def test_the_checker_sees_an_import_in_a_function(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import json\n\n"
                      "def f():\n    from ledgerflow.engine.rules import flow\n\n"
                      "class C:\n    def m(self):\n        import ledgerflow.ledger.chain\n"
                      "        from . import sibling\n")
    assert _function_imports(sample) == {"ledgerflow.engine.rules.flow",
                                         "ledgerflow.ledger.chain", "."}


# time is injected (DESIGN.md §3): below the faces, only ``ledgerflow.clock`` reads it
TIME_READS = {("time", n) for n in ("time", "time_ns", "monotonic", "monotonic_ns",
                                    "perf_counter", "perf_counter_ns")} | {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today")}
CLOCKED = (E, "ledgerflow.cel", "ledgerflow.definition", "ledgerflow.routing",
           "ledgerflow.ledger", "ledgerflow.telemetry")


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
