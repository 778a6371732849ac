"""Commands imported only when they run, so ``ledgerflow --version`` and ``--help`` start at once.

A ``LazyGroup`` starts with a ``Placeholder`` for each command: its name, where it lives
and its one-line help, which is all ``--help`` lists. Looking a command up to run it (or to
show its own help) imports its module, and only that one, and puts the real command in the
placeholder's place.
"""

from __future__ import annotations

import importlib

import click


class Placeholder(click.Command):
    """Stands for a command not imported yet. ``target`` is ``module`` or ``module:attribute``
    (the attribute is the command's name unless given); ``summary`` is the first sentence
    of the command's help, what ``--help`` shows (a test holds the two equal)."""

    def __init__(self, name: str, target: str, summary: str) -> None:
        super().__init__(name, help=summary)
        self.target = target

    def load(self) -> click.Command:
        module, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module), attribute or str(self.name))
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(click.Group):
    """A group whose ``Placeholder`` commands are imported on first look-up."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, Placeholder):
            command = command.load()
            self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # a plain group over the same entries lists them as they stand: placeholders show
        # their summary, and nothing is imported for a listing
        click.Group(self.name, commands=self.commands).format_commands(ctx, formatter)
