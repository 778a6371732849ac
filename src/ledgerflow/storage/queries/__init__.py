"""Named SQL blocks, loaded once per dialect: ``shared.sql`` holds what every dialect says
alike (in SQLite's placeholders, translated at load), ``<dialect>.sql`` only what one says
its own way. A name is defined once: in shared.sql or in dialect files, never in both."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

# the SQL files beside this module (read as files: importing importlib.resources costs a
# command's start-up more than reading them)
HERE = Path(__file__).parent

_NAME = re.compile(r"^--\s*name:\s*([a-z0-9_]+)\s*$", re.MULTILINE)
SHARED = "shared"

# The pieces of SQL a translation must see whole: what keeps its ``?`` and ``:`` (a quoted
# string or identifier, a comment, a ``::`` cast), a placeholder, a bare ``%``.
_TOKEN = re.compile(r"""
    '(?:[^']|'')*' | "(?:[^"]|"")*" | --[^\n]* | /\*.*?\*/ | ::
  | (?P<positional>\?)
  | :(?P<named>[A-Za-z_][A-Za-z0-9_]*)
  | %
""", re.VERBOSE | re.DOTALL)


def as_written(sql: str) -> str:
    """``sql`` unchanged: SQLite reads shared.sql's placeholders (``?``, ``:name``) as they are."""
    return sql


def to_pyformat(sql: str) -> str:
    """``sql`` in psycopg's placeholders: ``?`` becomes ``%s``, ``:name`` becomes
    ``%(name)s``. Inside quoted strings and identifiers, comments and ``::`` casts ``?`` and
    ``:`` stay. Every literal ``%`` is doubled, wherever it is, since psycopg reads ``%``
    throughout a query given parameters: such a query must run with parameters (``()`` at
    least), as every PostgreSQL query of the store does."""
    return _TOKEN.sub(_pyformat_token, sql)


def _pyformat_token(found: re.Match[str]) -> str:
    if found["positional"]:
        return "%s"
    if found["named"]:
        return f"%({found['named']})s"
    return found[0].replace("%", "%%")


_TRANSLATE: dict[str, Callable[[str], str]] = {"sqlite": as_written, "postgres": to_pyformat}


def parse(text: str, source: str) -> dict[str, str]:
    """Map of name to SQL text of the blocks in ``text`` (each starts with a line
    ``-- name: <name>``; what precedes the first is ignored). A name twice in it raises
    ValueError naming ``source``."""
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"{source}: query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


def blocks(file: str) -> dict[str, str]:
    """The named blocks of ``<file>.sql`` in this package, as written (not translated)."""
    text = (HERE / f"{file}.sql").read_text("utf-8")
    return parse(text, f"{file}.sql")


def merge(shared: dict[str, str], own: dict[str, str], dialect: str) -> dict[str, str]:
    """``shared`` (already translated) with ``own`` added; a name in both raises ValueError
    naming it and both files."""
    both = sorted(shared.keys() & own.keys())
    if both:
        raise ValueError(f"query {both[0]!r} is defined in both {SHARED}.sql and "
                         f"{dialect}.sql (a name lives in one of them)")
    return {**shared, **own}


@cache
def load(dialect: str) -> dict[str, str]:
    """Map of query name to SQL text for ``dialect``: shared.sql in its placeholders, then
    ``<dialect>.sql`` as written. Raises ValueError for a dialect without a translation or a
    name defined twice (in one file, or in shared.sql and the dialect's)."""
    try:
        translate = _TRANSLATE[dialect]
    except KeyError:
        raise ValueError(f"no SQL dialect {dialect!r} (known: {sorted(_TRANSLATE)})") from None
    shared = {name: translate(sql) for name, sql in blocks(SHARED).items()}
    return merge(shared, blocks(dialect), dialect)
