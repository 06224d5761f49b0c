"""Parts of the ``hgobs`` command line that load nothing heavy: time option, group, notes, lines said.

``hgobs --help``, each command's ``--help`` and shell completion use only these and click; the
analyzer (pandas) and the emulator (its web stack) are imported when a command runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from hgobs.errors import ConfigError
from hgobs.options import parse_time
from hgobs.reports import counted

EMULATE_HELP = ("Run a local Health Gorilla-like auth server (sandbox and production) until "
                "Ctrl-C.")
"""The first sentence of ``hgobs emulate``'s help, which the group's help lists without
importing the emulator (a test keeps it equal to the command's own)."""


def say(message: str) -> None:
    """``message`` and a line break on standard error, or nothing when that cannot be written
    (a terminal gone: EIO; a closed stream): a note about the run never costs the run its
    output or its exit status."""
    try:
        click.echo(message, err=True)
    except (OSError, ValueError):
        pass


def skipped_line(source: str, reason: object) -> str:
    """What ``hgobs classify`` (live or not) says on standard error of an input unit that is
    not a record: ``<file>:<line>: skipped: <reason>``."""
    return f"{source}: skipped: {reason}"


def classify_totals(classified: int, skipped: int, late: int = 0) -> str:
    """The last line of ``hgobs classify`` (live or not): units read, records classified,
    units skipped, and with ``late`` the records that came later than ``--lateness``."""
    return (f"hgobs: {classified + skipped} read, {classified} classified, {skipped} skipped"
            + (f", {counted(late, 'record')} late (beyond --lateness)" if late else ""))


class IsoTime(click.ParamType):
    """A time ``hgobs.options.parse_time`` reads: ISO 8601 (``2025-11-28T01:00:00Z``,
    ``+00:00``, fractions; a date alone) or a length of time before now (``24h``, ``7d``).
    Checked here and passed on as given: ``api.analyze`` counts a relative time back from the
    run's ``now``. A bad value is a usage error naming the forms accepted."""

    name = "time"

    def convert(self, value: Any, param: Any, ctx: Any) -> str | datetime:
        try:
            parse_time(value)
        except ConfigError as exc:
            self.fail(str(exc).split(": ", 1)[-1], param, ctx)
        return value


class LazyGroup(click.Group):
    """The ``hgobs`` group, whose ``emulate`` command (and with it the emulator's web stack)
    is imported only when that command is run or completed; the group's help lists it by
    ``EMULATE_HELP``."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "emulate"})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "emulate" and cmd_name not in self.commands:
            if self._listing:
                return click.Command("emulate", help=EMULATE_HELP)
            from hgobs.emulator import emulate

            self.add_command(emulate)
        return super().get_command(ctx, cmd_name)
