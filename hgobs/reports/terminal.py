"""Where the text report goes: its width and whether it is coloured, decided from the terminal.

The command line asks ``text_layout`` and passes the answer to ``render(report, "text", ...)``;
a renderer never looks at the terminal itself, so a report written to a file or a pipe is the
same on every machine.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from typing import Any, TextIO

PIPED_WIDTH = 80
"""Columns of the text report when standard output is not a terminal (a pipe, a file)."""
MIN_WIDTH = 40
"""The narrowest text report (a narrower terminal gets this width and wraps it)."""


def text_layout(stream: TextIO | None = None, *, to_file: bool = False,
                environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``{"width": columns, "color": bool}`` for a text report written to ``stream`` (default
    standard output), or to a file when ``to_file``.

    Width: ``COLUMNS`` when it is set to a positive whole number (the user's explicit wish,
    also for a pipe or a file), else the terminal's width on a terminal, else ``PIPED_WIDTH``; never
    under ``MIN_WIDTH``. Colour on a terminal, none for a pipe or a file; ``NO_COLOR`` set
    to any non-empty value turns it off (https://no-color.org); ``FORCE_COLOR`` set to a
    non-empty value turns it on for a pipe (never for a file, and ``NO_COLOR`` wins).
    ``environ`` defaults to ``os.environ``.
    """
    env = os.environ if environ is None else environ
    stream = sys.stdout if stream is None else stream
    tty = not to_file and is_terminal(stream)
    columns = env.get("COLUMNS", "").strip()
    if columns.isascii() and columns.isdigit() and len(columns) < 6 and int(columns) > 0:
        width = int(columns)
    else:
        width = shutil.get_terminal_size((PIPED_WIDTH, 24)).columns if tty else PIPED_WIDTH
    width = max(MIN_WIDTH, width)
    color = (tty or (not to_file and bool(env.get("FORCE_COLOR")))) and not env.get("NO_COLOR")
    return {"width": width, "color": color}


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal: the one test for the text report's layout, the
    progress display (``hgobs.progress``) and the live summary (``hgobs.live.analyze``).
    False when it cannot say (no ``isatty``, a closed stream, an ``OSError``)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
