"""HTML report: one self-contained page with charts, tables and a drill-down to the evidence.

Charts (failures per category over time, share of failures by category, recurring failures
per client, environment mismatch by direction, failure rate over time) are drawn with plotly
(``plotly.graph_objects``): a maintained library whose Python package ships plotly.js, so the
page inlines it once and needs no network at all (a Content-Security-Policy of
``default-src 'none'`` forbids any fetch). It draws dates, stacked and grouped bars and lines
from plain lists, with hover details and legends, in any current browser. Altair/Vega-Lite
would need three scripts from a CDN (or a separate converter package) and Bokeh a larger
runtime for the same charts.

Machine-readable numbers for tests and scripts: every count cell has ``data-count``; total
cards have ``data-total`` (a key of ``totals``); category rows carry ``data-category`` and
``data-environment``; drill-down ``<details>`` carry ``data-category`` and ``data-count``;
chart panels carry ``data-chart`` and ``data-points`` (the values drawn); the JSON report
(``json_report.document``) is in ``<script type="application/json" id="hgobs-report-data">``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import partial
from html import escape
from importlib import resources
from string import Template
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs

from hgobs import __version__
from hgobs.analysis.tables import Report
from hgobs.diagnosis.catalog import CATEGORIES, PRIORITY
from hgobs.reports import json_report
from hgobs.reports.text import notice_lines, rate, sample_lines, seconds, summary_line, ts, window_line

MAX_RECORDS_PER_CATEGORY = 200
"""Records listed per category in the drill-down; the embedded JSON report has all of them."""
PALETTE = qualitative.Dark24 + qualitative.Light24
TOTAL_CARDS = (("read", "records read"), ("classified", "classified"), ("skipped", "skipped"),
               ("attempts", "in window"), ("ok", "ok"), ("failed", "failed"),
               ("token_exchange", "token exchanges"), ("api_call", "API calls"))
PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["select2d", "lasso2d"]}

Cell = tuple[str, Any]
"""A table cell: (text, number for ``data-count`` or None)."""


def color(category: str) -> str:
    """A stable colour per category (its catalog position picks it)."""
    return PALETTE[PRIORITY.get(category, len(PRIORITY)) % len(PALETTE)]


def _x(value: Any) -> str:
    """A UTC timestamp as plotly date text (plotly.js ignores time zone offsets)."""
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S")


def _layout(fig: go.Figure, **kw: Any) -> go.Figure:
    base: dict[str, Any] = {
        "template": "plotly_white", "margin": {"l": 10, "r": 10, "t": 34, "b": 10},
        "legend": {"orientation": "h", "y": -0.22, "font": {"size": 11}},
        "font": {"family": "system-ui, sans-serif", "size": 12}}
    fig.update_layout(**{**base, **kw})
    return fig


Chart = tuple[go.Figure, int]
"""A figure and the height in pixels it wants."""


def timeline_chart(report: Report) -> Chart | None:
    """Stacked bars: failures per bucket, one colour per category, legend at the side."""
    df = report.timeline
    if df.empty:
        return None
    fig = go.Figure()
    for category, part in df.groupby("category", sort=False):
        fig.add_bar(name=str(category), x=[_x(b) for b in part["bucket"]],
                    y=part["count"].tolist(), marker_color=color(str(category)),
                    hovertemplate="%{x}<br>%{y} failures<extra>" + escape(str(category))
                    + "</extra>")
    legend = {"orientation": "v", "x": 1.01, "y": 1, "traceorder": "normal"}
    fig = _layout(fig, barmode="stack", xaxis={"type": "date", "title": "bucket start (UTC)"},
                  yaxis={"title": "failures", "rangemode": "tozero"}, legend=legend,
                  showlegend=True)
    return fig, max(340, 21 * len(fig.data) + 100)


def share_chart(report: Report) -> Chart | None:
    """Horizontal bars: failures per category, largest first, labelled with the share."""
    df = report.breakdown["category"]
    df = df[df["failed"] > 0]
    if df.empty:
        return None
    labels = [f"{n} ({100 * share:.1f}%)" for n, share in zip(df["failed"], df["share"],
                                                               strict=True)]
    fig = go.Figure(go.Bar(y=df["value"].tolist(), x=df["failed"].tolist(), orientation="h",
                           text=labels, textposition="outside", cliponaxis=False,
                           marker_color=[color(v) for v in df["value"]],
                           hovertemplate="%{y}<br>%{text}<extra></extra>"))
    fig = _layout(fig, showlegend=False, bargap=0.25,
                  xaxis={"title": "failures", "rangemode": "tozero"},
                  yaxis={"autorange": "reversed", "automargin": True, "type": "category"},
                  margin={"l": 10, "r": 70, "t": 34, "b": 10})
    return fig, max(300, 24 * len(df) + 80)


def recurring_chart(report: Report) -> Chart | None:
    """Horizontal bars: buckets each recurring (client, category) failure appeared in."""
    df = report.recurring
    if df.empty:
        return None
    fig = go.Figure()
    for category, part in df.groupby("category", sort=False):
        fig.add_bar(name=str(category), y=part["client"].tolist(), x=part["buckets"].tolist(),
                    orientation="h", marker_color=color(str(category)),
                    customdata=part["count"].tolist(),
                    hovertemplate="client %{y}<br>%{x} buckets, %{customdata} failures"
                    "<extra>" + escape(str(category)) + "</extra>")
    fig = _layout(fig, barmode="group", bargap=0.4, showlegend=True,
                  xaxis={"title": f"buckets of {report.bucket} with the failure",
                         "rangemode": "tozero", "dtick": 1},
                  yaxis={"title": "client", "type": "category", "automargin": True})
    return fig, max(300, 30 * len(df) + 120)


def mismatch_chart(report: Report) -> Chart | None:
    """Stacked bars: environment mismatches per direction, one colour per client."""
    df = report.mismatch
    if df.empty:
        return None
    fig = go.Figure()
    for i, (client, part) in enumerate(df.groupby("client", sort=False)):
        fig.add_bar(name=str(client), x=part["direction"].tolist(), y=part["count"].tolist(),
                    marker_color=qualitative.Set2[i % len(qualitative.Set2)],
                    hovertemplate="%{x}<br>%{y} mismatches<extra>client " + escape(str(client))
                    + "</extra>")
    fig = _layout(fig, barmode="stack", bargap=0.4, showlegend=True,
                  legend={"orientation": "h", "y": -0.3, "title": {"text": "client"}},
                  xaxis={"title": "credential environment -> called environment",
                         "type": "category"},
                  yaxis={"title": "failures", "rangemode": "tozero"})
    return fig, 300


def rate_chart(report: Report) -> Chart | None:
    """Lines: failure rate per bucket for the endpoint kinds whose rate is known."""
    df = report.failure_rate
    df = df[df["rate_known"].astype(bool)]
    if df.empty:
        return None
    fig = go.Figure()
    for i, (kind, part) in enumerate(df.groupby("endpoint_kind", sort=False)):
        fig.add_scatter(name=str(kind), x=[_x(b) for b in part["bucket"]],
                        y=part["rate"].tolist(), mode="lines+markers",
                        marker={"size": 8}, line={"color": qualitative.D3[i % 10]},
                        customdata=list(zip(part["failed"], part["attempts"], strict=True)),
                        hovertemplate="%{x}<br>%{y:.1%} (%{customdata[0]} of "
                        "%{customdata[1]})<extra>" + escape(str(kind)) + "</extra>")
    fig = _layout(fig, showlegend=True, xaxis={"type": "date", "title": "bucket start (UTC)"},
                  yaxis={"title": "failed / attempts", "tickformat": ".0%",
                         "range": [0, 1.05]})
    return fig, 300


CHARTS: tuple[tuple[str, str, Callable[[Report], Chart | None], str], ...] = (
    ("timeline", "Failures per category over time", timeline_chart, "No failures."),
    ("share", "Share of failures by category", share_chart, "No failures."),
    ("recurring", "Recurring failures per client", recurring_chart, "No recurring failures."),
    ("mismatch", "Environment mismatch by direction", mismatch_chart,
     "No environment mismatch."),
    ("rate", "Failure rate over time", rate_chart,
     "Unknown: the input holds no success, so how many attempts worked is not known."),
)
WIDE = frozenset({"timeline"})


def _points(report: Report, name: str) -> list[Any]:
    """The values a chart draws, for the panel's ``data-points``."""
    if name == "rate":
        known = report.failure_rate[report.failure_rate["rate_known"].astype(bool)]
        return [float(v) for v in known["rate"]]
    source = {"timeline": report.timeline["count"], "recurring": report.recurring["buckets"],
              "mismatch": report.mismatch["count"],
              "share": report.breakdown["category"]["failed"]}[name]
    return [int(v) for v in source if int(v) > 0]


