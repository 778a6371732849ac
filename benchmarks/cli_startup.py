"""How long the ``ledgerflow`` command takes to start, next to a bare Python. One command:

    .venv/bin/python benchmarks/cli_startup.py [--runs N] [--tree DIR ...] [--importtime]

Each row is a whole process, timed from start to exit: ``python -c pass``, then
``ledgerflow --version``, ``status ID``, ``status ID --json`` and ``list`` on a small SQLite
database the benchmark makes. The figure is the median of N runs and its ratio to the bare
Python of the same run. With several ``--tree`` (source checkouts, each run with its ``src``
first on the import path) the runs alternate between trees, so a before/after comparison
shares the machine's load. ``--importtime`` adds, per tree, where ``--version`` and
``status ID`` spend their import time (``python -X importtime``: each module's self time,
its least over five runs, summed by package).

Bytecode is cached in a temporary folder and every command runs once before it is timed:
the figures are those of an installed package, not of compiling the sources.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent

FLOW = """\
name: bench
steps:
  - {id: a, agent: bench.echo, output: a}
  - {id: b, agent: bench.echo, needs: [a]}
  - {id: c, type: wait, signal: go, needs: [b]}
"""
AGENTS = """\
import ledgerflow


@ledgerflow.agent("bench.echo")
def echo(ctx, data):
    return {"ok": True}
"""


def launcher() -> list[str]:
    """The installed ``ledgerflow`` script beside this Python (what users run), else -m."""
    script = Path(sys.executable).with_name("ledgerflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ledgerflow"]


def environment(tree: Path, pycache: Path, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME")}
    env.update(PYTHONPATH=str(tree / "src"), PYTHONPYCACHEPREFIX=str(pycache),
               LEDGERFLOW_DB=db_url)
    return env


def run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Seconds the process took, start to exit, and the CPU seconds it used (user + system,
    which a busy machine inflates less); a failure stops the benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


def prepare(work: Path, env: dict[str, str]) -> str:
    """A small database: one finished run waiting for a signal, a few pending executions."""
    (work / "bench.yaml").write_text(FLOW)
    (work / "bench_agents.py").write_text(AGENTS)
    cli = launcher()
    for args in (["apply", "bench.yaml"], ["run", "bench", "--agents", "bench_agents.py"]):
        run([*cli, *args], env, work)
    for _ in range(5):
        run([*cli, "start", "bench"], env, work)
    listed = subprocess.run([*cli, "list", "--json"], env=env, cwd=work, check=True,
                            capture_output=True, text=True).stdout
    return str(next(e["id"] for e in json.loads(listed) if e["status"] == "waiting"))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, "
            f"load {load}; Python {platform.python_version()}")


def import_profile(argv: list[str], env: dict[str, str], cwd: Path, top: int,
                   runs: int = 5) -> list[str]:
    """The packages ``argv`` spends most import time in: each module's self time (its
    least over ``runs``, to see past the machine's noise), summed by package."""
    least: dict[str, int] = {}
    for _ in range(runs):
        proc = subprocess.run(argv, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, cwd=cwd,
                              capture_output=True, text=True, check=True)
        for line in proc.stderr.splitlines()[1:]:  # the first line is the header
            if line.startswith("import time:"):
                self_us, _, name = line.removeprefix("import time:").split("|")
                least[name.strip()] = min(int(self_us), least.get(name.strip(), 1 << 62))
    spent: dict[str, int] = defaultdict(int)
    for name, us in least.items():
        parts = name.split(".")
        spent[".".join(parts[:2]) if parts[0] == "ledgerflow" else parts[0]] += us
    ranked = sorted(spent.items(), key=lambda kv: -kv[1])[:top]
    return [f"{sum(least.values()) / 1000:7.1f} ms in all, {len(least)} modules"] + [
        f"{us / 1000:7.1f} ms  {name}" for name, us in ranked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs of each command")
    parser.add_argument("--tree", type=Path, action="append",
                        help="a source checkout to time (repeat to compare; default: this one)")
    parser.add_argument("--importtime", action="store_true",
                        help="also show where --version and `status ID` spend import time")
    args = parser.parse_args()
    trees = [t.resolve() for t in (args.tree or [HERE.parent])]
    with tempfile.TemporaryDirectory(prefix="lf-cli-startup-") as tmp:
        work = Path(tmp)
        db_url = f"sqlite:///{work / 'bench.db'}"
        envs = {tree: environment(tree, work / f"pycache-{i}", db_url)
                for i, tree in enumerate(trees)}
        execution_id = prepare(work, envs[trees[0]])
        cli = launcher()
        rows = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "ledgerflow --version": [*cli, "--version"],
            "ledgerflow status ID": [*cli, "status", execution_id],
            "ledgerflow status --json": [*cli, "status", execution_id, "--json"],
            "ledgerflow list": [*cli, "list"],
        }
        wall: dict[tuple[str, Path], list[float]] = defaultdict(list)
        cpu: dict[tuple[str, Path], list[float]] = defaultdict(list)
        for argv in rows.values():  # warm-up: caches bytecode, fills the OS page cache
            for tree in trees:
                run(argv, envs[tree], work)
        for _ in range(args.runs):
            for label, argv in rows.items():
                for tree in trees:
                    took, used = run(argv, envs[tree], work)
                    wall[label, tree].append(took)
                    cpu[label, tree].append(used)
        print(f"machine: {machine()}")
        print(f"launcher: {' '.join(cli)}; median of {args.runs} runs, each a whole process: "
              "wall time, then CPU time (user + system); ×bare is the ratio to python -c pass")
        print(f"{'':<24}" + "".join(f" | {tree.name[:33]:^33}" for tree in trees))
        print(f"{'command':<24}" + " | wall ms ×bare   cpu ms ×bare" * len(trees))
        for label in rows:
            cells = ""
            for tree in trees:
                cells += " |"
                for series in (wall, cpu):
                    median = statistics.median(series[label, tree])
                    bare = statistics.median(series["python -c pass", tree])
                    cells += f" {median * 1000:7.1f} {median / bare:5.1f}"
            print(f"{label:<24}{cells}")
        for label in ("ledgerflow --version", "ledgerflow status ID") if args.importtime else ():
            for tree in trees:
                print(f"\nimport time of `{label}`, {tree}:")
                for line in import_profile(rows[label], envs[tree], work, 12):
                    print(f"  {line}")


if __name__ == "__main__":
    main()
