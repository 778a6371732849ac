"""``worker --limit CAPABILITY=N`` through the command line: a bad value is a usage error
naming the option, a good one is recorded with the worker and shown by ``workers``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import lf, lf_json

AGENTS = '''
import ledgerflow


@ledgerflow.agent("t.a")
def a(ctx, data):
    return "a"
'''


@pytest.mark.parametrize(("value", "says"), [
    ("t.a", "'t.a': write CAPABILITY=N"),
    ("t.a=0", "'t.a=0': write CAPABILITY=N, N a whole number from 1"),
    ("=3", "'=3': write CAPABILITY=N"),
    ("t.zz=2", "limit of 't.zz': no agent of this worker offers it (it offers t.a)"),
])
def test_a_bad_limit_is_a_usage_error_naming_the_option(tmp_path: Path, value: str,
                                                        says: str) -> None:
    (tmp_path / "limited_agents.py").write_text(AGENTS)
    proc = lf(tmp_path, "worker", "--agents", "limited_agents.py", "--limit", value,
              "--until-idle", check=False)
    assert proc.returncode == 2
    assert "Invalid value for '--limit'" in proc.stderr
    assert says in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_limits_are_recorded_and_shown_by_workers(tmp_path: Path) -> None:
    (tmp_path / "limited_agents.py").write_text(AGENTS)
    lf(tmp_path, "worker", "--agents", "limited_agents.py", "--limit", "t.a=2",
       "--until-idle")
    [worker] = lf_json(tmp_path, "workers", "--all")
    assert worker["limits"] == {"t.a": 2}
    assert worker["stuck"] == []
    assert "t.a (2 at a time)" in lf(tmp_path, "workers", "--all").stdout
