"""Text report: terminal tables of a ``Report`` (failures per category, trends, recovery)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.console import Console, JustifyMethod
from rich.table import Table

from hgobs.analysis.tables import Report
from hgobs.reports import counted

MAX_SKIPPED_SHOWN = 20
MAX_ROWS_SHOWN = 50
"""Longer tables are cut here with a line saying how many rows the JSON report has."""
L: JustifyMethod = "left"
R: JustifyMethod = "right"


def ts(value: Any) -> str:
    """A UTC timestamp as ``YYYY-MM-DD HH:MM:SSZ``; ``-`` when unknown."""
    if value is None or pd.isna(value):
        return "-"
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%SZ")


def seconds(value: Any) -> str:
    """A duration in seconds as text (``-`` when unknown)."""
    if value is None or pd.isna(value):
        return "-"
    return f"{float(value):g}"


def rate(value: Any, known: bool) -> str:
    """A failure rate (0..1) as a percentage, or ``unknown``."""
    if not known or value is None or pd.isna(value):
        return "unknown"
    return f"{100 * float(value):.1f}%"


def summary_line(report: Report) -> str:
    """The totals in one sentence (records read, classified, in the window, ok/failed, skipped)."""
    t = report.totals
    window = "" if t["attempts"] == t["classified"] else f", {t['attempts']} in the window"
    return (f"hgobs report: {counted(t['read'], 'record')} read, {t['classified']} classified"
            f"{window} ({t['ok']} ok, {t['failed']} failed), {t['skipped']} skipped")


def sample_lines(report: Report) -> list[str]:
    """One sentence per table that holds a sample of its rows (none when all are whole)."""
    what = {"records": "failed records (the first and last {n} of each category)",
            "recovery": "recovery episodes (the first and last {n} of each client, and the "
                        "open one)",
            "skipped": "skipped input units (the first {n})"}
    return [f"Sample: {s['kept']} of {s['total']} " + what[name].format(n=s["per_group"])
            + " are listed." for name, s in report.samples.items() if name in what]


NOTICE_TEXT = {
    "late_records": "{n} read out of time order beyond the lateness bound (judged where they "
                    "were read, so history facts about them may be missing)",
    "history_overflowed": "{n} history entries dropped by the memory cap before their time "
                          "horizon (a later record may miss a fact about an earlier one)",
}
"""The sentence of each notice counter of ``hgobs.analysis.tables.NOTICES``."""


def notice_lines(report: Report) -> list[str]:
    """One sentence per notice counter that is not zero (none when all are zero)."""
    return [f"Notice: {name}: " + NOTICE_TEXT.get(name, "{n}").format(n=n) + "."
            for name, n in report.notices.items()]


def window_line(report: Report) -> str:
    """The window, the previous window and the bucket size in one line."""
    w = report.window
    if w is None:
        return f"No records to report (bucket {report.bucket})."
    return (f"Window {ts(w.start)} .. {ts(w.end)} (previous {ts(w.previous_start)} .. "
            f"{ts(w.start)}), bucket {report.bucket}")


def _table(console: Console, title: str, df: pd.DataFrame, columns: Sequence[tuple[str, JustifyMethod]],
           cells: Any, empty: str) -> None:
    console.print()
    console.print(title)
    if df.empty:
        console.print(f"  {empty}")
        return
    grid = Table(show_lines=False, expand=False)
    for name, justify in columns:
        grid.add_column(name, justify=justify, no_wrap=True)
    for row in df.head(MAX_ROWS_SHOWN).itertuples(index=False):
        grid.add_row(*cells(row))
    console.print(grid)
    if len(df) > MAX_ROWS_SHOWN:
        console.print(f"  ... {len(df) - MAX_ROWS_SHOWN} more rows in the JSON report")


def render(report: Report, *, width: int = 140) -> str:
    """The report as text: totals, failures per category with fixes, then the trend sections
    (by dimension, over time, recurring, new/resolved/regressed, mismatch direction, recovery)
    and the skipped input units with their reasons."""
    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, highlight=False, soft_wrap=False)
    console.print(summary_line(report))
    console.print(window_line(report))
    for line in [*sample_lines(report), *notice_lines(report)]:
        console.print(line)
    cats = report.categories
    if cats.empty:
        console.print("No failures found.")
    else:
        _table(console, "Failures by category and environment", cats,
               [("category", L), ("environment", L), ("count", R), ("first seen", L),
                ("last seen", L)],
               lambda r: (r.category, r.environment, str(r.count), ts(r.first_seen),
                          ts(r.last_seen)), "")
        console.print("How to fix, in the order to fix them:")
        for category, fix in dict(zip(cats["category"], cats["fix"], strict=True)).items():
            console.print(f"  {category}: {fix}")
    for name, table in report.breakdown.items():
        if name == "category":
            continue
        _table(console, f"By {name.replace('_', ' ')}", table,
               [(name.replace("_", " "), L), ("attempts", R), ("ok", R), ("failed", R)],
               lambda r: (str(r.value), str(r.attempts), str(r.ok), str(r.failed)), "none")
    _table(console, "Over time (failure rate is unknown where no success was recorded)",
           report.failure_rate,
           [("bucket", L), ("endpoint kind", L), ("attempts", R), ("ok", R), ("failed", R),
            ("failure rate", R)],
           lambda r: (ts(r.bucket), r.endpoint_kind, str(r.attempts), str(r.ok), str(r.failed),
                      rate(r.rate, bool(r.rate_known))), "no attempts")
    _table(console, f"Recurring failures (same client and category in at least "
                    f"{report.recurring_min_buckets} buckets)", report.recurring,
           [("client", L), ("category", L), ("buckets", R), ("count", R), ("first seen", L),
            ("last seen", L)],
           lambda r: (r.client, r.category, str(r.buckets), str(r.count), ts(r.first_seen),
                      ts(r.last_seen)), "none")
    _table(console, "New, regressed and resolved categories (against the previous window)",
           report.changes,
           [("category", L), ("status", L), ("now", R), ("previous", R), ("earlier", R),
            ("last seen before", L)],
           lambda r: (r.category, r.status, str(r.current), str(r.previous), str(r.earlier),
                      ts(r.last_seen_before)), "no change")
    _table(console, "Environment mismatch by direction (credential -> called)", report.mismatch,
           [("client", L), ("direction", L), ("count", R), ("first seen", L), ("last seen", L)],
           lambda r: (r.client, r.direction, str(r.count), ts(r.first_seen), ts(r.last_seen)),
           "none")
    _table(console, "Time to recovery (first failure -> next successful token exchange)",
           report.recovery,
           [("client", L), ("category", L), ("failed at", L), ("recovered at", L),
            ("seconds", R), ("failures", R)],
           lambda r: (r.client, r.category, ts(r.failed_at),
                      "open" if r.open else ts(r.recovered_at), seconds(r.seconds),
                      str(r.failures)), "no failures")
    skipped = report.skipped
    if not skipped.empty:
        console.print()
        total = max(int(report.totals["skipped"]), len(skipped))
        console.print(f"Skipped {counted(total, 'input line')}:")
        for row in skipped.head(MAX_SKIPPED_SHOWN).itertuples(index=False):
            console.print(f"  {row.source}: {row.reason}")
        if total > MAX_SKIPPED_SHOWN:
            console.print(f"  ... and {total - MAX_SKIPPED_SHOWN} more")
    return out.getvalue()
