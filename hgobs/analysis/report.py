"""The report: every table and number any renderer shows, computed once from a classify Result.

``build_report`` is pure (records in, a frozen ``Report`` out); renderers in ``hgobs.reports``
only format its fields, so every format shows the same numbers. Only the record fields named in
``hgobs.analysis.summary.detail_frame`` are read, so nothing else a record holds can reach a
report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType

import pandas as pd

from hgobs.analysis import summary, trends
from hgobs.analysis.classify import Result
from hgobs.analysis.trends import Window
from hgobs.catalog import OK

REPORT_SCHEMA = "hgobs.report/1"


@dataclass(frozen=True, eq=False)
class Report:
    """Everything a report shows; tables are pandas DataFrames, times UTC, durations seconds.

    - ``schema``: ``"hgobs.report/1"``; ``generated_at``: when it was built (UTC).
    - ``bucket`` (the offset alias asked for), ``bucket_seconds``; ``since``/``until``: the
      filters asked for (None when not given); ``recurring_min_buckets``.
    - ``window``: the current and previous windows (None when there is nothing to report).
    - ``totals``: ``read``, ``classified``, ``skipped`` (the whole input); ``attempts`` (records
      in the window), ``ok``, ``failed``, ``token_exchange``, ``api_call`` (of those).
    - ``skipped``: ``source``, ``reason`` of every input unit that was not a record.
    - ``categories``: failures per category and environment (``summary.by_category``).
    - ``breakdown``: dimension name -> ``trends.breakdown`` table, for each of
      ``trends.DIMENSIONS``.
    - ``counts``, ``timeline``, ``recurring``, ``changes``, ``mismatch``, ``recovery``,
      ``failure_rate``, ``records``: the tables of ``trends.counts``, ``trends.timeline``,
      ``trends.recurring``, ``trends.changes``, ``trends.mismatch_directions``,
      ``trends.recovery``, ``trends.failure_rate`` and ``trends.drilldown``.
    """

    schema: str
    generated_at: pd.Timestamp
    bucket: str
    bucket_seconds: float
    since: pd.Timestamp | None
    until: pd.Timestamp | None
    recurring_min_buckets: int
    window: Window | None
    totals: Mapping[str, int]
    skipped: pd.DataFrame
    categories: pd.DataFrame
    breakdown: Mapping[str, pd.DataFrame]
    counts: pd.DataFrame
    timeline: pd.DataFrame
    recurring: pd.DataFrame
    changes: pd.DataFrame
    mismatch: pd.DataFrame
    recovery: pd.DataFrame
    failure_rate: pd.DataFrame
    records: pd.DataFrame


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
    width = trends.bucket_width(bucket)
    start, end = trends.utc(since), trends.utc(until)
    everything = summary.detail_frame(result.classified)
    window = trends.window_bounds(everything["time"], width, start, end)
    current = (trends.in_window(everything, window.start, window.end) if window is not None
               else everything.iloc[0:0])
    known = set(everything.loc[everything["category"] == OK, "endpoint.kind"])
    totals = {"read": result.read, "classified": len(result.classified),
              "skipped": len(result.skipped), **summary.totals(current)}
    return Report(
        schema=REPORT_SCHEMA,
        generated_at=trends.utc(now or datetime.now(timezone.utc)),
        bucket=bucket,
        bucket_seconds=width.total_seconds(),
        since=start,
        until=end,
        recurring_min_buckets=recurring_min_buckets,
        window=window,
        totals=MappingProxyType(totals),
        skipped=pd.DataFrame([(i.source, i.reason or "") for i in result.skipped],
                             columns=["source", "reason"]),
        categories=summary.by_category(current),
        breakdown=MappingProxyType({name: trends.breakdown(current, name)
                                    for name in trends.DIMENSIONS}),
        counts=trends.counts(current, width),
        timeline=trends.timeline(current, width),
        recurring=trends.recurring(current, width, recurring_min_buckets),
        changes=(trends.changes(everything, window) if window is not None
                 else pd.DataFrame(columns=list(trends.CHANGE_COLUMNS))),
        mismatch=trends.mismatch_directions(current),
        recovery=trends.recovery(current),
        failure_rate=trends.failure_rate(current, width, known),
        records=trends.drilldown(current),
    )
