"""serve: the REST API and the dashboard over HTTP."""

from __future__ import annotations

import ipaddress
import logging
import socket
from pathlib import Path

import click

from ledgerflow.cli.base import Env, handle_errors, pass_env

DEFAULT_PORT = 8420


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs --tls-cert and "
                   "--tls-key, or --allow-insecure-http.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port, printed).")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Certificate file (PEM) to serve HTTPS.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Private key file (PEM) of --tls-cert.")
@click.option("--allow-insecure-http", is_flag=True,
              help="Serve plain HTTP on a non-loopback address (tokens cross the network "
                   "in clear: only behind a TLS-terminating proxy).")
@pass_env
@handle_errors
def serve(env: Env, host: str, port: int, tls_cert: Path | None, tls_key: Path | None,
          allow_insecure_http: bool) -> None:
    """Serve the REST API under /api/v1 (OpenAPI at /api/v1/openapi.json, docs at
    /api/v1/docs), the dashboard under /ui/, /healthz and /readyz.

    \b
    Requests authenticate with 'Authorization: Bearer TOKEN' and act for the token's
    tenant. On the first start on a database whose default tenant has no token yet, an
    admin token for it is printed once: keep it (`ledgerflow tokens create` makes more).
    The server binds 127.0.0.1 unless told otherwise; another address needs TLS
    (--tls-cert, --tls-key) or --allow-insecure-http.
    """
    import uvicorn

    from ledgerflow.server.app import create_app

    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("give both --tls-cert and --tls-key, or neither")
    tls = tls_cert is not None
    if not _loopback(host) and not tls and not allow_insecure_http:
        raise click.UsageError(
            f"--host {host} is not a loopback address: serve HTTPS (--tls-cert, --tls-key) "
            "or, behind a TLS-terminating proxy, add --allow-insecure-http")
    app = env.app(migrate=True)
    first = app.access.first_admin("default")
    if first is not None:
        click.echo("A first admin token for the default tenant (shown once, keep it):",
                   err=True)
        click.echo(first.secret)
    scheme = "https" if tls else "http"
    api = create_app(app)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    # uvicorn's access log would print query strings: the server logs each request itself
    config = uvicorn.Config(api, host=host, port=port, log_level="info", access_log=False,
                            ssl_certfile=str(tls_cert) if tls_cert else None,
                            ssl_keyfile=str(tls_key) if tls_key else None)
    try:  # bound here, so the address printed is the one served (--port 0 picks one)
        sock = socket.create_server((host, port), family=_family(host))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    address, real_port = sock.getsockname()[:2]
    base = f"{scheme}://{_shown(address)}:{real_port}"
    click.echo(f"ledgerflow serving {app.db_url} on {base}", err=True)
    click.echo(f"  API docs   {base}/api/v1/docs", err=True)
    click.echo(f"  dashboard  {base}/ui/ (sign in with a token)", err=True)
    uvicorn.Server(config).run(sockets=[sock])


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _shown(address: str) -> str:
    return f"[{address}]" if ":" in address else address


COMMANDS = [serve]
