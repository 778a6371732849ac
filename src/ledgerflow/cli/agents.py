"""agents (who offers what, breakers, statistics), agents reset, agents stats, routing."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich import box
from rich.table import Table
from rich.text import Text

from ledgerflow.cli import render
from ledgerflow.cli.base import Env, emit_json, full_id, handle_errors, json_option, pass_env

_BREAKER_STYLE = {"closed": "green", "open": "red", "half_open": "yellow"}


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _second(stamp: str | None) -> str:
    """A stored time to the second (``2026-12-06T01:41:04Z``): the table stays on one line
    per agent; ``--json`` keeps the whole stamp."""
    return f"{stamp[:19]}Z" if stamp else ""


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


@click.group(invoke_without_command=True)
@json_option
@pass_env
@click.pass_context
@handle_errors
def agents(ctx: click.Context, env: Env, as_json: bool) -> None:
    """Agents offered by live workers, with their circuit breakers and statistics.

    \b
      ledgerflow agents                       the table (--json for scripts)
      ledgerflow agents reset NAME            close NAME's breaker by hand (recorded)
      ledgerflow agents stats --recalculate   check statistics against stored decisions
    """
    if ctx.invoked_subcommand is not None:
        return
    found = env.app().agents()
    if as_json:
        emit_json([a.to_dict() for a in found])
        return
    if not found:
        click.echo("no agents yet: they appear when a worker starts "
                   "(ledgerflow worker --agents MODULE)")
        return
    table = Table("capability", "agent", "alive on", "breaker", "calls", "success", "mean",
                  "p50", "p95", "last outcome", box=box.SIMPLE_HEAD)
    for a in found:
        style = _BREAKER_STYLE.get(a.breaker, "")
        breaker = f"[{style}]{a.breaker}[/]" + (f" since {a.breaker_since[11:19]}"
                                                 if a.breaker_since else "")
        s = a.stats
        table.add_row(Text(a.capability), Text(a.agent),
                      Text(", ".join(a.workers)) if a.workers else "[dim]not running[/]",
                      breaker, str(s["total"]), _rate(s["success_rate"]), _ms(s["mean_ms"]),
                      _ms(s["p50_ms"]), _ms(s["p95_ms"]), _second(s["last_update"]))
    render.print_table(render.console(piped_width=140), table, "capability", "agent", "alive on")


@agents.command()
@click.argument("name")
@click.option("--capability", default=None, help="Only the breaker for this capability.")
@click.option("--reason", default=None, metavar="TEXT", help="Why (shown with the reset).")
@json_option
@pass_env
@handle_errors
def reset(env: Env, name: str, capability: str | None, reason: str | None,
          as_json: bool) -> None:
    """Close agent NAME's circuit breaker by hand; the transition is recorded with who did
    it. A running worker adopts the reset within a second."""
    moved = env.app().reset_breaker(name, capability)
    if as_json:
        emit_json([t.to_dict() for t in moved])
        return
    for t in moved:
        click.echo(f"{t.agent} ({t.capability}): {t.from_state} → closed ({t.reason})"
                   + (f" — {reason}" if reason else ""))


@agents.command()
@click.option("--recalculate", is_flag=True,
              help="Check every agent's statistics against the ones rebuilt from the stored "
                   "routing decisions (and the outcomes cleanup removed); writes nothing. "
                   "Exits 1 when any disagree.")
@click.option("--repair", is_flag=True,
              help="With --recalculate: store the rebuilt statistics in place of those that "
                   "disagree; still exits 1 when any disagreed. Workers may keep running: "
                   "what they add meanwhile counts.")
@json_option
@pass_env
@handle_errors
def stats(env: Env, recalculate: bool, repair: bool, as_json: bool) -> None:
    """Per-agent statistics: calls, successes, failures, success rate, mean, p50 and p95, over
    every outcome any worker recorded (exact: each worker adds its outcomes, none
    overwrites another's)."""
    if repair and not recalculate:
        raise click.UsageError("--repair goes with --recalculate (give both)")
    app = env.app()
    if not recalculate:
        found = app.agents()
        if as_json:
            emit_json([{"capability": a.capability, "agent": a.agent, **a.stats}
                       for a in found])
            return
        table = Table("capability", "agent", "calls", "ok", "failed", "success", "mean",
                      "p50", "p95", "updated", box=box.SIMPLE_HEAD)
        for a in found:
            s = a.stats
            table.add_row(Text(a.capability), Text(a.agent), str(s["total"]),
                          str(s["successes"]),
                          str(s["failures"]), _rate(s["success_rate"]), _ms(s["mean_ms"]),
                          _ms(s["p50_ms"]), _ms(s["p95_ms"]), _second(s["last_update"]))
        render.print_table(render.console(piped_width=130), table, "capability", "agent")
        return
    checked = app.recalculate_stats(write=repair)
    if as_json:
        emit_json([c.to_dict() for c in checked])
    elif not checked:
        click.echo("no statistics yet: they appear once agents run steps")
    else:
        table = Table("capability", "agent", "calls (stored → rebuilt)", "agree",
                      box=box.SIMPLE_HEAD)
        for c in checked:
            before = c.stored["total"] if c.stored else "-"
            verdict = "[green]yes[/]" if c.agree else \
                f"[red]no: {', '.join(c.differs)}[/]" + (" (repaired)" if c.repaired else "")
            table.add_row(Text(c.capability), Text(c.agent), f"{before} → {c.rebuilt['total']}",
                          verdict)
        render.print_table(render.console(piped_width=130), table, "capability", "agent")
    if not all(c.agree for c in checked):
        sys.exit(1)


@click.command()
@click.argument("execution_id")
@json_option
@pass_env
@handle_errors
def routing(env: Env, execution_id: str, as_json: bool) -> None:
    """The routing decisions of an execution: for every attempt, the chosen agent, every
    candidate's score (or why it was excluded), the reason, and how the attempt ended."""
    execution_id = full_id(env.app(), execution_id)
    decisions = env.app().routing(execution_id)
    if as_json:
        emit_json([d.to_dict() for d in decisions])
        return
    if not decisions:
        click.echo(f"no routing decisions yet for {execution_id}")
        return
    table = Table("step", "try", "agent", "outcome", "duration", "candidates", "reason",
                  box=box.SIMPLE_HEAD)
    for d in decisions:
        table.add_row(Text(d.step_id), str(d.attempt), Text(d.agent),
                      render.styled("completed" if d.outcome == "success" else "failed")
                      if d.outcome else "[dim]not recorded[/]",
                      _ms(d.duration_ms), Text(_candidates(d.candidates)), Text(d.reason))
    render.print_table(render.console(piped_width=130), table, "step", "agent")


def _candidates(scores: list[dict[str, Any]]) -> str:
    parts = []
    for s in scores:
        if s.get("excluded"):
            parts.append(f"{s['agent']}: excluded")
        elif "total" in s:
            parts.append(f"{s['agent']}: {s['total']:.2f}")
        else:
            parts.append(str(s.get("agent")))
    return ", ".join(parts)


COMMANDS = [agents, routing]
