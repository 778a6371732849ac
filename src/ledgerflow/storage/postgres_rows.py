"""Rows between psycopg and the row dataclasses: dict rows in, named parameters out."""

from __future__ import annotations

import psycopg
from psycopg.rows import DictRow

from ledgerflow.storage.sqlite_rows import build, params

Conn = psycopg.Connection[DictRow]

__all__ = ["Conn", "build", "params"]
