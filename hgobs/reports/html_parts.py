"""Building blocks of the HTML report: tables with ``data-count`` cells, panels, code spans.

Every text put in a page goes through ``html.escape`` here or in the caller; cells given as
HTML (plain strings) must already be escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Any

import pandas as pd

Cell = tuple[str, Any]
"""A table cell: (text, number for ``data-count`` or None)."""


def num(v: Any) -> Cell:
    """A count cell: its text and the same number for ``data-count``."""
    return (str(int(v)), int(v))


def table(df: pd.DataFrame, header: Sequence[str], cells: Callable[[Any], Sequence[Any]],
          empty: str, row_attrs: Callable[[Any], dict[str, str]] | None = None) -> str:
    """An HTML table of ``df``; ``cells`` maps a row to plain text or ``Cell`` values (numbers
    right-aligned with ``data-count``), ``row_attrs`` to ``data-*`` attributes of the row."""
    if df.empty:
        return f'<p class="empty">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in df.itertuples(index=False):
        attrs = "".join(f' data-{k}="{escape(v)}"' for k, v in (row_attrs(row) if row_attrs
                                                                else {}).items())
        tds = []
        for c in cells(row):
            if isinstance(c, tuple):
                text, count = c
                data = "" if count is None else f' data-count="{escape(str(count))}"'
                tds.append(f'<td class="num"{data}>{escape(text)}</td>')
            else:
                tds.append(f"<td>{c}</td>")
        body.append(f"<tr{attrs}>{''.join(tds)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def code(v: Any) -> str:
    """Escaped text in a monospace ``<code>`` element."""
    return f"<code>{escape(str(v))}</code>"


def panel(ident: str, title: str, body: str, note: str = "") -> str:
    """A titled panel around ``body`` (HTML), with an optional note under it."""
    extra = f'<p class="note">{escape(note)}</p>' if note else ""
    return f'<div class="panel" id="{ident}"><h2>{escape(title)}</h2>{body}{extra}</div>'