def charts(report: Report) -> tuple[str, bool]:
    """The chart panels, and whether any chart was drawn (then plotly.js is needed)."""
    panels, drawn = [], False
    for name, title, build, empty in CHARTS:
        chart = build(report)
        if chart is None:
            body = f'<div class="chart-empty"><p class="empty">{escape(empty)}</p></div>'
        else:
            drawn = True
            fig, height = chart
            body = (f'<div class="chart" style="height:{height}px">'
                    + pio.to_html(fig, full_html=False, include_plotlyjs=False,
                                  config=PLOT_CONFIG, div_id=f"chart-{name}",
                                  default_height="100%") + "</div>")
        points = escape(json.dumps(_points(report, name)))
        wide = " wide" if name in WIDE else ""
        panels.append(f'<div class="panel{wide}" data-chart="{name}" data-points="{points}">'
                      f"<h2>{escape(title)}</h2>{body}</div>")
    return "".join(panels), drawn


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


def cards(report: Report) -> str:
    """The totals as cards with ``data-total`` and ``data-count``."""
    out = []
    for key, label in TOTAL_CARDS:
        n = int(report.totals[key])
        out.append(f'<div class="card {key}" data-total="{key}"><div class="label">'
                   f'{escape(label)}</div><div class="num" data-count="{n}">{n}</div></div>')
    return "".join(out)


