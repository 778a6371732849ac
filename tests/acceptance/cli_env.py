"""The command line of THIS source tree in a real process, as a user runs it.

The ``ledgerflow`` console script of the environment imports whichever ``ledgerflow`` comes
first on the path: ``PYTHONPATH`` puts this tree's ``src`` first (and the repository root,
for the test agents modules), so the process runs the code under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEDGERFLOW = Path(sys.executable).with_name("ledgerflow")


def cli_env(db_url: str, **extra: str) -> dict[str, str]:
    """The environment of a CLI process on ``db_url`` running this tree's code."""
    env = dict(os.environ, LEDGERFLOW_DB=db_url, **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return env


def run_cli(cwd: Path, db_url: str, *args: str, check: bool = True,
            **extra: str) -> subprocess.CompletedProcess[str]:
    """``ledgerflow ARGS`` in ``cwd`` on ``db_url``; ``check``: it must exit 0."""
    proc = subprocess.run([str(LEDGERFLOW), *args], env=cli_env(db_url, **extra), cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc
