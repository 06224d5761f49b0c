"""The report from a classify ``Result``: every record reduced by ``ReportState``, at once.

``build_report`` is pure (records in, a frozen ``Report`` out); ``Report`` is plain data
(``hgobs.analysis.tables``) and renderers in ``hgobs.reports`` only format its fields, so every
format shows the same numbers. A streaming caller feeds ``hgobs.analysis.state.ReportState``
directly, in bounded memory; only the record fields ``ReportState.add_record`` reads can reach
a report.
"""

from __future__ import annotations

from datetime import datetime

from hgobs.analysis.classify import Result
from hgobs.analysis.reduce import time_ns
from hgobs.analysis.state import ReportState, has_time
from hgobs.analysis.tables import REPORT_SCHEMA, Report


def build_report(result: Result, *, bucket: str = "1d", since: datetime | None = None,
                 until: datetime | None = None, recurring_min_buckets: int = 2,
                 now: datetime | None = None) -> Report:
    """Aggregate a classify ``Result`` into a ``Report``.

    ``bucket`` is a fixed-length pandas offset alias (``15min``, ``1h``, ``1D``); ``since``
    (inclusive) and ``until`` (exclusive) keep records by their recorded time, naive values
    being UTC; ``recurring_min_buckets`` is how many buckets a (client, category) failure must
    appear in to be recurring; ``now`` stamps ``generated_at`` (default: the current time).
    Earlier records than ``since`` are still read to tell new from regressed categories.
    Raises ``hgobs.errors.ConfigError`` for a bad ``bucket``, ``since`` not before ``until``,
    or ``recurring_min_buckets`` below 1.
    """
    state = ReportState(bucket=bucket, since=since, until=until,
                        recurring_min_buckets=recurring_min_buckets, sample_size=None,
                        skipped_sample=None)
    order = sorted(result.classified, key=lambda c: _order_key(c.record.get("time")))
    for item in result.skipped:
        state.add_skipped(item)
    for classified in order:
        state.add_record(classified.source, classified.record)
    return state.report(now)


def _order_key(t: object) -> int:
    """Records in time order (nanoseconds as pandas rounds them); without a time, last."""
    if has_time(t):
        return time_ns(float(t))  # type: ignore[arg-type]
    return 1 << 62


__all__ = ["REPORT_SCHEMA", "Report", "build_report"]
