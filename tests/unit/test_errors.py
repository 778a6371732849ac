"""One exception tree: every error ledgerflow defines is in the ``errors`` package and drawn
in its docstring as it is built; messages name no CLI command; the CLI adds its hints in one
place."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pickle
import re
from pathlib import Path

import pytest

from ledgerflow import errors
from ledgerflow.cli import hints
from ledgerflow.cli.main import cli
from ledgerflow.storage.rows import TombstoneRow

SRC = Path(__file__).resolve().parents[2] / "src" / "ledgerflow"
BUILTIN_ERRORS = {name for name, value in vars(builtins).items()
                  if inspect.isclass(value) and issubclass(value, BaseException)}
TREE_NAMES = {name for name, value in vars(errors).items()
              if inspect.isclass(value) and issubclass(value, BaseException)}
STONE = TombstoneRow(execution_id="e-1", tenant_id="default", workflow="wf",
                     workflow_version=1, final_status="completed", head_seq=4,
                     head_hash="ab" * 32, created_at="t0", finished_at="t1",
                     removed_at="t2", removed_by="cli:me")


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.name != "__main__.py")


# every error class is in the tree ----------------------------------------------------------

def _stray_exception_classes(source: str) -> list[str]:
    """Public classes, at any depth, whose bases name an exception (a builtin one or one of
    the tree's)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
            continue
        bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
                 for b in node.bases}
        if bases & (BUILTIN_ERRORS | TREE_NAMES):
            found.append(node.name)
    return found


def test_every_public_exception_class_is_defined_in_the_errors_package() -> None:
    stray = [f"{path.relative_to(SRC)}: class {name}"
             for path in _sources() if SRC / "errors" not in path.parents
             for name in _stray_exception_classes(path.read_text("utf-8"))]
    assert stray == []


def test_every_exception_class_derives_from_the_base_or_is_private() -> None:
    """What the AST cannot see (a base imported under another name) the classes say."""
    wrong = []
    for path in _sources():
        module = importlib.import_module(_module(path))
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__ and not name.startswith("_")
                    and not issubclass(value, errors.LedgerflowError)):
                wrong.append(f"{module.__name__}.{name}")
    assert wrong == []


def test_the_checker_sees_a_stray_class() -> None:
    source = ("class Oops(ValueError):\n    pass\n\n"
              "class _Fine(Exception):\n    pass\n\n"
              "def f():\n    class Inner(errors.Conflict):\n        pass\n\n"
              "class Plain:\n    pass\n")
    assert _stray_exception_classes(source) == ["Oops", "Inner"]


def _drawn_tree() -> dict[str, str | None]:
    """Each class drawn in the docstring of ``errors``, with the class drawn as its parent."""
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        found = re.match(r"^\s{4}((?:[│ ]   )*)(?:[├└]── )?([A-Z]\w+)\b", line)
        if found is None or (parents == {} and found.group(2) != "LedgerflowError"):
            continue
        depth = len(found.group(1)) // 4 + (1 if "──" in line else 0)
        del stack[depth:]
        parents[found.group(2)] = stack[-1] if stack else None
        stack.append(found.group(2))
    return parents


def test_the_docstring_draws_every_class_of_the_errors_package_under_its_parent() -> None:
    drawn = _drawn_tree()
    assert set(drawn) == TREE_NAMES
    for name, parent in drawn.items():
        cls = getattr(errors, name)
        first_base = cls.__bases__[0]
        assert (first_base.__name__ if parent else first_base) == (parent or Exception), name


def test_everything_derives_from_the_base() -> None:
    for name in TREE_NAMES:
        assert issubclass(getattr(errors, name), errors.LedgerflowError), name


def test_retryable_is_false_unless_a_class_says_so() -> None:
    assert errors.LedgerflowError.retryable is False
    assert errors.ConnectionLost("x").retryable is True
    assert errors.ExecutionBusy("x").retryable is True
    retryable = {n for n in TREE_NAMES if getattr(errors, n).retryable}
    assert retryable == {"ConnectionLost", "DatabaseFull", "ExecutionBusy", "ResultTimeout"}


def test_values_that_do_not_parse_are_value_errors_too() -> None:
    for cls in (errors.DurationError, errors.ExpressionSyntaxError, errors.TemplateSyntaxError):
        assert issubclass(cls, ValueError) and issubclass(cls, errors.InvalidValue)
    # the definition package still exports them under their old names
    from ledgerflow.definition import durations, expressions
    assert durations.DurationError is errors.DurationError
    assert expressions.ExpressionSyntaxError is errors.ExpressionSyntaxError
    assert expressions.TemplateSyntaxError is errors.TemplateSyntaxError


def test_prefixed_keeps_the_class_and_attributes() -> None:
    exc = errors.MigrationRequired("database x has 1 pending migration(s); migrate it first",
                                   url="sqlite:///x.db", pending=["0009_probe"])
    moved = exc.prefixed("source: ")
    assert type(moved) is errors.MigrationRequired
    assert str(moved) == f"source: {exc}"
    assert (moved.url, moved.pending) == ("sqlite:///x.db", ("0009_probe",))
    assert str(exc).startswith("database x")  # the original is untouched
    problems = errors.DefinitionError("a.yaml", ["steps[0]: bad"]).prefixed("source: ")
    assert problems.problems == ("steps[0]: bad",) and str(problems).startswith("source: a.yaml")


