"""The report as data: ``Report`` and the tables built from what ``ReportState`` reduced.

``Report`` is plain data (frozen; tables are pandas DataFrames, times UTC, durations seconds);
renderers in ``hgobs.reports`` only format its fields. The functions here turn reduced values
(cube cells, change counts, mismatch cells) into tables; they read no record and no state
object, so ``hgobs.analysis.state`` builds a report with them and nothing imports back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from hgobs.analysis import summary, trends
from hgobs.diagnosis.catalog import OK
from hgobs.redaction import is_fingerprint
from hgobs.scrub import scrub_text

REPORT_SCHEMA = "hgobs.report/1"
NOTICES = ("late_records", "history_overflowed")
"""Notice counters a report may carry: ``late_records``, records read out of time order
beyond the readers' lateness bound (judged where they were read); ``history_overflowed``,
history entries dropped by the memory cap before their time horizon ran out."""


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
    - ``categories``: failures per category and environment (``summary.by_category_of``).
    - ``breakdown``: dimension name -> ``trends.breakdown_of`` table, for each of
      ``trends.DIMENSIONS``.
    - ``counts``, ``timeline``, ``recurring``, ``changes``, ``mismatch``, ``recovery``,
      ``failure_rate``, ``records``: the tables of ``trends.counts_of``, ``trends.timeline_of``,
      ``trends.recurring_of``, ``trends.changes_of``, ``trends.mismatch_of``,
      ``trends.recovery_of``, ``trends.failure_rate_of`` and ``trends.drilldown_of``.
    - ``samples``: the tables that hold a sample of their rows (``records``: the first and last
      ``per_group`` failed records of each category; ``recovery``: the first and last
      ``per_group`` closed episodes of each client, and the open one; ``skipped``: the first
      ``per_group`` skipped items), name -> ``kept``, ``total``, ``per_group``; empty when
      every table is whole.
    - ``notices``: the non-zero counters of ``NOTICES`` (name -> count); empty when none.
    """

    schema: str
    generated_at: pd.Timestamp
    bucket: str
    bucket_seconds: float
    since: pd.Timestamp | None
    until: pd.Timestamp | None
    recurring_min_buckets: int
    window: trends.Window | None
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
    notices: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def has_earlier_window(self) -> bool:
        """Whether the ``changes`` table compares the window with an earlier one: only when
        ``since`` was given (records before it were read) and the previous window is not
        empty. Without ``since`` the window starts where the records do, nothing earlier was
        read, and every failing category would count as new."""
        w = self.window
        return self.since is not None and w is not None and w.previous_start < w.start


def cube_table(cells: Mapping[tuple[Any, ...], list[Any]]) -> pd.DataFrame:
    """The cube (``summary.CUBE_COLUMNS``) of cube cells: (bucket ns, category, environment,
    service, client, endpoint kind) -> ``[count, first, last]`` (times in float seconds)."""
    columns = list(summary.CUBE_COLUMNS)
    if not cells:
        return pd.DataFrame(columns=columns)
    values = list(cells.values())
    out = pd.DataFrame(list(cells), columns=columns[:6])
    out["bucket"] = pd.to_datetime(out["bucket"].astype("int64"), unit="ns", utc=True)
    out["count"] = pd.Series([c[0] for c in values], dtype="int64")
    out["first_seen"] = trends.utc_times([c[1] for c in values], seconds=True)
    out["last_seen"] = trends.utc_times([c[2] for c in values], seconds=True)
    return out


def changes_table(cube: pd.DataFrame, window: trends.Window | None, width_ns: int,
                  before: Mapping[tuple[Any, bool, int], int],
                  last_before: Mapping[Any, float]) -> pd.DataFrame:
    """The changes table (``trends.changes_of``) from the cube of the window and the failures
    counted before ``since``: ``before`` maps (category, binned, slot) to a count, where
    ``binned`` False means slot 1 = in the previous window, 0 = earlier, and ``binned`` True
    numbers bucket-long bins from ``2 * since`` (see ``ReportState``); ``last_before`` is the
    time (seconds) of each category's last failure before ``since``."""
    if window is None:
        return pd.DataFrame(columns=list(trends.CHANGE_COLUMNS))
    failed = cube[cube["category"] != OK]
    current = failed.groupby("category")["count"].sum().to_dict() if not failed.empty else {}
    previous: dict[Any, int] = {}
    earlier: dict[Any, int] = {}
    # Bins count from 2 * since; the previous window starts at 2 * since - end, and end is
    # a bucket boundary whenever the previous window is not empty.
    has_previous = window.previous_start < window.start
    first_previous_bin = (-int(window.end.value)) // width_ns
    for (category, binned, slot), n in before.items():
        if (slot == 1 and not binned) or (binned and has_previous
                                          and slot >= first_previous_bin):
            previous[category] = previous.get(category, 0) + n
        else:
            earlier[category] = earlier.get(category, 0) + n
    names = sorted(set(current) | set(previous) | set(earlier), key=str)
    table = pd.DataFrame({
        "category": names,
        "current": [current.get(c, 0) for c in names],
        "previous": [previous.get(c, 0) for c in names],
        "earlier": [earlier.get(c, 0) for c in names],
        "last_seen_before": trends.utc_times(
            [last_before.get(c, math.nan) for c in names], seconds=True)})
    return trends.changes_of(table)


def mismatch_table(cells: Mapping[tuple[Any, ...], list[Any]]) -> pd.DataFrame:
    """The mismatch table (``trends.mismatch_of``) of cells (client, credential environment,
    called environment) -> ``[count, first, last]`` (float seconds)."""
    rows = [(*key, n, first, last) for key, (n, first, last) in cells.items()]
    table = pd.DataFrame(rows, columns=["client", "credential_environment",
                                        "called_environment", "count", "first_seen",
                                        "last_seen"])
    if rows:
        table["first_seen"] = trends.utc_times(table["first_seen"], seconds=True)
        table["last_seen"] = trends.utc_times(table["last_seen"], seconds=True)
    return trends.mismatch_of(table)


def scrubbed(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """``table`` with the free text of ``column`` (a service name, as a log or a span said it;
    a client, which is a fingerprint when hgobs wrote the record but may be anything in a
    record from elsewhere) passed through ``scrub_text``, once per distinct value; a value
    with a fingerprint's shape is kept as it is (``hgobs.redaction.is_fingerprint``: the
    scrubber would take its hex for a token)."""
    if column not in table.columns or table.empty:
        return table
    clean = {v: scrub_text(v, limit=128) if isinstance(v, str) and not is_fingerprint(v) else v
             for v in table[column].unique()}
    if all(k is v or k == v for k, v in clean.items()):
        return table
    table = table.copy()
    table[column] = table[column].map(clean)
    return table


def notices_of(counts: Mapping[str, int]) -> Mapping[str, int]:
    """The non-zero notice counters of ``counts``, in ``NOTICES`` order then by name."""
    names = [n for n in NOTICES if counts.get(n)] + sorted(
        n for n in counts if n not in NOTICES and counts[n])
    return MappingProxyType({n: int(counts[n]) for n in names})
