"""``--agents``: the README's five minutes, exactly as written, in a folder of its own.

The definition and agents module are the README's own blocks; the agents module imports a
helper module beside it, as real agents modules do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support import ROOT, run_cli

HELPER = "def shout(text):\n    return text.upper()\n"


def _readme_block(language: str, first_line: str) -> str:
    """The README's fenced ``language`` block that starts with ``first_line``."""
    blocks = re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text("utf-8"),
                        re.DOTALL)
    found = [b for b in blocks if b.startswith(first_line)]
    assert len(found) == 1, f"the README has no single {language} block starting {first_line!r}"
    return found[0]


def _agents_with_a_helper() -> str:
    """The README's my_agents.py, its second agent calling the helper module beside it."""
    source = _readme_block("python", "# my_agents.py")
    assert 'return ctx.state["greeting"].upper()' in source
    return "import helpers\n" + source.replace('return ctx.state["greeting"].upper()',
                                               'return helpers.shout(ctx.state["greeting"])')


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "greet.yaml").write_text(_readme_block("yaml", "name: greet"))
    return tmp_path


def _greet_ada(folder: Path, agents: str) -> tuple[str, str]:
    """The README's commands in ``folder``: apply, start, and a worker with ``--agents
    agents``; the execution must complete. Returns the database and the execution id."""
    db = f"sqlite:///{folder / 'ledgerflow.db'}"
    run_cli(folder, db, "apply", "greet.yaml")
    execution_id = run_cli(folder, db, "start", "greet", "--input",
                           '{"name": "Ada"}').stdout.strip()
    run_cli(folder, db, "worker", "--agents", agents, "--until-idle")
    report = json.loads(run_cli(folder, db, "status", execution_id, "--json").stdout)
    assert report["status"] == "completed", report
    assert [s["status"] for s in report["steps"]] == ["completed", "completed"]
    return db, execution_id


def test_a_dotted_name_is_found_in_the_current_folder(folder: Path) -> None:
    (folder / "my_agents.py").write_text(_agents_with_a_helper())
    (folder / "helpers.py").write_text(HELPER)
    db, execution_id = _greet_ada(folder, "my_agents")
    state = json.loads(run_cli(folder, db, "state", execution_id, "--json").stdout)["state"]
    assert state["greeting"] == "hello Ada"
    ran = run_cli(folder, db, "run", "greet", "--input", '{"name": "Ada"}', "--agents",
                  "my_agents", "--json")
    assert json.loads(ran.stdout)["status"] == "completed"


def test_a_py_file_imports_the_modules_beside_it(folder: Path) -> None:
    agents = folder / "agents"
    agents.mkdir()
    (agents / "my_agents.py").write_text(_agents_with_a_helper())
    (agents / "helpers.py").write_text(HELPER)
    _greet_ada(folder, "agents/my_agents.py")


def test_an_unknown_module_is_one_line_naming_it(folder: Path) -> None:
    db = f"sqlite:///{folder / 'ledgerflow.db'}"
    failed = run_cli(folder, db, "worker", "--agents", "no_such_agents", "--until-idle",
                     check=False)
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1, failed.stderr
    assert "cannot import agents module 'no_such_agents'" in failed.stderr
