"""Hostile definitions and inputs typed at the command line: each is refused in one line
naming the problem (exit 1, no traceback, no hang), or, when only running shows it, fails its
own step with the reason in its history while a good execution beside it completes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import lf, lf_json

AGENTS = ('import ledgerflow\n\n\n@ledgerflow.agent("t.echo")\n'
          'def echo(ctx, data):\n    return {"step": ctx.step_id}\n')
GOOD = "name: good\nsteps:\n- id: a\n  agent: t.echo\n"
DEEP = 10_000
LAUGHS = "name: lol\nsteps:\n- id: a\n  agent: t.echo\n  input:\n" \
    + "    l0: &l0 [a,a,a,a,a,a,a,a,a,a]\n" \
    + "".join(f"    l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10))
# 400 + 400 * 400 iterations: past the budget of 100,000 part way through
SQUARE = "input.items.map(x, input.items.map(y, x + y)).size() > 0"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "agents.py").write_text(AGENTS)
    (tmp_path / "good.yaml").write_text(GOOD)
    lf(tmp_path, "apply", "good.yaml")
    return tmp_path


def refused(folder: Path, *args: str) -> str:
    """Run a command that must be refused; its one error line."""
    proc = lf(folder, *args, check=False)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")
    return proc.stderr


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("deep.json", '{"name": "deep", "steps": [{"id": "a", "agent": "t.echo", "input": {"v": '
     + "[" * DEEP + "]" * DEEP + "}}]}",
     "the definition nests lists and mappings more than 100 levels deep"),
    ("deep.yaml", "name: deep\nsteps:\n- id: a\n  agent: t.echo\n  input: " + "[" * DEEP
     + "]" * DEEP + "\n", "line 5, column 107: the definition nests lists and mappings more "
                          "than 100 levels deep"),
    ("lol.yaml", LAUGHS, "the definition holds more than 200,000 values"),
    ("chain.json", json.dumps({"name": "chain", "steps": [
        {"id": f"s{i}", "agent": "t.echo", "needs": [f"s{(i + 1) % 3000}"]}
        for i in range(3000)]}), "steps: cycle s0 -> s1 -> s2 -> "),
    ("on.yaml", "name: on\nsteps:\n- id: on.go\n  agent: t.echo\n",
     "steps[0].id: step id 'on.go' begins with 'on.', which names signal handler runs"),
    ("late.yaml", "name: late\nsteps:\n- id: a\n  agent: t.echo\n  timeout: 1000000000000d\n",
     "steps[0].timeout: duration '1000000000000d' is longer than 36500d (100 years)"),
    ("when.yaml", "name: when\nsteps:\n- id: a\n  agent: t.echo\n  when: '" + "1" + " + 1" * 300
     + " > 0'\n", "steps[0].when: invalid CEL expression '1 + 1 + 1"),
])
def test_apply_refuses_a_bomb_in_one_line(folder: Path, name: str, text: str,
                                          problem: str) -> None:
    (folder / name).write_text(text)
    assert problem in refused(folder, "apply", name)
    assert [w["name"] for w in lf_json(folder, "workflows")] == ["good"]


def test_start_run_and_signal_refuse_data_nested_too_deep(folder: Path) -> None:
    deep = "[" * DEEP + "]" * DEEP
    (folder / "deep.json").write_text(deep)
    assert refused(folder, "start", "good", "--input", "@deep.json") == (
        "error: --input file deep.json nests lists and mappings more than 100 levels deep; "
        "flatten it (ledgerflow refuses deeper documents)\n")
    assert "--input nests lists" in refused(folder, "start", "good", "--input", deep)
    assert "--input nests lists" in refused(folder, "run", "good", "--agents", "agents.py",
                                            "--input", deep)
    execution_id = lf(folder, "start", "good").stdout.strip()
    assert "--data nests lists" in refused(folder, "signal", execution_id, "go", "--data", deep)
    assert lf_json(folder, "list") != []


def test_an_expression_over_its_budget_fails_its_step_and_a_good_one_completes(
        folder: Path) -> None:
    (folder / "square.yaml").write_text(
        f"name: square\nsteps:\n- id: a\n  agent: t.echo\n  when: '{SQUARE}'\n")
    lf(folder, "apply", "square.yaml")
    items = json.dumps({"items": list(range(400))})
    bad = lf(folder, "start", "square", "--input", items).stdout.strip()
    good = lf(folder, "start", "good").stdout.strip()
    worker = lf(folder, "worker", "--agents", "agents.py", "--until-idle")
    assert "Traceback" not in worker.stderr
    assert lf_json(folder, "status", good)["status"] == "completed"
    assert lf_json(folder, "status", bad)["status"] == "failed"
    failed = [e for e in lf_json(folder, "history", bad) if e["event_type"] == "step.failed"]
    assert [e["payload"]["error"] for e in failed] == [
        f"when: expression {SQUARE!r} exceeded its evaluation budget of 100,000 macro "
        "iterations and elements; evaluate over less data, nest fewer macros, or move the "
        "work into an agent"]
    lf(folder, "verify", "--all")
