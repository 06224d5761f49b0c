"""Reports: render a ``Report`` as text, JSON, Markdown, CSV or HTML; they compute nothing.

``render(report, fmt)`` is the one entry point; every format takes its numbers from the same
``hgobs.analysis.tables.Report``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from hgobs.extras import require

require(("analyze",), "hgobs.reports")  # MissingExtraError (an ImportError) without the extra

from hgobs.options import FORMATS, format_named  # noqa: E402

if TYPE_CHECKING:  # the package stays light: hgobs --help lists FORMATS without pandas
    from hgobs.analysis.tables import Report
_MODULES = {"text": "text", "json": "json_report", "markdown": "markdown", "csv": "csv_report",
            "html": "html"}


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, as in ``1 record``, ``2 records``: ``plural`` (else ``noun`` and an
    s) unless ``n`` is 1."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def render(report: Report, fmt: str, *, width: int | None = None, color: bool = False) -> str:
    """The report in format ``fmt`` (one of ``FORMATS`` or an alias, ``md``) as text.

    ``width`` (columns; default ``text.DEFAULT_WIDTH``) and ``color`` (ANSI styles) apply to
    the text format only (``hgobs.reports.terminal.text_layout`` decides them for a terminal).
    Each renderer is imported only when its format is asked for. Raises
    ``ConfigError`` (option ``format``) for an unknown format.
    """
    fmt = format_named(fmt)
    module = import_module(f"hgobs.reports.{_MODULES[fmt]}")
    if fmt == "text":
        layout = {"color": color, **({"width": width} if width is not None else {})}
        text: str = module.render(report, **layout)
        return text
    output: str = module.render(report)
    return output


__all__ = ["FORMATS", "counted", "render"]