def categories(report: Report) -> str:
    """The category table with the fix per row."""
    return table(report.categories,
                 ["category", "environment", "count", "first seen", "last seen", "fix"],
                 lambda r: (code(r.category), escape(r.environment), num(r.count),
                            escape(ts(r.first_seen)), escape(ts(r.last_seen)),
                            escape(r.fix)),
                 "No failures found.",
                 lambda r: {"category": r.category, "environment": r.environment})


def drilldown(report: Report) -> str:
    """One ``<details>`` per category listing its records with source, time and evidence."""
    records = report.records
    if records.empty:
        return '<p class="empty">No failed records.</p>'
    failed = dict(zip(report.breakdown["category"]["value"],
                      report.breakdown["category"]["failed"], strict=True))
    out = []
    for category, part in records.groupby("category", sort=False):
        cat = str(category)
        n = int(failed.get(cat, len(part)))
        title = CATEGORIES[cat].title if cat in CATEGORIES else ""
        shown = part.head(MAX_RECORDS_PER_CATEGORY)
        rows = table(shown, ["source", "time", "environment", "endpoint", "client", "service",
                             "confidence", "evidence", "also"],
                     lambda r: (code(r.source), escape(ts(r.time)), escape(r.environment),
                                escape(r.endpoint_kind), code(r.client), escape(r.service),
                                escape(str(r.confidence or "")),
                                '<ul class="evidence">' + "".join(
                                    f"<li>{code(e)}</li>" for e in r.evidence) + "</ul>",
                                ", ".join(code(a) for a in r.also)), "")
        in_json = len(part)
        more = ""
        if in_json > len(shown):
            more = f'<p class="note">{in_json - len(shown)} more in the embedded JSON report.</p>'
        if n > in_json:
            more += (f'<p class="note">{n - in_json} more not kept: the report keeps the first '
                     f'and last {report.samples["records"]["per_group"]} of each category.</p>'
                     if "records" in report.samples else "")
        fix = escape(str(part["fix"].iloc[0] or ""))
        out.append(f'<details data-category="{escape(cat)}" data-count="{n}"><summary>'
                   f'{code(cat)}<span class="count">{n}</span><span class="title">'
                   f'{escape(title)}</span></summary><div class="body"><p class="fix">Fix: '
                   f'{fix}</p>{rows}{more}</div></details>')
    return "".join(out)


def panel(ident: str, title: str, body: str, note: str = "") -> str:
    """A titled panel around ``body`` (HTML), with an optional note under it."""
    extra = f'<p class="note">{escape(note)}</p>' if note else ""
    return f'<div class="panel" id="{ident}"><h2>{escape(title)}</h2>{body}{extra}</div>'


