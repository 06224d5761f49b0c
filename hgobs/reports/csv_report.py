"""CSV report: the ``counts`` table of a ``Report``, one row per bucket and dimension values.

Columns: ``bucket`` (UTC start, ISO 8601), ``category`` (``ok`` for successes), ``environment``,
``service``, ``client`` (fingerprint), ``endpoint_kind``, ``count`` (records). Each row is one
(bucket, category, environment, service, client, endpoint kind) that occurs in the window;
summing ``count`` over any columns gives every other count of the report.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
``'`` so a spreadsheet shows it as text instead of running it as a formula (OWASP, CSV
Injection); numbers are written as they are.
"""

from __future__ import annotations

import csv
import io

from hgobs.analysis.tables import Report
from hgobs.reports.json_report import rows

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
"""First characters a spreadsheet reads as the start of a formula (OWASP, CSV Injection)."""


def cell(value: object) -> object:
    """``value`` safe to open in a spreadsheet: a string starting with one of
    ``FORMULA_STARTS`` prefixed with ``'``; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def render(report: Report) -> str:
    """The counts table as CSV text with a header row (``\\n`` line ends)."""
    out = io.StringIO()
    columns = [str(c) for c in report.counts.columns]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: cell(v) for k, v in row.items()} for row in rows(report.counts))
    return out.getvalue()
