"""The command-line options of the live mode (``--follow``, ``--from-end``, ``--lateness``).

Declared here, beside the code they drive, so ``hgobs.cli`` only decorates its commands with
them; importing this module is cheap (click only).
"""

from __future__ import annotations

import io
import os
import stat
import sys
from typing import Any

import click

_LIVE_OPTIONS = [
    click.option("-f", "--follow", is_flag=True,
                 help="Keep reading as lines are appended, like tail -F: rotation by rename or "
                      "copy-and-truncate, files that appear later (folders and globs are "
                      "looked at again every poll). Files are read from their start first. "
                      "Ctrl-C ends the run. See the README's 'Live'."),
    click.option("--from-end", is_flag=True,
                 help="With --follow: start the files already there from their end "
                      "(tail -F), not their start."),
    click.option("--lateness", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
                 help="With --follow (or '-' on a pipe): how far in record time files may be "
                      "out of order with each other [default: 300, as without --follow]. A "
                      "record waits for earlier ones until a record this much newer is read, "
                      "or, once every file was read to its end, about a second (at most "
                      "SECONDS). A record older than one already released is judged at once "
                      "and flagged late (hgobs classify adds \"late\": true)."),
]


DEFAULT_WINDOW = "15m"
"""The live summary's window of record time (``--window``)."""
DEFAULT_INTERVAL_S = 2.0
"""Seconds between two redraws of the live summary (``--interval``)."""

_SUMMARY_OPTIONS = [
    click.option("--window", default=DEFAULT_WINDOW, show_default=True, metavar="DURATION",
                 help="With --follow: the summary counts the records of this last span of "
                      "record time (15m, 1h, 90s)."),
    click.option("--interval", type=click.FloatRange(min=0.1), default=DEFAULT_INTERVAL_S,
                 show_default=True, metavar="SECONDS",
                 help="With --follow: seconds between two redraws of the summary (on a "
                      "terminal)."),
]


def live_options(func: Any) -> Any:
    """Decorate a command with the live mode's options."""
    for option in reversed(_LIVE_OPTIONS):
        func = option(func)
    return func


def summary_options(func: Any) -> Any:
    """Decorate ``analyze`` with the live summary's options (``--window``, ``--interval``)."""
    for option in reversed(_SUMMARY_OPTIONS):
        func = option(func)
    return func


def is_stream(stream: Any = None) -> bool:
    """True when ``stream`` (default ``sys.stdin``) is a pipe, a terminal or a socket, not a
    regular file: ``-`` alone is then read as a stream, each verdict printed as its line
    arrives. False for a stream without a descriptor (a test harness's)."""
    try:
        return not stat.S_ISREG(os.fstat((stream or sys.stdin).fileno()).st_mode)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
