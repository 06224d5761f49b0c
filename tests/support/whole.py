"""Whole-input helpers for tests: classify a list of items at once, and build a report from
that result. The package streams (``hgobs.analysis.classify.judge`` on time-ordered items,
``hgobs.analysis.state.ReportState``); these materialise, which small test inputs can afford.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from hgobs.analysis.classify import Classified, judge
from hgobs.analysis.reduce import time_ns
from hgobs.analysis.state import ReportState, has_time
from hgobs.analysis.tables import Report
from hgobs.profiles import Profile
from hgobs.readers.base import Item
from hgobs.schema import Record


@dataclass
class Result:
    """The outcome of a run: classified records and skipped items, both in input order."""

    classified: list[Classified] = field(default_factory=list)
    skipped: list[Item] = field(default_factory=list)

    @property
    def read(self) -> int:
        """Items read (= classified + skipped)."""
        return len(self.classified) + len(self.skipped)


def _time_key(record: Record) -> float:
    """The time a record is ordered by: its ``time``, or 0.0 when it has none (as before)."""
    t = record.get("time", 0.0)
    return t if isinstance(t, (int, float)) and t == t else 0.0


def classify(items: Iterable[Item], profile: Profile, client_fp: str | None = None) -> Result:
    """Diagnose every record of ``items`` and return them all, in input order.

    Materialises the input: every record is sorted by time (a stable sort, so equal times keep
    input order; a record without a time counts as time 0) before any is judged, and history
    remembers them all. For inputs of any size use ``judge`` (streaming, bounded memory) on
    time-ordered items.
    """
    collected = [item if item.record is None else Item(item.source, dict(item.record),
                                                        full=item.full)
                 for item in items]
    records = [item for item in collected if item.record is not None]
    order = sorted(records, key=lambda item: _time_key(item.record))  # type: ignore[arg-type]
    judged = {id(item): c for item, c in zip(order, judge(
        order, profile, client_fp, history_entries=max(10_000, len(records))), strict=True)}
    result = Result()
    for item in collected:
        if item.record is None:
            result.skipped.append(item)
        else:
            result.classified.append(judged[id(item)])  # type: ignore[arg-type]
    return result


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