def trends(report: Report) -> str:
    """Full-width panels for recurring failures, changes, mismatch direction and recovery."""
    return "".join([
        panel("recurring", f"Recurring failures (in {report.recurring_min_buckets}+ buckets "
                           f"of {report.bucket})",
              table(report.recurring, ["client", "category", "buckets", "count", "first seen",
                                       "last seen"],
                    lambda r: (code(r.client), code(r.category), num(r.buckets), num(r.count),
                               escape(ts(r.first_seen)), escape(ts(r.last_seen))), "None.")),
        panel("changes", "New, regressed and resolved categories",
              table(report.changes, ["category", "status", "now", "previous", "earlier",
                                     "last seen before"],
                    lambda r: (code(r.category),
                               f'<span class="status-{escape(r.status)}">{escape(r.status)}'
                               "</span>", num(r.current), num(r.previous), num(r.earlier),
                               escape(ts(r.last_seen_before))), "No change."),
              "Against the previous window of the same length."),
        panel("mismatch", "Environment mismatch by direction",
              table(report.mismatch, ["client", "direction", "count", "first seen",
                                      "last seen"],
                    lambda r: (code(r.client), code(r.direction), num(r.count),
                               escape(ts(r.first_seen)), escape(ts(r.last_seen))), "None."),
              "Credential environment -> environment called."),
        panel("recovery", "Time to recovery",
              table(report.recovery, ["client", "category", "failed at", "recovered at",
                                      "seconds", "failures"],
                    lambda r: (code(r.client), code(r.category), escape(ts(r.failed_at)),
                               '<span class="open">open</span>' if r.open
                               else escape(ts(r.recovered_at)),
                               (seconds(r.seconds), None if r.open else float(r.seconds)),
                               num(r.failures)), "No failures."),
              "From a first failure to the next successful token exchange of that client."),
    ])


def _dimension_attrs(dimension: str, row: Any) -> dict[str, str]:
    return {"dimension": dimension, "value": str(row.value)}


def breakdown(report: Report) -> str:
    """The failure rate over time, then one panel per dimension other than category."""
    out = [
        panel("failure-rate", "Failure rate over time",
              table(report.failure_rate, ["bucket", "endpoint", "attempts", "ok", "failed",
                                          "failure rate"],
                    lambda r: (escape(ts(r.bucket)), escape(r.endpoint_kind), num(r.attempts),
                               num(r.ok), num(r.failed),
                               (rate(r.rate, bool(r.rate_known)), None)), "No attempts."),
              "Unknown where the input holds no success of that endpoint kind "
              "(successful API calls are never recorded)."),
    ]
    for name, df in report.breakdown.items():
        if name == "category":
            continue
        label = name.replace("_", " ")
        body = table(df, [label, "attempts", "ok", "failed"],
                     lambda r: (code(r.value), num(r.attempts), num(r.ok), num(r.failed)),
                     "None.", partial(_dimension_attrs, name))
        out.append(panel(f"by-{escape(name)}", f"By {label}", body))
    return "".join(out)


def render(report: Report) -> str:
    """The report as one self-contained HTML page (see module doc)."""
    chart_html, drawn = charts(report)
    data = json.dumps(json_report.document(report), ensure_ascii=False, separators=(",", ":"))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    skipped = ""
    if not report.skipped.empty:
        skipped = ('<section class="panel" id="skipped"><h2>Skipped input</h2>'
                   + table(report.skipped, ["source", "reason"],
                           lambda r: (code(r.source), escape(r.reason)), "") + "</section>")
    meta = " ".join([f"{summary_line(report)}. {window_line(report)}.", *sample_lines(report),
                     *notice_lines(report), f"Generated {ts(report.generated_at)}."])
    template = Template(resources.files("hgobs.reports").joinpath("templates/page.html")
                        .read_text(encoding="utf-8"))
    return template.substitute(
        version=escape(__version__),
        plotlyjs=f'<script type="text/javascript">{get_plotlyjs()}</script>' if drawn else "",
        meta=escape(meta), cards=cards(report), charts=chart_html,
        categories=categories(report), drilldown=drilldown(report), trends=trends(report),
        breakdown=breakdown(report), skipped=skipped, data=data)
