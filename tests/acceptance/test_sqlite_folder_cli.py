"""A SQLite URL whose folder does not exist is a mistake (a typo), not a new database: it is
a one-line error naming the folder, and nothing is created. The file itself is created on
first use, by any command, in a folder that exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerflow import App, errors
from tests.support import run_cli


@pytest.mark.parametrize("command", [["list"], ["init"], ["worker", "--until-idle"]])
def test_a_missing_folder_is_an_error_naming_it(tmp_path: Path, command: list[str]) -> None:
    failed = run_cli(tmp_path, "sqlite:///typo/dir/x.db", *command, check=False)
    assert failed.returncode == 1
    assert failed.stderr == ("error: folder typo/dir of database typo/dir/x.db does not "
                             "exist; create it first, or correct the path in the database "
                             "URL\n")
    assert list(tmp_path.iterdir()) == []  # no folder, no file


def test_init_creates_the_file_in_a_folder_that_exists(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    url = f"sqlite:///{tmp_path / 'data' / 'x.db'}"
    assert run_cli(tmp_path, url, "init").stdout == f"database ready: {url}\n"
    assert (tmp_path / "data" / "x.db").is_file()


def test_the_python_api_says_the_same(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigurationError, match=r"^folder .*missing of database "):
        App(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    assert not (tmp_path / "missing").exists()
