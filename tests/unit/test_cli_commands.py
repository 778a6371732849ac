"""The CLI's command table: each entry is a real command, listed in ``--help`` exactly as
the command's own help would list it, and nothing a module offers is left out."""

from __future__ import annotations

import copy
import importlib
import pkgutil

import click
import pytest
from click.testing import CliRunner

import ledgerflow.cli
from ledgerflow.cli import main
from ledgerflow.cli.lazy import Placeholder

PLACEHOLDERS = {str(p.name): p for p in main.LAZY_COMMANDS}


def _group(commands: dict[str, click.Command]) -> click.Group:
    """The ``ledgerflow`` group with ``commands`` (a copy: the real one is left as it is)."""
    group = copy.copy(main.cli)
    group.commands = dict(commands)
    return group


@pytest.mark.parametrize("name", sorted(PLACEHOLDERS))
def test_each_entry_is_the_command_and_summarises_its_help(name: str) -> None:
    placeholder = PLACEHOLDERS[name]
    real = placeholder.load()
    assert not isinstance(real, Placeholder)
    assert (real.name, real.hidden) == (name, False)
    for limit in range(1, 200):  # what click shows at any terminal width
        assert placeholder.get_short_help_str(limit) == real.get_short_help_str(limit), limit


def test_every_command_a_module_offers_is_in_the_table() -> None:
    offered: dict[str, click.Command] = {}
    for info in pkgutil.iter_modules(ledgerflow.cli.__path__):
        module = importlib.import_module(f"ledgerflow.cli.{info.name}")
        offered.update({str(c.name): c for c in getattr(module, "COMMANDS", [])})
    assert offered == {name: p.load() for name, p in PLACEHOLDERS.items()}


@pytest.mark.parametrize("width", [40, 60, 80, 100])
def test_help_is_the_same_before_and_after_the_commands_load(width: int) -> None:
    lazy = CliRunner().invoke(_group(PLACEHOLDERS), ["--help"], terminal_width=width)
    loaded = {name: p.load() for name, p in PLACEHOLDERS.items()}
    eager = CliRunner().invoke(_group(loaded), ["--help"], terminal_width=width)
    assert lazy.exit_code == eager.exit_code == 0
    assert lazy.output == eager.output
    assert all(f"  {name} " in lazy.output for name in PLACEHOLDERS)


def test_looking_a_command_up_loads_it_in_place() -> None:
    group = _group(PLACEHOLDERS)
    command = group.get_command(click.Context(group), "status")
    assert command is PLACEHOLDERS["status"].load()
    assert group.commands["status"] is command
    assert isinstance(group.commands["list"], Placeholder)  # the others stay as they were


def test_a_mistyped_command_still_gets_suggestions() -> None:
    result = CliRunner().invoke(_group(PLACEHOLDERS), ["stauts"])
    assert result.exit_code == 2
    assert "No such command 'stauts'. (Did you mean one of: 'start', 'state', 'status'?)" \
        in result.output
