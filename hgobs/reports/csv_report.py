"""CSV report: the ``counts`` table of a ``Report``, one row per bucket and dimension values.

Columns: ``bucket`` (UTC start, ISO 8601), ``category`` (``ok`` for successes), ``environment``,
``service``, ``client`` (fingerprint), ``endpoint_kind``, ``count`` (records). Each row is one
(bucket, category, environment, service, client, endpoint kind) that occurs in the window;
summing ``count`` over any columns gives every other count of the report.
"""

from __future__ import annotations

import csv
import io

from hgobs.analysis.report import Report
from hgobs.reports.json_report import rows


def render(report: Report) -> str:
    """The counts table as CSV text with a header row (``\\n`` line ends)."""
    out = io.StringIO()
    columns = [str(c) for c in report.counts.columns]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(report.counts))
    return out.getvalue()
