"""The HTML report's chart panels: a ``Report``'s tables drawn as inline SVG (``svg``).

Charts: failures per category over time (stacked bars per bucket), share of failures by
category (horizontal bars), recurring failures per client (horizontal bars), environment
mismatch by direction (stacked bars per direction, one colour per client) and failure rate
over time (lines per endpoint kind). Each panel carries ``data-chart`` (its name) and
``data-points`` (the values drawn, one per ``class="mark"`` shape, in drawing order).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

import pandas as pd

from hgobs.analysis.tables import Report
from hgobs.reports import svg
from hgobs.reports.palette import category_colours, series_colour

Chart = Callable[[Report, dict[str, str]], str | None]
"""A chart: (report, category colours) -> the panel body (HTML), or None when empty."""


def _day_or_time(t: Any, bucket_seconds: float) -> str:
    """A bucket start as a date for whole-day buckets, else date and time (UTC)."""
    t = pd.Timestamp(t)
    if bucket_seconds % 86400 == 0:
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%d %H:%M" if bucket_seconds % 60 == 0 else "%Y-%m-%d %H:%M:%S")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def timeline_chart(report: Report, colours: dict[str, str]) -> str | None:
    """Stacked bars: failures per bucket, one colour per category (catalog order, bottom
    first), and a legend of the categories drawn."""
    df = report.timeline
    if df.empty:
        return None
    width = pd.Timedelta(seconds=report.bucket_seconds)
    columns = []
    for bucket, part in df.groupby("bucket", sort=True):
        start = pd.Timestamp(bucket)
        when = _day_or_time(start, report.bucket_seconds)
        bars = [svg.Bar(int(r.count), colours[str(r.category)],
                        f"{r.category}\n{when} ({report.bucket} bucket): "
                        f"{_plural(int(r.count), 'failure')}")
                for r in part.itertuples(index=False)]
        columns.append(svg.Column(start, start + width, bars))
    drawn = list(dict.fromkeys(str(c) for c in df["category"]))
    chart = svg.time_bars(columns, "Failures per category over time", "failures",
                          f"time (UTC), bars of {report.bucket}")
    return chart + svg.legend([(c, colours[c]) for c in sorted(drawn, key=list(colours).index)])


def _timeline_order(report: Report) -> list[int]:
    """The values ``timeline_chart`` draws, in its drawing order (bucket, then row order)."""
    df = report.timeline
    return [int(v) for _, part in df.groupby("bucket", sort=True) for v in part["count"]]


def share_chart(report: Report, colours: dict[str, str]) -> str | None:
    """Horizontal bars: failures per category, largest first, labelled with the share."""
    df = report.breakdown["category"]
    df = df[df["failed"] > 0]
    if df.empty:
        return None
    rows = []
    for r in df.itertuples(index=False):
        label = f"{int(r.failed)} ({100 * r.share:.1f}%)"
        rows.append((str(r.value), svg.Bar(int(r.failed), colours[str(r.value)],
                                           f"{r.value}: {label} of failures"), label))
    return svg.hbars(rows, "Share of failures by category", "failures")


def recurring_chart(report: Report, colours: dict[str, str]) -> str | None:
    """Horizontal bars: buckets each recurring (client, category) failure appeared in,
    labelled with the client, coloured by category."""
    df = report.recurring
    if df.empty:
        return None
    rows = [(str(r.client), svg.Bar(int(r.buckets), colours[str(r.category)],
                                    f"client {r.client}\n{r.category}: "
                                    f"{_plural(int(r.buckets), 'bucket')}, "
                                    f"{_plural(int(r.count), 'failure')}"),
             _plural(int(r.count), "failure")) for r in df.itertuples(index=False)]
    drawn = sorted(dict.fromkeys(str(c) for c in df["category"]), key=list(colours).index)
    return (svg.hbars(rows, "Recurring failures per client",
                      f"buckets of {report.bucket} with the failure")
            + svg.legend([(c, colours[c]) for c in drawn], "category"))


def mismatch_chart(report: Report, colours: dict[str, str]) -> str | None:
    """Stacked bars: environment mismatches per direction, one colour per client."""
    df = report.mismatch
    if df.empty:
        return None
    clients = list(dict.fromkeys(str(c) for c in df["client"]))
    colour = {c: series_colour(i) for i, c in enumerate(clients)}
    columns = []
    for direction in dict.fromkeys(str(d) for d in df["direction"]):
        part = df[df["direction"] == direction]
        bars = [svg.Bar(int(r.count), colour[str(r.client)],
                        f"{direction}\nclient {r.client}: {int(r.count)} "
                        + ("mismatch" if int(r.count) == 1 else "mismatches"))
                for r in part.itertuples(index=False)]
        columns.append(svg.Column(None, None, bars, direction))
    chart = svg.band_bars(columns, "Environment mismatch by direction", "failures",
                          "credential environment -> called environment")
    return chart + svg.legend([(c, colour[c]) for c in clients], "client")


def _mismatch_order(report: Report) -> list[int]:
    df = report.mismatch
    return [int(v) for d in dict.fromkeys(df["direction"])
            for v in df[df["direction"] == d]["count"]]


def rate_chart(report: Report, colours: dict[str, str]) -> str | None:
    """Lines: failure rate per bucket for the endpoint kinds whose rate is known."""
    df = report.failure_rate
    df = df[df["rate_known"].astype(bool)]
    if df.empty:
        return None
    series = []
    for i, (kind, part) in enumerate(df.groupby("endpoint_kind", sort=False)):
        points = [svg.Point(pd.Timestamp(r.bucket), float(r.rate),
                            f"{kind}\n{_day_or_time(r.bucket, report.bucket_seconds)}: "
                            f"{100 * r.rate:.1f}% ({r.failed} of {r.attempts} failed)")
                  for r in part.itertuples(index=False)]
        series.append((str(kind), series_colour(i), points))
    chart = svg.time_lines(series, "Failure rate over time", "failed / attempts",
                           f"time (UTC), buckets of {report.bucket}",
                           pd.Timedelta(seconds=report.bucket_seconds))
    return chart + svg.legend([(name, colour) for name, colour, _ in series], "endpoint")


def _rate_order(report: Report) -> list[float]:
    df = report.failure_rate
    df = df[df["rate_known"].astype(bool)]
    return [float(v) for _, part in df.groupby("endpoint_kind", sort=False)
            for v in part["rate"]]


CHARTS: tuple[tuple[str, str, Chart, str], ...] = (
    ("timeline", "Failures per category over time", timeline_chart, "No failures."),
    ("share", "Share of failures by category", share_chart, "No failures."),
    ("recurring", "Recurring failures per client", recurring_chart, "No recurring failures."),
    ("mismatch", "Environment mismatch by direction", mismatch_chart,
     "No environment mismatch."),
    ("rate", "Failure rate over time", rate_chart,
     "Unknown: the input holds no success, so how many attempts worked is not known."),
)
WIDE = frozenset({"timeline"})


def points(report: Report, name: str) -> list[Any]:
    """The values chart ``name`` draws, in drawing order, for the panel's ``data-points``."""
    if name == "timeline":
        return _timeline_order(report)
    if name == "mismatch":
        return _mismatch_order(report)
    if name == "rate":
        return _rate_order(report)
    source = {"recurring": report.recurring["buckets"],
              "share": report.breakdown["category"]["failed"]}[name]
    return [int(v) for v in source if int(v) > 0]


def colours_of(report: Report) -> dict[str, str]:
    """The page's category colours: every category the report names, in catalog order."""
    names = [*report.breakdown["category"]["value"], *report.timeline["category"],
             *report.recurring["category"], *report.categories["category"]]
    return category_colours(str(n) for n in names)


def charts(report: Report, colours: dict[str, str]) -> str:
    """The chart panels (``data-chart``, ``data-points``), each a chart or an empty note."""
    panels = []
    for name, title, build, empty in CHARTS:
        body = build(report, colours)
        if body is None:
            body = f'<div class="chart-empty"><p class="empty">{escape(empty)}</p></div>'
        else:
            body = f'<div class="chart">{body}</div>'
        data = escape(json.dumps(points(report, name)))
        wide = " wide" if name in WIDE else ""
        panels.append(f'<div class="panel{wide}" data-chart="{name}" data-points="{data}">'
                      f"<h2>{escape(title)}</h2>{body}</div>")
    return "".join(panels)
