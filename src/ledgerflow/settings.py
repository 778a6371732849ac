"""Settings from ``LEDGERFLOW_*`` environment variables, with defaults that work embedded."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ledgerflow import errors

DEFAULT_DB_URL = "sqlite:///ledgerflow.db"
LARGEST_INTEGER = 2**63 - 1  # what SQLite INTEGER and PostgreSQL bigint hold at most
LONGEST_SECONDS = 100 * 365 * 86400.0  # the longest lease, grace or lifetime: a century


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    concurrency: int = 8
    recovery_limit: int = 5
    poll_interval: float = 0.25
    telemetry_capacity: int = 100_000  # records a worker buffers before dropping new ones
    lease_seconds: float = 10.0  # a worker's hold on an execution lapses this long after
    # its last heartbeat; then another worker takes the execution over

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            db_url=env.get("LEDGERFLOW_DB", DEFAULT_DB_URL),
            concurrency=_int(env, "LEDGERFLOW_CONCURRENCY", 8, minimum=1),
            recovery_limit=_int(env, "LEDGERFLOW_RECOVERY_LIMIT", 5, minimum=0),
            poll_interval=_float(env, "LEDGERFLOW_POLL_INTERVAL", 0.25),
            telemetry_capacity=_int(env, "LEDGERFLOW_TELEMETRY_CAPACITY", 100_000, minimum=1),
            lease_seconds=_float(env, "LEDGERFLOW_LEASE_SECONDS", 10.0),
        )


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise errors.ConfigurationError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise errors.ConfigurationError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise errors.ConfigurationError(f"{name}={raw!r} must be positive")
    return value
