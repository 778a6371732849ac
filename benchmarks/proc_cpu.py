"""CPU seconds of live processes, read from Linux ``/proc`` (for ``benchmarks/pg.py``)."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (Linux /proc), 0 if it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def backend_cpu(dbname: str) -> float:
    """CPU seconds of the live PostgreSQL backends of ``dbname`` (0 if not on this host)."""
    return sum(backend_cpus(dbname).values())


def backend_cpus(dbname: str) -> dict[int, float]:
    """{pid: CPU seconds} of the live PostgreSQL backends of ``dbname``."""
    found: dict[int, float] = {}
    for d in Path("/proc").glob("[0-9]*"):
        with suppress(OSError, ValueError):
            title = (d / "cmdline").read_bytes()
            if title.startswith(b"postgres: ") and f" {dbname} ".encode() in title:
                found[int(d.name)] = cpu_seconds(int(d.name))
    return found
