"""Shared fixtures: real databases in temporary files, apps wired to them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgerflow.storage import open_store
from ledgerflow.storage.sqlite import SqliteStore

BACKENDS = ["sqlite"]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledgerflow.db'}"


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteStore]:
    """One store per backend; the storage contract suite runs on each."""
    s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()
