"""Named SQL blocks, one file per dialect, loaded once."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*([a-z0-9_]+)\s*$", re.MULTILINE)


@cache
def load(dialect: str) -> dict[str, str]:
    """Map of query name to SQL text for ``dialect`` (the file ``<dialect>.sql``)."""
    text = resources.files(__package__).joinpath(f"{dialect}.sql").read_text("utf-8")
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"{dialect}.sql: query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries
