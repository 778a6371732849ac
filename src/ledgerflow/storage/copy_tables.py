"""What both ends of ``storage.copy`` share: a table's description, the ``Side`` protocol each
end implements (``copy_sqlite``, ``copy_postgres``), and quoting of names."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, kw_only=True, slots=True)
class TableInfo:
    name: str
    columns: tuple[str, ...]
    primary_key: tuple[str, ...] = ()
    references: frozenset[str] = frozenset()  # the tables its foreign keys point to
    order_by: tuple[str, ...] = ()  # the order rows were inserted in, as far as it is kept


class Side(Protocol):
    """One end of a copy, inside its transaction (a snapshot for the source)."""

    def tables(self) -> dict[str, TableInfo]: ...

    def count(self, table: str) -> int: ...

    def pages(self, table: TableInfo, columns: Sequence[str],
              size: int) -> Generator[list[tuple[Any, ...]], None, None]: ...

    def insert(self, table: str, columns: Sequence[str],
               rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert a page of rows; a page the target refuses raises ``errors.CopyFailed``
        with the database's reason, and that page alone is rolled back."""
        ...

    def finish(self, tables: Sequence[TableInfo]) -> None: ...

    def tenants(self) -> list[str]: ...


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
