"""Markdown report: the sections of the text report as GitHub-flavoured Markdown, failing now first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from hgobs.analysis.tables import Report
from hgobs.reports.failing import as_of, failing_now, fixes_for
from hgobs.reports.text import (
    MAX_FAILING_SHOWN,
    NO_FAILURES,
    NOTHING_FAILING,
    failing_detail,
    no_comparison,
    notice_lines,
    rate,
    sample_lines,
    seconds,
    summary_line,
    ts,
    window_line,
)

PLAIN = str.maketrans({"\\": "\\\\", "|": "\\|", "`": "\\`", "[": "\\[", "]": "\\]",
                       "&": "&amp;", "<": "&lt;", "\n": " ", "\r": " "})
"""Plain text -> Markdown that shows it as it is: no code span, link, image, HTML tag or
entity can start in it, a pipe does not end a table cell and a line break does not end the
line (``str.translate``: one pass, linear)."""


class Code(str):
    """Markdown of a code span, made by ``code``; ``cell`` puts it in a table as it is."""


def code(value: Any) -> Code:
    """``value`` as one code span whatever it holds: fenced by one backtick more than its
    longest run of backticks (CommonMark 6.1), padded with a space when it starts or ends
    with one, line breaks as spaces. Inside a code span no markup or HTML is read."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Code(f"{fence}{pad}{text}{pad}{fence}")


def cell(value: Any) -> str:
    """``value`` safe inside a Markdown table cell: a ``Code`` span with its pipes escaped
    (GFM reads ``\\|`` in a cell before the span), any other value as ``PLAIN`` text."""
    if isinstance(value, Code):
        return value.replace("|", "\\|")
    return str(value).translate(PLAIN)


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
    """Text safe in a Markdown paragraph or list item (``PLAIN``: a fix's ``<access_token>``
    is shown, not taken for an HTML tag)."""
    return str(text).translate(PLAIN)


def failing_section(report: Report) -> list[str]:
    """The "Failing now" section: each client failing now with the fix of each category."""
    items = failing_now(report)
    out = ["## Failing now", ""]
    if not items:
        return [*out, NOTHING_FAILING if not report.categories.empty else NO_FAILURES, ""]
    out += [f"As of the last failure read ({ts(as_of(report))}):", ""]
    for item in items[:MAX_FAILING_SHOWN]:
        out.append(f"- {code(item.client)}: {inline(failing_detail(item))}")
        out += [f"  - {code(category)}: {inline(fix)}"
                for category, fix in fixes_for(item.categories)]
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
                 lambda r: (code(r.category), r.environment, r.count, ts(r.first_seen),
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
                 lambda r: (code(r.client), code(r.category), r.buckets, r.count,
                            ts(r.first_seen), ts(r.last_seen)), "None.", right=[2, 3])
    out += ["## New, regressed and resolved categories", ""]
    out += table(report.changes if report.has_earlier_window else report.changes.iloc[:0],
                 ["category", "status", "now", "previous window", "earlier",
                  "last seen before"],
                 lambda r: (code(r.category), r.status, r.current, r.previous, r.earlier,
                            ts(r.last_seen_before)),
                 "No change." if report.has_earlier_window
                 else no_comparison(report).capitalize() + ".", right=[2, 3, 4])
    out += ["## Environment mismatch by direction", ""]
    out += table(report.mismatch, ["client", "direction", "count", "first seen", "last seen"],
                 lambda r: (code(r.client), r.direction, r.count, ts(r.first_seen),
                            ts(r.last_seen)), "None.", right=[2])
    out += ["## Time to recovery", ""]
    out += table(report.recovery,
                 ["client", "categories", "failed at", "recovered at", "seconds", "failures"],
                 lambda r: (code(r.client), code(", ".join(r.categories)), ts(r.failed_at),
                            "open" if r.open else ts(r.recovered_at), seconds(r.seconds),
                            r.failures), "No failures.", right=[4, 5])
    if not report.skipped.empty:
        total = max(int(report.totals["skipped"]), len(report.skipped))
        out += [f"## Skipped input ({total})", ""]
        out += table(report.skipped, ["source", "reason"], lambda r: (r.source, r.reason), "")
    return "\n".join(out).rstrip("\n") + "\n"
