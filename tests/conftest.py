"""Shared fixtures: real databases, apps wired to them (helpers in ``tests/support.py``).

SQLite runs in a temporary file. PostgreSQL runs on the server named by
``LEDGERFLOW_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``): a
migrated template database is made once per session, and each test gets a fresh copy of it
(``CREATE DATABASE ... TEMPLATE``), dropped afterwards. When the server cannot be reached,
the PostgreSQL tests are skipped with the reason, except under CI (``CI`` set), where they
fail: the suite must run on both backends there.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from ledgerflow import App
from ledgerflow.storage import open_store
from ledgerflow.storage.base import Store
from ledgerflow.testing import FakeClock
from tests.support import Agents

BACKENDS = ["sqlite", "postgres"]
PG_URL = os.environ.get("LEDGERFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


class PgServer:
    """The test server: an admin connection, the session's template, fresh databases."""

    def __init__(self, admin: psycopg.Connection[tuple[object, ...]]) -> None:
        self.admin = admin
        self.template = f"ledgerflow_tpl_{os.getpid()}"
        self._numbers = itertools.count(1)
        # copying the small template file by file is several times faster than WAL_LOG,
        # the default since PostgreSQL 15 (older servers only copy files)
        self._strategy = ""

    def url(self, dbname: str) -> str:
        return urlunsplit(urlsplit(PG_URL)._replace(path=f"/{dbname}"))

    def make_template(self) -> None:
        self.drop(self.template)  # a run killed earlier may have left it behind
        self.execute(f'CREATE DATABASE "{self.template}"')
        open_store(self.url(self.template), migrate=True).close()

    def create(self, *, template: bool = True) -> str:
        """A new database (a copy of the migrated template, or empty); returns its name."""
        name = f"ledgerflow_t{os.getpid()}_{next(self._numbers)}"
        source = f' TEMPLATE "{self.template}"{self._strategy}' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{source}')
        return name

    def drop(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def execute(self, sql: str) -> None:
        """Run on the admin connection, made again if the server dropped it (a test that
        restarts the server)."""
        try:
            self.admin.execute(sql)
        except psycopg.OperationalError:
            self.admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
            self.admin.execute(sql)


def _where() -> str:
    parts = urlsplit(PG_URL)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        reason = f"PostgreSQL not reachable at {_where()}: {' '.join(str(exc).split())}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: the PostgreSQL suite must run)")
        pytest.skip(reason)
    server = PgServer(admin)
    try:
        server.make_template()
        yield server
    finally:
        server.drop(server.template)
        server.admin.close()


@pytest.fixture
def owner_url(pg_server: PgServer) -> Iterator[str]:
    """A new database owned by an ordinary role (no superuser, no BYPASSRLS), and a URL
    that connects as that role: what a deployment that wants the backstop runs."""
    role = f"lf_owner_{secrets.token_hex(4)}"
    pg_server.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS')
    name = pg_server.create(template=False)
    pg_server.execute(f'ALTER DATABASE "{name}" OWNER TO "{role}"')
    parts = urlsplit(pg_server.url(name))
    url = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))
    try:
        yield url
    finally:
        pg_server.drop(name)
        pg_server.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = pg_server.create()
    yield pg_server.url(name)
    pg_server.drop(name)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledgerflow.db'}"


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each backend: the store contract and the engine tests run on
    both."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return f"sqlite:///{tmp_path / 'ledgerflow.db'}"


@pytest.fixture
def store(backend_url: str) -> Iterator[Store]:
    """One store per backend; the storage contract suite runs on each."""
    s = open_store(backend_url)
    yield s
    s.close()


@pytest.fixture
def clock() -> FakeClock:
    """Time that moves only when the test says so (``clock.advance``)."""
    return FakeClock()


@pytest.fixture
def agents() -> Agents:
    return Agents()


@pytest.fixture
def app(request: pytest.FixtureRequest, backend_url: str, agents: Agents) -> Iterator[App]:
    """An App on each backend offering the test agents (``tests.support.Agents``); it runs
    on the test's ``FakeClock`` when the test takes the ``clock`` fixture too."""
    clock = request.getfixturevalue("clock") if "clock" in request.fixturenames else None
    a = App(backend_url, clock=clock)
    agents.register(a)
    yield a
    a.close()
