"""HTML report: one self-contained page that opens with what is failing now, then the rest.

Order: what is failing now (open recovery episodes: client, since when, for how long, every
category with its fix), the totals, failures by category with fixes, the charts (inline SVG
from ``html_charts``, no script), the records per category, trends and breakdowns. The page
needs no network and runs no script: its Content-Security-Policy is ``default-src 'none'``
with inline styles only; the embedded JSON report is data (``type="application/json"``).

Machine-readable numbers for tests and scripts: every count cell has ``data-count``; total
cards have ``data-total`` (a key of ``totals``); category rows carry ``data-category`` and
``data-environment``; drill-down ``<details>`` carry ``data-category`` and ``data-count``;
chart panels carry ``data-chart`` and ``data-points`` (the values drawn); each failing-now
item carries ``data-client`` and ``data-failures``; the JSON report
(``json_report.document``) is in ``<script type="application/json" id="hgobs-report-data">``.
"""

from __future__ import annotations

import json
from functools import partial
from html import escape
from importlib import resources
from string import Template
from typing import Any

from hgobs import __version__
from hgobs.analysis.tables import Report
from hgobs.diagnosis.catalog import CATEGORIES
from hgobs.reports import json_report
from hgobs.reports.html_charts import charts, colours_of
from hgobs.reports.html_parts import code, num, panel, table
from hgobs.reports.html_sections import category_label, changes, failing, recovery
from hgobs.reports.text import notice_lines, rate, sample_lines, summary_line, ts, window_line

MAX_RECORDS_PER_CATEGORY = 200
"""Records listed per category in the drill-down; the embedded JSON report has all of them."""
TOTAL_CARDS = (("read", "records read"), ("classified", "classified"), ("skipped", "skipped"),
               ("attempts", "in window"), ("ok", "ok"), ("failed", "failed"),
               ("token_exchange", "token exchanges"), ("api_call", "API calls"))


def cards(report: Report) -> str:
    """The totals as cards with ``data-total`` and ``data-count``."""
    out = []
    for key, label in TOTAL_CARDS:
        n = int(report.totals[key])
        out.append(f'<div class="card {key}" data-total="{key}"><div class="label">'
                   f'{escape(label)}</div><div class="num" data-count="{n}">{n}</div></div>')
    return "".join(out)


def categories(report: Report, colours: dict[str, str]) -> str:
    """The category table with the fix per row (each category with its chart colour)."""
    return table(report.categories,
                 ["category", "environment", "count", "first seen", "last seen", "fix"],
                 lambda r: (category_label(str(r.category), colours), escape(r.environment),
                            num(r.count),
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


def trends(report: Report, colours: dict[str, str]) -> str:
    """Full-width panels for recurring failures, changes, mismatch direction and recovery."""
    return "".join([
        panel("recurring", f"Recurring failures (in {report.recurring_min_buckets}+ buckets "
                           f"of {report.bucket})",
              table(report.recurring, ["client", "category", "buckets", "count", "first seen",
                                       "last seen"],
                    lambda r: (code(r.client), code(r.category), num(r.buckets), num(r.count),
                               escape(ts(r.first_seen)), escape(ts(r.last_seen))), "None.")),
        changes(report),
        panel("mismatch", "Environment mismatch by direction",
              table(report.mismatch, ["client", "direction", "count", "first seen",
                                      "last seen"],
                    lambda r: (code(r.client), code(r.direction), num(r.count),
                               escape(ts(r.first_seen)), escape(ts(r.last_seen))), "None."),
              "Credential environment -> environment called."),
        recovery(report, colours),
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
    colours = colours_of(report)
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
        version=escape(__version__), meta=escape(meta), failing=failing(report, colours),
        cards=cards(report), charts=charts(report, colours), categories=categories(report, colours),
        drilldown=drilldown(report), trends=trends(report, colours),
        breakdown=breakdown(report), skipped=skipped, data=data)
