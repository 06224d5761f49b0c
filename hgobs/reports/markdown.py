"""Markdown report: the sections of the text report as GitHub-flavoured Markdown, failing now first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from hgobs.analysis.tables import Report
from hgobs.reports.failing import as_of, failing_now
from hgobs.reports.text import (
    MAX_FAILING_SHOWN,
    NO_EARLIER_WINDOW,
    NOTHING_FAILING,
    failing_lines,
    notice_lines,
    rate,
    sample_lines,
    seconds,
    summary_line,
    ts,
    window_line,
)


def cell(value: Any) -> str:
    """Text safe inside a Markdown table cell (pipes escaped, line breaks as spaces)."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def table(df: pd.DataFrame, header: Sequence[str], cells: Callable[[Any], Sequence[Any]],
          empty: str, right: Sequence[int] = ()) -> list[str]:
    """A Markdown table of ``df`` (one line per row; ``empty`` in italics when no rows).

    ``cells`` maps a row tuple to its cell values; columns whose index is in ``right`` are
    right-aligned.
    """
    if df.empty:
        return [f"_{empty}_", ""]
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in cells(row)) + " |")
    return [*lines, ""]


def inline(text: str) -> str:
    """Text safe in a Markdown paragraph or list item (``cell``, and ``<``/``>`` as entities
    so a fix's ``<access_token>`` is shown, not taken for an HTML tag)."""
    return cell(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def failing_section(report: Report) -> list[str]:
    """The "Failing now" section: each client failing now with the fix of each category."""
    items = failing_now(report)
    out = ["## Failing now", ""]
    if not items:
        return [*out, NOTHING_FAILING if not report.categories.empty
                else "Nothing is failing now: no failures found.", ""]
    out += [f"As of the last failure read ({ts(as_of(report))}):", ""]
    for item in items[:MAX_FAILING_SHOWN]:
        head, fixes = failing_lines(item)
        client, rest = head.split(": ", 1)
        out.append(f"- `{client}`: {inline(rest)}")
        out += [f"  - `{category}`: {inline(fix)}" for category, fix in fixes]
    if len(items) > MAX_FAILING_SHOWN:
        out.append(f"- ... and {len(items) - MAX_FAILING_SHOWN} more (see Time to recovery)")
    return [*out, ""]


def render(report: Report) -> str:
    """The report as Markdown: what is failing now with fixes, totals, categories with fixes,
    then one section per trend."""
    out = ["# hgobs auth failure report", "", *failing_section(report),
           summary_line(report) + ".", "", window_line(report) + ".", ""]
    out += [line for sample in [*sample_lines(report), *notice_lines(report)]
            for line in (sample, "")]
    out += ["## Failures by category and environment", ""]
    out += table(report.categories,
                 ["category", "environment", "count", "first seen", "last seen", "fix"],
                 lambda r: (f"`{r.category}`", r.environment, r.count, ts(r.first_seen),
                            ts(r.last_seen), r.fix), "No failures found.", right=[2])
    for name, df in report.breakdown.items():
        label = name.replace("_", " ")
        out += [f"## By {label}", ""]
        out += table(df, [label, "attempts", "ok", "failed"],
                     lambda r: (r.value, r.attempts, r.ok, r.failed), "None.",
                     right=[1, 2, 3])
    out += ["## Over time", "",
            "Failure rate = failed / attempts; unknown where the input holds no success of "
            "that endpoint kind (successful API calls are never recorded).", ""]
    out += table(report.failure_rate,
                 ["bucket", "endpoint kind", "attempts", "ok", "failed", "failure rate"],
                 lambda r: (ts(r.bucket), r.endpoint_kind, r.attempts, r.ok, r.failed,
                            rate(r.rate, bool(r.rate_known))), "No attempts.",
                 right=[2, 3, 4, 5])
    out += [f"## Recurring failures (in at least {report.recurring_min_buckets} buckets)", ""]
    out += table(report.recurring,
                 ["client", "category", "buckets", "count", "first seen", "last seen"],
                 lambda r: (f"`{r.client}`", f"`{r.category}`", r.buckets, r.count,
                            ts(r.first_seen), ts(r.last_seen)), "None.", right=[2, 3])
    out += ["## New, regressed and resolved categories", ""]
    out += table(report.changes if report.has_earlier_window else report.changes.iloc[:0],
                 ["category", "status", "now", "previous window", "earlier",
                  "last seen before"],
                 lambda r: (f"`{r.category}`", r.status, r.current, r.previous, r.earlier,
                            ts(r.last_seen_before)),
                 "No change." if report.has_earlier_window else NO_EARLIER_WINDOW.capitalize()
                 + ".", right=[2, 3, 4])
    out += ["## Environment mismatch by direction", ""]
    out += table(report.mismatch, ["client", "direction", "count", "first seen", "last seen"],
                 lambda r: (f"`{r.client}`", r.direction, r.count, ts(r.first_seen),
                            ts(r.last_seen)), "None.", right=[2])
    out += ["## Time to recovery", ""]
    out += table(report.recovery,
                 ["client", "categories", "failed at", "recovered at", "seconds", "failures"],
                 lambda r: (f"`{r.client}`", f"`{', '.join(r.categories)}`", ts(r.failed_at),
                            "open" if r.open else ts(r.recovered_at), seconds(r.seconds),
                            r.failures), "No failures.", right=[4, 5])
    if not report.skipped.empty:
        total = max(int(report.totals["skipped"]), len(report.skipped))
        out += [f"## Skipped input ({total})", ""]
        out += table(report.skipped, ["source", "reason"], lambda r: (r.source, r.reason), "")
    return "\n".join(out).rstrip("\n") + "\n"
