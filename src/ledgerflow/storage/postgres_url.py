"""PostgreSQL database URLs: ``postgresql://user@host:port/db`` (or ``postgres://``).

Every libpq option may go in the query (``?sslmode=require``); ledgerflow adds its own
pool sizes, ``pool_min_size`` and ``pool_max_size``, which are taken out before the rest
reaches libpq. Messages name the server and the database, never the password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ledgerflow import errors

SCHEMES = ("postgresql", "postgres")
_POOL_OPTIONS = {"pool_min_size": 1, "pool_max_size": 10}
_CONNECT_TIMEOUT_S = "10"


@dataclass(frozen=True, kw_only=True, slots=True)
class PostgresTarget:
    conninfo: str  # what libpq gets: the URL without ledgerflow's options, with defaults
    url: str  # the URL as given, with the password masked: safe to print
    host: str
    port: str
    dbname: str
    user: str
    pool_min_size: int
    pool_max_size: int

    def describe(self) -> str:
        """``database "x" on PostgreSQL at host:port`` for messages."""
        where = f"{self.host}:{self.port}" if self.host else f"the local socket, port {self.port}"
        return f'database "{self.dbname}" on PostgreSQL at {where}'


def _with_query(base: str, pairs: list[tuple[str, str]]) -> str:
    return f"{base}?{urlencode(pairs, safe='*')}" if pairs else base


def _masked(url: str) -> str:
    base, _, query = url.partition("?")
    try:
        password = urlsplit(base).password
    except ValueError:  # not a URL urlsplit reads: mask whatever stands before an @
        password = None
        base = re.sub(r"^([^/]*//[^:/@]*):[^@]*@", r"\1:***@", base)
    if password is not None:
        base = base.replace(f":{password}@", ":***@", 1)
    pairs = parse_qsl(query, keep_blank_values=True)
    return _with_query(base, [(k, "***" if k == "password" else v) for k, v in pairs])


def parse_url(url: str) -> PostgresTarget:
    base, _, query = url.partition("?")
    shown = _masked(url)
    try:
        scheme = urlsplit(base).scheme
    except ValueError as exc:  # an unclosed [IPv6 address
        raise errors.ConfigurationError(f"bad PostgreSQL URL {shown!r}: {exc}") from None
    if scheme not in SCHEMES:
        raise errors.ConfigurationError(
            f"bad PostgreSQL URL {shown!r}: use postgresql://user@host:5432/database"
        )
    pairs = parse_qsl(query, keep_blank_values=True)
    pool = dict(_POOL_OPTIONS)
    rest: list[tuple[str, str]] = []
    for key, value in pairs:
        if key not in pool:
            rest.append((key, value))
            continue
        try:
            pool[key] = int(value)
        except ValueError:
            pool[key] = 0
        if pool[key] < 1:
            raise errors.ConfigurationError(
                f"bad PostgreSQL URL {shown!r}: {key} must be a positive integer"
            )
    if pool["pool_min_size"] > pool["pool_max_size"]:
        raise errors.ConfigurationError(
            f"bad PostgreSQL URL {shown!r}: pool_min_size is larger than pool_max_size"
        )
    conninfo = _with_query(base, rest)
    try:
        options = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        reason = " ".join(str(exc).split())
        raise errors.ConfigurationError(f"bad PostgreSQL URL {shown!r}: {reason}") from None
    for name in ("port", "connect_timeout"):
        _check_number(shown, name, str(options.get(name) or "1"))
    user = str(options.get("user") or "(the login user)")
    defaults = {"connect_timeout": _CONNECT_TIMEOUT_S, "application_name": "ledgerflow"}
    missing = {k: v for k, v in defaults.items() if k not in options}
    return PostgresTarget(
        conninfo=make_conninfo(conninfo, **missing),
        url=shown,
        host=str(options.get("host") or ""),
        port=str(options.get("port") or "5432"),
        dbname=str(options.get("dbname") or options.get("user") or "(the user's name)"),
        user=user,
        pool_min_size=pool["pool_min_size"],
        pool_max_size=pool["pool_max_size"],
    )


_RANGES = {"port": (1, 65535), "connect_timeout": (0, 2**31 - 1)}


def _check_number(shown: str, name: str, raw: str) -> None:
    """``port`` (a list of them for several hosts) and ``connect_timeout`` are whole numbers
    in range: named here rather than left to a connection that fails later."""
    low, high = _RANGES[name]
    for part in raw.split(","):
        if not (part.isascii() and part.strip().isdigit() and low <= int(part) <= high):
            raise errors.ConfigurationError(
                f"bad PostgreSQL URL {shown!r}: {name} {part!r} is not a whole number from "
                f"{low} to {high}")


def connection_error(target: PostgresTarget, exc: psycopg.Error) -> errors.LedgerflowError:
    """A failed connection as an error a user can act on."""
    reason = " ".join(str(exc).split())
    if "FATAL" in reason and "database" in reason and "does not exist" in reason:
        return errors.ConfigurationError(
            f"{target.describe()} does not exist; create it first "
            f'(CREATE DATABASE "{target.dbname}") or use another one'
        )
    if "FATAL" in reason and ("role" in reason or "authentication" in reason):
        return errors.ConfigurationError(
            f"cannot log in to {target.describe()} as {target.user}: {reason}"
        )
    return errors.ConnectionLost(f"cannot connect to {target.describe()}: {reason}")
