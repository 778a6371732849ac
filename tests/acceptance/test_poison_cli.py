"""A bad execution fails alone, through the command line on both backends: a worker run
``--until-idle`` beside hostile handlers exits 0 without a traceback, each bad execution
ends failed with its one-line reason in ``status`` and ``history`` (printed as given,
never read as markup), the good one completes, and ``verify --all`` passes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import run_cli

AGENTS = '''
import ledgerflow

@ledgerflow.agent("h.ok", name="r.ok:ok")
def ok(ctx, data):
    return {"ok": True}

@ledgerflow.agent("h.interrupt")
def interrupt(ctx, data):
    raise KeyboardInterrupt("stop [/] now")

@ledgerflow.agent("h.exit")
async def leave(ctx, data):
    raise SystemExit("bye [bold]")

@ledgerflow.agent("h.huge")
def huge(ctx, data):
    return {"items": [{"n": 1}, {"n": 2**60}]}
'''
CASES = {"interrupt": "KeyboardInterrupt: stop [/] now", "exit": "SystemExit: bye [bold]",
         "huge": "the output cannot be stored: output.items[1].n: integer 2^60 is outside ±2^53"}


def _flow(name: str, capability: str) -> dict[str, object]:
    return {"name": name, "steps": [{"id": "s", "agent": capability},
                                    {"id": "t", "agent": "h.ok", "needs": ["s"]}]}


def test_a_worker_until_idle_fails_each_bad_execution_alone(tmp_path: Path,
                                                           backend_url: str) -> None:
    (tmp_path / "hostile.py").write_text(AGENTS)
    flows = [_flow("good", "h.ok"), *(_flow(case, f"h.{case}") for case in CASES)]
    for flow in flows:
        path = tmp_path / f"{flow['name']}.json"
        path.write_text(json.dumps(flow))
        run_cli(tmp_path, backend_url, "apply", str(path))
    run_cli(tmp_path, backend_url, "start", "good", "--id", "[bold]good[/]")
    for case in CASES:
        run_cli(tmp_path, backend_url, "start", case, "--id", f"[/]{case}:smile:")
    worker = run_cli(tmp_path, backend_url, "worker", "--until-idle", "--agents",
                     "hostile.py", "--log-level", "info")
    said = " ".join((worker.stderr + worker.stdout).split())  # lines wrap at any width
    assert "Traceback" not in said
    assert "completed [bold]good[/] good v1" in said
    assert f"failed [/]interrupt:smile: interrupt v1: step 's' failed: {CASES['interrupt']}" \
        in said
    good = json.loads(run_cli(tmp_path, backend_url, "status", "[bold]good[/]",
                              "--json").stdout)
    assert good["status"] == "completed"
    assert [s["agent"] for s in good["steps"]] == ["r.ok:ok", "r.ok:ok"]
    for case, reason in CASES.items():
        eid = f"[/]{case}:smile:"
        status = run_cli(tmp_path, backend_url, "status", eid)
        assert f"{eid}  {case} v1  failed" in status.stdout
        assert f"error: step 's' failed: {reason}" in " ".join(status.stdout.split())
        history = json.loads(run_cli(tmp_path, backend_url, "history", eid, "--json").stdout)
        assert [e["payload"]["error"] for e in history if e["event_type"] == "step.failed"] \
            == [reason]
    verify = run_cli(tmp_path, backend_url, "verify", "--all")
    assert "Traceback" not in verify.stderr


def test_an_execution_id_past_the_limit_is_refused_at_start(tmp_path: Path,
                                                            backend_url: str) -> None:
    path = tmp_path / "good.json"
    path.write_text(json.dumps(_flow("good", "h.ok")))
    run_cli(tmp_path, backend_url, "apply", str(path))
    refused = run_cli(tmp_path, backend_url, "start", "good", "--id", "x" * 10_000,
                      check=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "execution id of 10000 characters is too long: ids take at most 255" in \
        refused.stderr
    assert run_cli(tmp_path, backend_url, "start", "good", "--id", "x" * 255).stdout.strip() \
        == "x" * 255
