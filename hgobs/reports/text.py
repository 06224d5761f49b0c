"""Text report: terminal tables of a ``Report``, opening with what is failing now and its fixes.

The width and colour are the caller's (``hgobs.reports.terminal.text_layout`` for the command
line): every line fits the width (long cells wrap, nothing is cut off), and colour marks what
is failing (red), what works (green) and the section titles (bold).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pandas as pd
from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from hgobs.analysis.tables import Report
from hgobs.reports import counted
from hgobs.reports.durations import human_duration
from hgobs.reports.failing import FailingNow, as_of, failing_now, fixes_for
from hgobs.reports.terminal import MIN_WIDTH

NO_EARLIER_WINDOW = "no earlier window to compare with (give --since for one)"
"""What the changes section says when ``Report.has_earlier_window`` is False without ``since``."""
NOTHING_BEFORE_SINCE = "no earlier window to compare with: no record was read before --since"
"""What it says when ``since`` was given and no record before it was read."""
NOTHING_SINCE = "nothing to compare: no record read at or after --since"
"""What it says when ``since`` was given and no record is in the window (it is empty)."""
MAX_SKIPPED_SHOWN = 20
MAX_ROWS_SHOWN = 50
"""Longer tables are cut here with a line saying how many rows the JSON report has."""
MAX_FAILING_SHOWN = 10
"""Clients listed under "Failing now"; the recovery table lists the others."""
DEFAULT_WIDTH = 140
"""Columns when the caller names none (``Report.render``); the command line passes its own."""
BAD, GOOD, TITLE = "red", "green", "bold"
L: JustifyMethod = "left"
R: JustifyMethod = "right"


def no_comparison(report: Report) -> str:
    """Why the changes section of ``report`` has no table (``Report.has_earlier_window`` is
    False): no ``since`` (``NO_EARLIER_WINDOW``), an empty window after it
    (``NOTHING_SINCE``), or no record read before it (``NOTHING_BEFORE_SINCE``)."""
    if report.since is None:
        return NO_EARLIER_WINDOW
    return NOTHING_SINCE if not report.totals.get("attempts") else NOTHING_BEFORE_SINCE


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


def failing_detail(item: FailingNow) -> str:
    """What the headline of one client failing now says after the client: failures, since
    when, for how long (``12 failures since 2025-11-28 02:00:01Z (for 11 h 59 min)``)."""
    when = (f"at {ts(item.since)}" if item.seconds <= 0 else
            f"since {ts(item.since)} (for {human_duration(item.seconds)})")
    return f"{counted(item.failures, 'failure')} {when}"


def failing_lines(item: FailingNow) -> tuple[str, list[tuple[str, str]]]:
    """The headline of one client failing now (client, then ``failing_detail``, which the
    Markdown report and the live summary use too) and its ``(category, fix)`` pairs."""
    return f"{item.client}: {failing_detail(item)}", fixes_for(item.categories)


def failing_title(report: Report) -> str:
    """The title of the "Failing now" section: clients whose last failures no successful
    token exchange followed, as of the last failure read."""
    return f"Failing now, as of the last failure read ({ts(as_of(report))})"


NOTHING_FAILING = ("Nothing is failing now: every failure was followed by a successful token "
                   "exchange of its client.")
NO_FAILURES = "Nothing is failing now: no failures found."
"""What "Failing now" says of a report with no failure at all (``NOTHING_FAILING`` when every
failure was followed by a success)."""


def _failing(console: Console, report: Report) -> None:
    items = failing_now(report)
    if not items:
        console.print(Text(NOTHING_FAILING if not report.categories.empty else NO_FAILURES,
                           style=GOOD))
        return
    console.print(Text(failing_title(report) + ":", style=TITLE))
    for item in items[:MAX_FAILING_SHOWN]:
        head, fixes = failing_lines(item)
        console.print(Padding(Text(head, style=BAD), (0, 0, 0, 2), expand=False))
        for category, fix in fixes:
            console.print(Padding(Text(f"{category}: {fix}"), (0, 0, 0, 4), expand=False))
    if len(items) > MAX_FAILING_SHOWN:
        console.print(f"  ... and {counted(len(items) - MAX_FAILING_SHOWN, 'more client')} "
                      "failing (see Time to recovery)")


def _text(value: Any, style: str | None = None) -> Text:
    return Text(str(value), style=style or "")


def _table(console: Console, title: str, df: pd.DataFrame, columns: Sequence[tuple[str, JustifyMethod]],
           cells: Any, empty: str) -> None:
    console.print()
    console.print(Text(title, style=TITLE))
    if df.empty:
        console.print(f"  {empty}")
        return
    rows = [[c if isinstance(c, Text) else _text(c) for c in cells(row)]
            for row in df.head(MAX_ROWS_SHOWN).itertuples(index=False)]
    grid = Table(show_lines=False, expand=False)
    whole = _whole_columns(console.width, [name for name, _ in columns], rows)
    for (name, justify), keep in zip(columns, whole, strict=True):
        # wrap (whole words first) rather than cut a value off; ids stay whole when they fit
        grid.add_column(name, justify=justify, overflow="fold", no_wrap=keep)
    for cells_of_row in rows:
        grid.add_row(*cells_of_row)
    console.print(grid)
    if len(df) > MAX_ROWS_SHOWN:
        console.print(f"  ... {len(df) - MAX_ROWS_SHOWN} more rows in the JSON report")


def _whole_columns(width: int, names: Sequence[str], rows: Sequence[Sequence[Text]]) -> list[bool]:
    """Which columns to keep on one line: those whose values are single words (category ids,
    client fingerprints, counts), when the table still fits ``width`` with each of them at its
    longest value and every other column wrapped at its longest word. Otherwise none: the
    table then narrows its widest columns first, folding an id where it must, so no line is
    wider than ``width``."""
    def words(column: int) -> list[str]:
        return [w for row in rows for w in row[column].plain.split()] + names[column].split()

    single = [all(" " not in row[i].plain for row in rows) for i in range(len(names))]
    need = 3 * len(names) + 1  # a cell's padding and its border, and the last border
    for i, keep in enumerate(single):
        cells = [row[i].plain for row in rows] + [names[i]] if keep else words(i)
        need += max((cell_len(c) for c in cells), default=0)
    return single if need <= width else [False] * len(names)


def _counts(ok: Any, failed: Any) -> tuple[Text, Text]:
    """The ok and failed cells of a row: ok green, failed red when not zero."""
    return _text(ok, GOOD), _text(failed, BAD if int(failed) else None)


def render(report: Report, *, width: int = DEFAULT_WIDTH, color: bool = False) -> str:
    """The report as text ``width`` columns wide (no line wider), with ANSI colour when
    ``color``: what is failing now with the fix of each category, totals, failures per
    category with fixes, then the trend sections (by dimension, over time, recurring,
    new/resolved/regressed, mismatch direction, recovery) and the skipped input units with
    their reasons. A ``width`` under ``terminal.MIN_WIDTH`` is taken as ``MIN_WIDTH`` (the
    report's lines wrap on a narrower terminal, as the command line's do)."""
    width = max(width, MIN_WIDTH)
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=color, no_color=not color,
                      color_system="standard" if color else None, highlight=False,
                      markup=False, emoji=False, soft_wrap=False)
    _failing(console, report)
    console.print()
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
               lambda r: (_text(r.category, BAD), r.environment, str(r.count),
                          ts(r.first_seen), ts(r.last_seen)), "")
        console.print(Text("How to fix, in the order to fix them:", style=TITLE))
        for category, fix in dict(zip(cats["category"], cats["fix"], strict=True)).items():
            console.print(Padding(Text(f"{category}: {fix}"), (0, 0, 0, 2), expand=False))
    for name, table in report.breakdown.items():
        if name == "category":
            continue
        _table(console, f"By {name.replace('_', ' ')}", table,
               [(name.replace("_", " "), L), ("attempts", R), ("ok", R), ("failed", R)],
               lambda r: (str(r.value), str(r.attempts), *_counts(r.ok, r.failed)), "none")
    _table(console, "Over time (failure rate is unknown where no success was recorded)",
           report.failure_rate,
           [("bucket", L), ("endpoint kind", L), ("attempts", R), ("ok", R), ("failed", R),
            ("failure rate", R)],
           lambda r: (ts(r.bucket), r.endpoint_kind, str(r.attempts), *_counts(r.ok, r.failed),
                      rate(r.rate, bool(r.rate_known))), "no attempts")
    _table(console, f"Recurring failures (same client and category in at least "
                    f"{report.recurring_min_buckets} buckets)", report.recurring,
           [("client", L), ("category", L), ("buckets", R), ("count", R), ("first seen", L),
            ("last seen", L)],
           lambda r: (r.client, r.category, str(r.buckets), str(r.count), ts(r.first_seen),
                      ts(r.last_seen)), "none")
    _table(console, "New, regressed and resolved categories (against the previous window)",
           report.changes if report.has_earlier_window else report.changes.iloc[:0],
           [("category", L), ("status", L), ("now", R), ("previous", R), ("earlier", R),
            ("last seen before", L)],
           lambda r: (r.category, r.status, str(r.current), str(r.previous), str(r.earlier),
                      ts(r.last_seen_before)),
           "no change" if report.has_earlier_window else no_comparison(report))
    _table(console, "Environment mismatch by direction (credential -> called)", report.mismatch,
           [("client", L), ("direction", L), ("count", R), ("first seen", L), ("last seen", L)],
           lambda r: (r.client, r.direction, str(r.count), ts(r.first_seen), ts(r.last_seen)),
           "none")
    _table(console, "Time to recovery (first failure -> next successful token exchange)",
           report.recovery,
           [("client", L), ("categories", L), ("failed at", L), ("recovered at", L),
            ("seconds", R), ("failures", R)],
           lambda r: (r.client, ", ".join(r.categories), ts(r.failed_at),
                      _text("open", BAD) if r.open else _text(ts(r.recovered_at), GOOD),
                      seconds(r.seconds), str(r.failures)), "no failures")
    skipped = report.skipped
    if not skipped.empty:
        console.print()
        total = max(int(report.totals["skipped"]), len(skipped))
        console.print(Text(f"Skipped {counted(total, 'input line')}:", style=TITLE))
        for row in skipped.head(MAX_SKIPPED_SHOWN).itertuples(index=False):
            console.print(Padding(Text(f"{row.source}: {row.reason}"), (0, 0, 0, 2), expand=False))
        if total > MAX_SKIPPED_SHOWN:
            console.print(f"  ... and {total - MAX_SKIPPED_SHOWN} more")
    return "".join(line.rstrip(" ") + "\n" for line in out.getvalue().splitlines())
