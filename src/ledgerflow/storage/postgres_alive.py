"""The pool's check of a connection before it hands it out, without a round trip.

A connection idle in the pool has nothing to read: the server only speaks when asked. So
if its socket is readable, the server has spoken on its own, and on an idle connection that
is a goodbye: the FATAL of an administrator's termination, a shutdown or an idle timeout,
then end of file. Such a connection (or one closed, broken or not idle) is closed, and the
pool makes a new one in its place. What the check cannot see yet (a server that went away
without a word) fails the first statement instead, as a ``ConnectionLost`` the worker
retries.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from psycopg import pq


def _readable(fd: int) -> bool:
    """Whether reading ``fd`` would not wait (data, end of file or an error), at once."""
    if hasattr(select, "poll"):  # any descriptor number, unlike select()
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])  # pragma: no cover (Windows)


def _why_dead(conn: psycopg.Connection[Any]) -> str | None:
    if conn.closed or conn.broken:
        return "closed"
    status = conn.info.transaction_status
    if status != pq.TransactionStatus.IDLE:
        return f"not idle ({status.name})"
    if _readable(conn.fileno()):
        return "closed by the server"
    return None


def check_alive(conn: psycopg.Connection[Any]) -> None:
    """Raise ``psycopg.OperationalError`` for a connection not fit to hand out, closing it
    first (the pool replaces a closed connection; one it thinks open it would keep)."""
    why = _why_dead(conn)
    if why is not None:
        conn.close()
        raise psycopg.OperationalError(f"connection not usable: {why}")
