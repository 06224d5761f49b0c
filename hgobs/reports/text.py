"""Text report: a terminal table of failures per category and environment, with the fix."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console
from rich.table import Table

from hgobs.readers.base import Item

MAX_SKIPPED_SHOWN = 20


def _ts(value: pd.Timestamp) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ")


def render(table: pd.DataFrame, totals: dict[str, int], skipped: list[Item],
           width: int = 140) -> str:
    """The report as text: totals line, the category table, then skipped lines with reasons.

    ``table`` is ``analysis.summary.by_category`` output; ``totals`` from ``summary.totals``.
    """
    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, highlight=False, soft_wrap=False)
    read = totals["attempts"] + len(skipped)
    console.print(
        f"hgobs report: {read} records read, {totals['attempts']} classified "
        f"({totals['ok']} ok, {totals['failed']} failed), {len(skipped)} skipped")
    if table.empty:
        console.print("No failures found.")
    else:
        grid = Table(show_lines=False, expand=False)
        for name, kw in (("category", {"no_wrap": True}), ("environment", {}),
                         ("count", {"justify": "right"}), ("first seen", {"no_wrap": True}),
                         ("last seen", {"no_wrap": True})):
            grid.add_column(name, **kw)
        for row in table.itertuples(index=False):
            grid.add_row(row.category, row.environment, str(row.count), _ts(row.first_seen),
                         _ts(row.last_seen))
        console.print(grid)
        console.print("How to fix, in the order to fix them:")
        for category, fix in dict(zip(table["category"], table["fix"], strict=True)).items():
            console.print(f"  {category}: {fix}")
    if skipped:
        console.print(f"Skipped {len(skipped)} input line(s):")
        for item in skipped[:MAX_SKIPPED_SHOWN]:
            console.print(f"  {item.source}: {item.reason}")
        if len(skipped) > MAX_SKIPPED_SHOWN:
            console.print(f"  ... and {len(skipped) - MAX_SKIPPED_SHOWN} more")
    return out.getvalue()
