"""Careless or hostile command lines: integers beyond what the database holds, arguments
that are not UTF-8, malformed database URLs, unknown ids and malformed JSON. Each ends with
one line that names what is wrong and how to fix it, exit status 1 (a refused request) or 2
(a malformed command line), and never a traceback."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ledgerflow import App
from ledgerflow.cli.main import cli
from tests.support import lf, process_env

FLOW = {"name": "flow", "steps": [{"id": "a", "agent": "t.echo"}]}
BIG = str(2**64)  # one past what SQLite INTEGER and PostgreSQL bigint hold, and more


@pytest.fixture
def eid(backend_url: str) -> Iterator[str]:
    """A completed execution of ``flow``."""
    with App(backend_url) as app:
        app.agent("t.echo")(lambda ctx, data: data)
        app.apply(FLOW)
        done = app.start("flow")
        app.run_until_idle()
        yield done


def refused(url: str, *args: str, status: int = 1, env: dict[str, str] | None = None) -> str:
    """The one line ``ledgerflow --db URL ARGS`` ends with (stderr), checked to be the only
    error line, with no traceback."""
    result: Result = CliRunner().invoke(cli, ["--db", url, *args], env=env)
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    errors = [line for line in result.stderr.splitlines() if line.lower().startswith("error")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.mark.parametrize("args", [
    ("state", "{eid}", "--version", BIG),
    ("state", "{eid}", "--diff", "1", BIG),
    ("fork", "{eid}", "--at", BIG),
    ("start", "flow", "--version", BIG),
])
def test_an_integer_beyond_64_bits_is_refused_by_its_option(
        backend_url: str, eid: str, args: tuple[str, ...]) -> None:
    line = refused(backend_url, *(a.format(eid=eid) for a in args), status=2)
    assert BIG in line and "is not in the range 1<=x<=9223372036854775807" in line


@pytest.mark.parametrize(("args", "said"), [
    (("worker", "--until-idle", "--lease", "nan"), "'--lease': 'nan' is not a finite"),
    (("worker", "--until-idle", "--stop-grace", "inf"), "'--stop-grace': inf is not in"),
    (("worker", "--until-idle", "--wait-for-db", "1e300"), "'--wait-for-db': 1e+300 is not"),
    (("list", "--limit", BIG), f"'--limit': {BIG} is not in the range 1<=x<=10000"),
])
def test_numbers_out_of_range_name_their_option(db_url: str, args: tuple[str, ...],
                                                said: str) -> None:
    assert said in refused(db_url, *args, status=2)


def test_a_duration_too_long_and_an_input_too_large_are_one_line(db_url: str,
                                                                  eid: str) -> None:
    line = refused(db_url, "start", "flow", "--ttl", "99999999999999999999d")
    assert line == ("error: --ttl: duration '99999999999999999999d' is longer than 36500d "
                    "(100 years), the longest ledgerflow schedules")
    line = refused(db_url, "start", "flow", "--input", f'{{"n": {BIG}}}')
    assert line == "error: the input cannot be stored: input.n: integer 2^64 is outside ±2^53"
    line = refused(db_url, "start", "flow", "--input", '{"n": 1e999}')
    assert line.startswith("error: the input cannot be stored: input.n: ")


@pytest.mark.parametrize("args", [
    ("status", "\udcff"),
    ("start", "\udcff"),
    ("start", "flow", "--id", "id-\udcff"),
    ("apply", "caf\udce9.yaml"),
    ("--db", "sqlite:///\udcff.db", "list"),
])
def test_an_argument_that_is_not_utf8_is_refused_before_any_command(
        db_url: str, eid: str, args: tuple[str, ...]) -> None:
    line = refused(db_url, *args, status=2)
    assert "is not valid UTF-8; ledgerflow takes ids, names, URLs and file names as UTF-8" \
        in line and "\\x" in line


def test_undecodable_bytes_in_a_real_command_line(tmp_path: Path) -> None:
    # what a shell passes for $'\xff': bytes the interpreter decodes with surrogate escapes
    proc = lf(tmp_path, "status", "\udcff", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "argument '\\xff' is not valid UTF-8" in proc.stderr
    proc = lf(tmp_path, "list", check=False,
              env=process_env(db=f"sqlite:///{tmp_path}/\udcff.db"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: database URL") and "is not valid UTF-8" in proc.stderr
    assert not list(tmp_path.glob("*.db"))


@pytest.mark.parametrize(("url", "said"), [
    ("sqlite:", "bad SQLite URL 'sqlite:': use sqlite:///relative/file.db"),
    ("sqlite://", "bad SQLite URL 'sqlite://': use sqlite:///relative/file.db"),
    ("sqlite:///", "bad SQLite URL 'sqlite:///': name a database file"),
    ("sqlite:///{tmp}/", "it names a folder; name a database file in it"),
    ("sqlite:///{tmp}", "is a folder, not a database file; name a file in it"),
    ("sqlite:///{tmp}/x.db?foo=1", "unknown option(s) foo"),
    ("sqlite:///{tmp}/x.db?busy_timeout_ms=" + BIG, "busy_timeout_ms must be a whole number"),
    ("sqlite:///{tmp}/x.db?busy_timeout_ms=-1", "busy_timeout_ms must be a whole number"),
    ("sqlite:///{tmp}/no/x.db", "does not exist; create it first"),
    ("mysql://x", "unsupported database URL scheme 'mysql'"),
    ("postgresql://:x", "port 'x' is not a whole number from 1 to 65535"),
    ("postgresql://host:99999/db", "port '99999' is not a whole number from 1 to 65535"),
    ("postgresql://[::1", "bad PostgreSQL URL 'postgresql://[::1': Invalid IPv6 URL"),
    ("postgresql://u:secret@[::1", "bad PostgreSQL URL 'postgresql://u:***@[::1'"),
    ("postgresql://h/db%zz", "invalid percent-encoded token"),
    ("postgresql://u:p%zz@h/db", "bad PostgreSQL URL 'postgresql://u:***@h/db'"),
    ("postgresql://h/db?foo=bar", 'invalid URI query parameter: "foo"'),
    ("postgresql://h/db?connect_timeout=abc", "connect_timeout 'abc' is not a whole number"),
    ("postgresql://h/db?pool_min_size=0", "pool_min_size must be a positive integer"),
    ("postgresql://127.0.0.1:1/db", 'cannot connect to database "db" on PostgreSQL at '
     "127.0.0.1:1"),
])
def test_a_malformed_database_url_names_the_part_at_fault(tmp_path: Path, url: str,
                                                          said: str) -> None:
    (tmp_path / "no").mkdir(exist_ok=True)
    (tmp_path / "no").rmdir()
    line = refused(url.format(tmp=tmp_path), "list")
    assert said in line and "secret" not in line
    assert not list(tmp_path.glob("*.db"))


def test_an_empty_database_url(tmp_path: Path) -> None:
    assert "the database URL is empty" in refused(" ", "list", status=2)


def test_a_file_that_is_not_a_ledgerflow_database(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    line = refused(f"sqlite:///{text}", "status", "x")
    assert line == (f"error: {text} is not an SQLite database (it holds something else); "
                    "point the database URL at a ledgerflow database, or at a new file")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    for command in ("init", "list"):
        line = refused(f"sqlite:///{other}", command)
        assert "is an SQLite database but not a ledgerflow one" in line
    assert text.read_text() == "hello\n"


@pytest.mark.parametrize("args", [
    ("status", "nosuchid"), ("history", "nosuchid"), ("cancel", "nosuchid"),
    ("fork", "nosuchid"), ("rerun", "nosuchid", "--from", "a"), ("retry", "nosuchid"),
    ("signal", "nosuchid", "go"), ("state", "nosuchid"), ("logs", "nosuchid"),
    ("routing", "nosuchid"), ("verify", "nosuchid"), ("pause", "nosuchid"),
])
def test_an_unknown_id_is_not_found_everywhere(backend_url: str, eid: str,
                                               args: tuple[str, ...]) -> None:
    assert refused(backend_url, *args) == \
        "error: execution 'nosuchid' not found — list them with: ledgerflow list"


def test_malformed_requests(backend_url: str, eid: str) -> None:
    assert "--input is not valid JSON" in refused(backend_url, "start", "flow", "--input",
                                                  "{nope", status=2)
    assert "workflow 'nope' not found" in refused(backend_url, "start", "nope")
    assert "workflow 'flow' version 7 not found" in refused(backend_url, "start", "flow",
                                                            "--version", "7")
    assert f"execution {eid} has no state version 9" in refused(backend_url, "state", eid,
                                                               "--version", "9")
    line = refused(backend_url, "fork", eid, "--input-patch", "[1]")
    assert "the input patch, a JSON merge patch (RFC 7386) is a JSON object" in line
    assert line.endswith("not an array")
    assert "a signal needs a name" in refused(backend_url, "signal", eid, " ")
    with App(backend_url) as app:
        assert app.forks(eid) == []  # nothing was started by the refused fork


def test_a_json_file_that_is_not_utf8_is_one_line(db_url: str, eid: str,
                                                  tmp_path: Path) -> None:
    (tmp_path / "input.json").write_bytes(b'\xff\xfe{"a": 1}')
    line = refused(db_url, "start", "flow", "--input", f"@{tmp_path / 'input.json'}", status=2)
    assert line.endswith("input.json is not UTF-8 text (byte 0); save the file as UTF-8")
