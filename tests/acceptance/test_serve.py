"""``ledgerflow serve`` as a user runs it: a real process on a free port, reached over HTTP;
the first admin token is printed once and works; nothing else it prints holds a secret."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx2 as httpx
import pytest

from ledgerflow.access import tokens
from tests.support import LEDGERFLOW, process_env, wait_for

LISTENING = re.compile(r"serving \S+ on (https?://\S+)")


@dataclass
class Server:
    proc: subprocess.Popen[str]
    base: str
    out: list[str] = field(default_factory=list)  # stdout lines, as they come
    err: list[str] = field(default_factory=list)

    @property
    def token(self) -> str:
        """The first admin token (stdout is read by its own thread: it may lag stderr)."""
        wait_for(lambda: self.out, what="the token on stdout")
        return self.out[0].strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


def _read(stream: IO[str], into: list[str], seen: threading.Event | None = None) -> None:
    for line in stream:
        into.append(line)
        if seen is not None and LISTENING.search(line):
            seen.set()


@contextmanager
def serving(url: str, cwd: Path) -> Iterator[Server]:
    """``ledgerflow serve --port 0`` on ``url`` until the block ends (then SIGTERM)."""
    proc = subprocess.Popen([str(LEDGERFLOW), "serve", "--port", "0"],
                            env=process_env(db=url), cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    server = Server(proc=proc, base="")
    up = threading.Event()
    readers = [threading.Thread(target=_read, args=(proc.stdout, server.out), daemon=True),
               threading.Thread(target=_read, args=(proc.stderr, server.err, up),
                                daemon=True)]
    for r in readers:
        r.start()
    try:
        assert up.wait(60), "".join(server.err)
        server.base = next(m[1] for m in map(LISTENING.search, server.err) if m)
        yield server
    finally:
        server.stop()
        for r in readers:
            r.join(10)
        proc.stdout.close()
        proc.stderr.close()


@pytest.fixture
def server(tmp_path: Path, backend_url: str) -> Iterator[Server]:
    with serving(backend_url, tmp_path) as started:
        yield started


def _other(token: str) -> str:
    """The token with its last character changed (never to itself)."""
    return token[:-1] + ("y" if token.endswith("x") else "x")


def test_serve_prints_a_first_admin_token_that_works(server: Server) -> None:
    assert tokens.LEAK.fullmatch(server.token)
    assert httpx.get(f"{server.base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.base}/readyz").json()["status"] == "ready"
    me = httpx.get(f"{server.base}/api/v1/me",
                   headers={"Authorization": f"Bearer {server.token}"})
    assert me.status_code == 200 and me.json()["token"]["role"] == "admin"
    refused = httpx.get(f"{server.base}/api/v1/me",
                        headers={"Authorization": f"Bearer {_other(server.token)}"})
    assert refused.status_code == 401
    assert httpx.get(f"{server.base}/api/v1/docs").status_code == 200


def test_no_log_line_holds_a_secret(server: Server) -> None:
    """Requests carry the token in the header, and by mistake in a query string; the only
    secret ever printed is the first token, once, alone on stdout."""
    auth = {"Authorization": f"Bearer {server.token}"}
    assert httpx.get(f"{server.base}/api/v1/me", headers=auth).status_code == 200
    httpx.get(f"{server.base}/api/v1/me", params={"token": server.token})
    httpx.get(f"{server.base}/api/v1/nowhere", headers=auth)
    server.stop()
    assert [line.strip() for line in server.out] == [server.token]
    logs = "".join(server.err)
    assert "GET /api/v1/me 200" in logs and "GET /api/v1/nowhere 404" in logs
    assert not tokens.LEAK.search(logs)
    assert "Bearer" not in logs and "authorization" not in logs.lower()


def test_a_second_start_prints_no_token(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lf.db'}"
    with serving(url, tmp_path) as first:
        assert tokens.LEAK.fullmatch(first.token)
    with serving(url, tmp_path) as second:
        second.stop()
        assert second.out == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1"])
def test_a_non_loopback_address_needs_tls_or_a_flag(tmp_path: Path, host: str) -> None:
    proc = subprocess.run([str(LEDGERFLOW), "serve", "--host", host],
                          env=process_env(db=f"sqlite:///{tmp_path / 'lf.db'}"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--allow-insecure-http" in proc.stderr and "Traceback" not in proc.stderr