def test_attributes_survive_pickling() -> None:
    samples = [
        errors.InvalidTransition("cannot pause execution e: it is completed", execution_id="e",
                                 current_status="completed", action="pause",
                                 allowed_actions=["rerun", "fork"]),
        errors.ExecutionRemoved("execution e-1 was removed", tombstone=STONE),
        errors.DefinitionError("a.yaml", ["steps[0]: bad"]),
        errors.ExpressionSyntaxError(source="a +", reason="unexpected end", line=1, column=3),
        errors.ConnectionLost("cannot connect"),
    ]
    for exc in samples:
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc)
        assert vars(back) == vars(exc)


# messages and hints --------------------------------------------------------------------------

CLI_COMMANDS = sorted(cli.commands)
ANY_COMMAND = "|".join(map(re.escape, CLI_COMMANDS))
NAMES_A_COMMAND = re.compile(rf"\bledgerflow (?:{ANY_COMMAND})\b|(?<![\w-])--[a-z]")


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string in a file but docstrings (which may show the CLI in examples)."""
    tree = ast.parse(path.read_text("utf-8"))
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docs]


def test_no_string_outside_the_cli_names_a_cli_command_or_option() -> None:
    """Messages raised (or recorded) by the engine, storage and definitions fit any caller."""
    found = [f"{path.relative_to(SRC)}:{line}: {text!r}"
             for path in _sources() if "cli" not in path.relative_to(SRC).parts
             for line, text in _strings(path) if NAMES_A_COMMAND.search(text)]
    assert found == []


@pytest.mark.parametrize("text", ["run: ledgerflow verify --all", "pause it (ledgerflow pause X)",
                                  "raise --concurrency", "worker --agents MODULE"])
def test_the_command_pattern_sees_a_command(text: str) -> None:
    assert NAMES_A_COMMAND.search(text)


@pytest.mark.parametrize("text", ["not a ledgerflow database", "changed outside ledgerflow: verify",
                                  "-- a SQL comment", "?options=-csearch_path%3Dname"])
def test_the_command_pattern_lets_words_pass(text: str) -> None:
    assert not NAMES_A_COMMAND.search(text)


@pytest.mark.parametrize(("exc", "expected"), [
    (errors.ExecutionNotFound("execution 'x' not found", id="x"),
     "list them with: ledgerflow list"),
    (errors.ExecutionRemoved("execution e-1 was removed by retention", tombstone=STONE), None),
    (errors.WorkflowNotFound("workflow 'w' not found; apply it first", id="w"),
     "run: ledgerflow apply FILE"),
    (errors.NotFound("execution e has no ledger entry 9", kind="ledger entry", id="9",
                     execution_id="e"), "see: ledgerflow history e"),
    (errors.NotFound("no breaker for agent 'a'", kind="breaker", id="a"), None),
    (errors.InvalidTransition("cannot edit the state of execution e: it is running; pause it "
                              "first", execution_id="e", current_status="running",
                              action="edit_state", allowed_actions=("pause", "cancel")),
     "run: ledgerflow pause e"),
    (errors.InvalidTransition("cannot pause execution e: it is completed", execution_id="e",
                              current_status="completed", action="pause",
                              allowed_actions=("rerun", "fork")),
     "commands: ledgerflow rerun ID --from STEP, ledgerflow fork ID"),
    (errors.InvalidTransition("execution e cannot go from failed to paused",
                              execution_id="e", current_status="failed"), None),
    (errors.ConcurrentChange("cannot pause execution e: it was changed at the same time",
                             execution_id="e", action="pause", current_status="paused"),
     "check it with: ledgerflow status e"),
    (errors.MigrationRequired("database d has 1 pending migration(s)", url="sqlite:///d.db"),
     "run: ledgerflow --db sqlite:///d.db migrate"),
    (errors.CorruptedRow("state version 1 is not valid JSON", what="state version 1"),
     "run: ledgerflow verify --all"),
    (errors.WorkerLockHeld("another worker (pid 7) already drives d", holder="7"),
     "hint: ledgerflow worker --concurrency N"),
    (errors.WorkerLockHeld("workers of single tenants already drive d"),
     "see them with: ledgerflow workers"),
    (errors.ExecutionBusy("execution e kept changing; try again", execution_id="e"), None),
])
def test_the_cli_hint_of_each_error(exc: errors.LedgerflowError, expected: str | None) -> None:
    assert hints.hint(exc) == expected
    shown = hints.render(exc)
    assert shown == (f"{exc} — {expected}" if expected else str(exc))
    assert len(shown.splitlines()) == 1


def test_every_hint_names_a_real_command() -> None:
    for template in hints.ACTION_COMMANDS.values():
        assert template.split()[0] in CLI_COMMANDS, template
