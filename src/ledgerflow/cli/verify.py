"""verify: recompute every hash of one ledger or all of them."""

from __future__ import annotations

import sys

import click

from ledgerflow import Tombstone, VerifyResult, errors
from ledgerflow.cli.base import Env, emit_json, handle_errors, json_option, pass_env


@click.command()
@click.argument("execution_id", required=False)
@click.option("--all", "all_", is_flag=True, help="Verify every execution of the tenant.")
@json_option
@pass_env
@handle_errors
def verify(env: Env, execution_id: str | None, all_: bool, as_json: bool) -> None:
    """Recompute the hash chain of an execution's ledger (or --all).

    Exits 0 when intact, 1 when not, naming the execution, the first bad seq and what is
    wrong: hash mismatch, gap, broken link, truncated tail, or state drift.

    Executions removed by retention (ledgerflow cleanup) have no ledger left to check:
    --all counts them and lists their tombstones under "removed" in --json; an EXECUTION_ID
    that was removed prints when it was removed, its last seq and head hash, and exits 0
    (the removal was deliberate, not damage).
    """
    if bool(execution_id) == all_:
        raise click.UsageError("give an EXECUTION_ID or --all (not both)")
    app = env.app()
    removed: list[Tombstone] = []
    if all_:
        results = list(app.verify_all())
        removed = app.tombstones()
    else:
        try:
            results = [app.verify(execution_id or "")]
        except errors.ExecutionRemoved as gone:
            results, removed = [], [gone.tombstone]
    bad = [r for r in results if not r.ok]
    if results:  # the dashboard's overview says the last run
        app.record_verification(len(results), bad, scope="all" if all_ else "some")
    if as_json:
        report = {"ok": not bad, "checked": len(results),
                  "entries": sum(r.entries for r in results),
                  "failures": [{"execution_id": r.execution_id, "seq": r.seq,
                                "problem": str(r.problem), "detail": r.detail,
                                "message": describe(r)} for r in bad]}
        if all_ or removed:
            report["removed"] = [t.to_dict() for t in removed]
        emit_json(report)
    elif not all_ and removed:
        click.echo(removed[0].describe())
    else:
        for r in bad:
            click.echo(f"FAIL {describe(r)}")
        total = sum(r.entries for r in results)
        if bad:
            click.echo(f"{len(bad)} of {len(results)} execution(s) failed verification")
        else:
            click.echo(f"ok: {len(results)} execution(s), {total} ledger entries intact")
        if removed:
            click.echo(f"{len(removed)} execution(s) removed by retention; tombstones keep "
                       "their head hashes")
    if bad:
        sys.exit(1)


def describe(result: VerifyResult) -> str:
    """``execution X: hash mismatch at seq 4: …`` — what is wrong first, then where."""
    problem = str(result.problem).replace("_", " ") if result.problem else "failed"
    where = f" at seq {result.seq}" if result.seq is not None else ""
    detail = result.detail.removeprefix(f"{problem}: ")
    return f"execution {result.execution_id}: {problem}{where}: {detail}"


COMMANDS = [verify]
