"""demo: the client-onboarding cases on embedded SQLite, live, then verified."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from ledgerflow import load_agents
from ledgerflow.cli import render
from ledgerflow.cli.base import Env, handle_errors, pass_env
from ledgerflow.cli.progress import LiveProgress
from ledgerflow.demo import CASES, definition_path
from ledgerflow.settings import DEFAULT_DB_URL

INSTRUCTION = {"text": "Start enhanced KYC verification and collect incorporation documents"}


@click.command()
@click.option("--concurrency", type=click.IntRange(min=1, max=256), default=8,
              show_default=True, help="Handlers running at once.")
@pass_env
@handle_errors
def demo(env: Env, concurrency: int) -> None:
    """Run the client-onboarding demo: several cases, live progress, verified ledgers.

    Each case's entity type, jurisdiction and products choose its compliance domains; each
    domain's agent appends an S-expression fragment to the case document. Each case then
    stays open as a session (24h TTL): an instruction signal is routed by keyword rules to
    the matching domains, which append their fragments too.
    """
    load_agents(["ledgerflow.demo.agents"])
    app = env.app()
    console = render.console()
    applied = app.apply(definition_path())
    console.print(f"[bold]ledgerflow demo[/] · database {app.db_url} · workflow "
                  f"{applied.name} v{applied.version}")
    labels: dict[str, str] = {}
    names: dict[str, str] = {}
    ids: list[str] = []
    for case in CASES:
        execution_id = app.start("onboarding", case)
        ids.append(execution_id)
        names[execution_id] = str(case["entity_name"])
        labels[execution_id] = f"{case['entity_name'][:28]:<28} {case['entity_type']:<10} " \
                               f"{case['jurisdiction']}"
    with LiveProgress(console=console, labels=labels) as progress:
        app.run_until_idle(concurrency=concurrency, listener=progress)
    first = ids[0]
    console.print(f"\nEvery case is now an open session, waiting for [bold]close[/]. "
                  f"Instruction to {names[first]}: [italic]{INSTRUCTION['text']}[/]")
    app.signal(first, "instruction", INSTRUCTION)
    app.run_until_idle(concurrency=concurrency)

    table = Table("case", "status", "domains", "steps", "ledger", "verified")
    table.columns[2].overflow = "fold"
    failed = False
    for execution_id in ids:
        report = app.status(execution_id)
        result = app.verify(execution_id)
        failed |= report.status != "waiting" or not result.ok
        ran = [s.id for s in report.steps if s.status == "completed"
               and s.id not in ("onboarding", "review") and not s.id.startswith("on.")]
        table.add_row(names[execution_id], render.styled(report.status), " ".join(ran),
                      f"{report.progress.done}/{report.progress.total}",
                      f"{result.entries} entries",
                      "[green]ok[/]" if result.ok else f"[red]{result.message}[/]")
    console.print(table)
    state = app.state(first)
    console.print(f"\n[bold]Case document of {first}[/] (state version {state.version}):")
    for fragment in state.state.get("document", []):
        console.print(f"  {fragment}", highlight=False, soft_wrap=True)
    db = "" if env.db_url in (None, DEFAULT_DB_URL) else f"--db {env.db_url} "
    console.print("\nLook closer:")
    second = ids[1]
    for command in (
        f"status {first}", f"history {first}",
        f"state {first} --diff {state.version - 1} {state.version}",
        "list --status waiting --metrics",
        f"signal {second} instruction --data "
        "'{\"text\": \"Screen the trust parties for sanctions\"}'",
        "worker --agents ledgerflow.demo.agents --until-idle",
        f"state {second}", f"signal {first} close", "verify --all",
    ):
        console.print(f"  ledgerflow {db}{command}", highlight=False, soft_wrap=True)
    if failed:
        sys.exit(1)


COMMANDS = [demo]
