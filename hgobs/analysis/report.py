"""The report: every table and number any renderer shows, computed once from classified records.

``build_report`` is pure (records in, a frozen ``Report`` out); renderers in ``hgobs.reports``
only format its fields, so every format shows the same numbers. Records are reduced one at a
time by ``hgobs.analysis.state.ReportState`` (which a streaming caller feeds directly, in
bounded memory); only the record fields named in ``hgobs.analysis.summary.detail_frame`` are
read, so nothing else a record holds can reach a report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

import pandas as pd

from hgobs.analysis.classify import Result
from hgobs.analysis.reduce import time_ns
from hgobs.analysis.state import ReportState, has_time
from hgobs.analysis.trends import Window

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
    - ``samples``: the tables that hold a sample of their rows (``records``: the first and last
      ``per_group`` failed records of each category; ``recovery``: the first and last
      ``per_group`` closed episodes of each client, and the open one; ``skipped``: the first
      ``per_group`` skipped items), name -> ``kept``, ``total``, ``per_group``; empty when
      every table is whole.
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
    samples: Mapping[str, Mapping[str, int]] = field(
        default_factory=lambda: MappingProxyType({}))


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
