"""The report state: classified records reduced, one at a time, to what a report shows.

``ReportState.add`` takes each judged item (``hgobs.analysis.classify.judge`` yields them in
the order the readers give, time order) and updates state whose size depends on distinct
keys, never on the number of records:

- the cube: count, first and last time per (bucket, category, environment, service, client,
  endpoint kind) of the records in the window (``since``/``until``);
- environment mismatches per (client, credential environment, called environment);
- change counts per category: failures before ``since`` per (category, bucket-long bin), for
  the new/regressed/resolved comparison;
- recovery episodes per client (``reduce.Episodes``), keeping the first and last
  ``sample_size`` closed episodes of each client and the open one;
- a drill-down sample: the first and last ``sample_size`` failed records of each category;
- the first ``skipped_sample`` skipped items; the successful endpoint kinds seen anywhere;
- notice counters (``tables.NOTICES``) that other stages report through ``notice``.

``merge`` combines the states of contiguous, time-ordered parts of an input into the state of
the whole (associative), so parts can be reduced apart. ``report`` turns the state into a
``tables.Report`` with the ``*_of`` functions of ``hgobs.analysis.trends`` and
``hgobs.analysis.summary``; a table that was cut says so in ``Report.samples``. Memory: about
200 bytes per cube cell, plus the samples.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

import pandas as pd

from hgobs.analysis import summary, tables, trends
from hgobs.analysis.classify import Classified
from hgobs.analysis.reduce import Episodes, Sample, credential_environment, time_ns
from hgobs.analysis.tables import REPORT_SCHEMA, Report
from hgobs.diagnosis.catalog import CATEGORIES, OK
from hgobs.readers.base import Item
from hgobs.schema import Record, time_in_range

DEFAULT_SAMPLE_SIZE = 100
"""Failed records kept per category at each end (the first and the last), and recovery
episodes kept per client at each end."""
DEFAULT_SKIPPED_SAMPLE = 1000
"""Skipped items listed (the first ones, in input order); all are counted."""
UNKNOWN = summary.UNKNOWN
_MARGIN_S = 1e-6
"""Float seconds within which a time is compared in exact nanoseconds instead."""
def has_time(t: Any) -> bool:
    """True when ``t`` is a record time in range (``hgobs.schema.time_in_range``: epoch seconds
    from 1970 to before 2100; within it, any two times are less than a pandas ``Timedelta``
    apart and the bucket of a time, up to ``trends.MAX_BUCKET`` long, starts and ends at a
    timestamp). The readers skip records with another time, so this holds for every record
    a report is made of; it guards the state's own inputs."""
    return time_in_range(t)


def _fill(value: Any) -> Any:
    return UNKNOWN if value is None else value


def _fix(record: Record, category: Any) -> str:
    fix = record.get("fix")
    if fix:
        return str(fix)
    return CATEGORIES[category].fix if isinstance(category, str) and category in CATEGORIES else ""


class ReportState:
    """Streaming reduction of classified records to a report (see module doc).

    Options: ``bucket`` (a fixed pandas
    offset alias), ``since`` (inclusive) and ``until`` (exclusive) as datetimes (naive ones
    are UTC), ``recurring_min_buckets``; plus ``sample_size`` and ``skipped_sample`` (None:
    keep everything). Raises ``ConfigError`` for a bad option, before any record is read.
    Records are expected in time order (what the reducers of ``hgobs.analysis.reduce`` need).
    """

    def __init__(self, *, bucket: str = "1d", since: datetime | None = None,
                 until: datetime | None = None, recurring_min_buckets: int = 2,
                 sample_size: int | None = DEFAULT_SAMPLE_SIZE,
                 skipped_sample: int | None = DEFAULT_SKIPPED_SAMPLE) -> None:
        self.bucket = bucket
        self.width = trends.bucket_width(bucket)
        self.since, self.until = trends.utc(since), trends.utc(until)
        trends.window_bounds(pd.Series([], dtype="datetime64[ns, UTC]"), self.width,
                             self.since, self.until)  # raises when since >= until
        trends.check_min_buckets(recurring_min_buckets)
        self.recurring_min_buckets = recurring_min_buckets
        self.sample_size = sample_size
        self.read = self.classified = self.skipped = 0
        self.ok_kinds: set[Any] = set()
        """Endpoint kinds with a success anywhere in the input."""
        self.notices: dict[str, int] = {}
        """Notice counters (``tables.NOTICES``), added to by ``notice``."""
        self.skipped_items: list[Item] = []
        self.skipped_sample = skipped_sample
        self._w_ns = int(self.width.value)
        self._w_s = self._w_ns / 1e9
        self._since_ns = None if self.since is None else int(self.since.value)
        self._until_ns = None if self.until is None else int(self.until.value)
        self._since_s = -math.inf if self.since is None else self._since_ns / 1e9
        self._until_s = math.inf if self.until is None else self._until_ns / 1e9
        self._bucket = (math.inf, -math.inf, 0)  # lo_s, hi_s (safely inside), bucket ns
        self._cube: dict[tuple[Any, ...], list[Any]] = {}
        self._mismatch: dict[tuple[Any, ...], list[Any]] = {}
        self.read_before_since = 0
        """Records read from before ``since`` (any outcome): the input reaches back past it."""
        self._before: dict[tuple[Any, bool, int], int] = {}  # see _failed_before
        self._last_before: dict[Any, float] = {}
        self._min_s = math.inf
        self._max_s = -math.inf
        self.episodes = Episodes(sample_size)
        self.drill = Sample(sample_size)

    def add(self, judged: Classified | Item) -> None:
        """Take one judged item: a classified record or a skipped item."""
        if isinstance(judged, Classified):
            self.add_record(judged.source, judged.record)
        else:
            self.add_skipped(judged)

    def add_skipped(self, item: Item) -> None:
        """Count a skipped item and keep it while the skipped sample has room."""
        self.read += 1
        self.skipped += 1
        if self.skipped_sample is None or len(self.skipped_items) < self.skipped_sample:
            self.skipped_items.append(item)

    def _in_window(self, t: float) -> bool:
        since, until = self._since_s, self._until_s
        if since + _MARGIN_S <= t < until - _MARGIN_S:
            return True
        if t < since - _MARGIN_S or t >= until + _MARGIN_S:
            return False
        ns = time_ns(t)
        return ((self._since_ns is None or ns >= self._since_ns)
                and (self._until_ns is None or ns < self._until_ns))

    def _bucket_ns(self, t: float) -> int:
        lo, hi, start = self._bucket
        if lo <= t < hi:
            return start
        start = time_ns(t) // self._w_ns * self._w_ns
        first = start / 1e9
        self._bucket = (first + _MARGIN_S, first + self._w_s - _MARGIN_S, start)
        return start

    def add_record(self, source: str, r: Record) -> None:
        """Take one classified record (``source`` is where it was read)."""
        self.read += 1
        self.classified += 1
        category = r.get("category")
        kind = r.get("endpoint.kind")
        if kind is None:
            kind = UNKNOWN
        failed = category != OK
        if not failed:
            self.ok_kinds.add(kind)
        t = r.get("time")
        if not has_time(t):
            return
        if not self._in_window(t):
            if t < self._since_s + _MARGIN_S and time_ns(t) < self._since_ns:
                self.read_before_since += 1
                if failed:
                    self._failed_before(category, t)
            return
        env, client = r.get("environment"), r.get("client.fp")
        if env is None:
            env = UNKNOWN
        if client is None:
            client = UNKNOWN
        _add_cell(self._cube, (self._bucket_ns(t), category, env,
                               _fill(r.get("service.name")), client, kind), 1, t, t)
        if t < self._min_s:
            self._min_s = t
        if t > self._max_s:
            self._max_s = t
        if failed:
            self._failure(source, r, t, category, kind, env, client)
        elif kind == "token_exchange":
            self.episodes.success(client, t)

    def _failure(self, source: str, r: Record, t: float, category: Any, kind: Any, env: Any,
                 client: Any) -> None:
        """A failure in the window, already in the cube: episodes, drill-down, mismatch."""
        self.episodes.failure(client, category, t)
        self.drill.add(category, (
            source, t, category, r.get("confidence"), env, kind, client,
            _fill(r.get("service.name")), [str(v) for v in (r.get("evidence") or [])],
            [str(v) for v in (r.get("also") or [])], _fix(r, category)))
        if category == trends.ENVIRONMENT_MISMATCH:
            credential = credential_environment(kind, env, r)
            _add_cell(self._mismatch, (client, credential, env), 1, t, t)

    def notice(self, name: str, count: int = 1) -> None:
        """Add ``count`` to the notice counter ``name`` (see ``tables.NOTICES``); a report
        shows the counters that are not zero."""
        self.notices[name] = self.notices.get(name, 0) + count

    def _failed_before(self, category: Any, t: float) -> None:
        """A failure before ``since``: counted for the changes table."""
        ns = time_ns(t)
        if self._since_ns is None or ns >= self._since_ns:
            return
        if self._until_ns is not None:  # both bounds known: (category, False, 1 previous/0 not)
            key = (category, False, int(ns >= 2 * self._since_ns - self._until_ns))
        else:  # the previous window starts at 2 * since - end, end a bucket boundary:
            key = (category, True, (ns - 2 * self._since_ns) // self._w_ns)  # bins from there
        self._before[key] = self._before.get(key, 0) + 1
        if t > self._last_before.get(category, -math.inf):
            self._last_before[category] = t

    def cube(self) -> pd.DataFrame:
        """The cube of the records in the window (``summary.CUBE_COLUMNS``)."""
        return tables.cube_table(self._cube)

    def window(self) -> trends.Window | None:
        """The current and previous windows, as ``trends.window_bounds`` gives them."""
        times = (trends.utc_times([self._min_s, self._max_s], seconds=True)
                 if self._cube else pd.Series([], dtype="datetime64[ns, UTC]"))
        return trends.window_bounds(times, self.width, self.since, self.until)

    def samples(self) -> dict[str, dict[str, int]]:
        """The tables that are samples of more rows: name -> ``kept``, ``total`` and
        ``per_group`` (kept at each end of a category or client; the first ``per_group`` for
        ``skipped``)."""
        out: dict[str, dict[str, int]] = {}
        for name, kept, total, per in (
                ("records", self.drill.kept, self.drill.total, self.drill.keep),
                ("recovery", self.episodes.kept, self.episodes.total, self.episodes.keep),
                ("skipped", len(self.skipped_items), self.skipped, self.skipped_sample)):
            if kept < total and per is not None:
                out[name] = {"kept": kept, "total": total, "per_group": per}
        return out

    def merge(self, later: ReportState) -> ReportState:
        """A new state holding what this one and then ``later`` hold: the state of this
        state's records followed by ``later``'s (neither is changed).

        Exact when the two parts are contiguous and in time order (``later``'s records come
        after this one's in the input): counts and cells add up, samples keep the first and
        last of the whole, a recovery episode left open here goes on in ``later``. Merging is
        associative, so any split of an input into such parts, reduced apart and merged in
        order, gives the state (and the report) of the whole. Raises ValueError when the two
        were made with different options.
        """
        out = self.empty()
        out.absorb(self)
        out.absorb(later)
        return out

    def empty(self) -> ReportState:
        """A state with this one's options and nothing added."""
        return ReportState(bucket=self.bucket, since=self.since, until=self.until,
                           recurring_min_buckets=self.recurring_min_buckets,
                           sample_size=self.sample_size, skipped_sample=self.skipped_sample)

    def absorb(self, later: ReportState) -> None:
        """Take in ``later``'s state, in place (see ``merge``); ``later`` is not changed."""
        if self._options() != later._options():
            raise ValueError("report states made with different options cannot be merged")
        self.read += later.read
        self.classified += later.classified
        self.skipped += later.skipped
        self.read_before_since += later.read_before_since
        self.ok_kinds |= later.ok_kinds
        for name, n in later.notices.items():
            self.notice(name, n)
        room = (len(later.skipped_items) if self.skipped_sample is None
                else max(0, self.skipped_sample - len(self.skipped_items)))
        self.skipped_items.extend(later.skipped_items[:room])
        for key, (n, first, last) in later._cube.items():
            _add_cell(self._cube, key, n, first, last)
        for key, (n, first, last) in later._mismatch.items():
            _add_cell(self._mismatch, key, n, first, last)
        self._min_s = min(self._min_s, later._min_s)
        self._max_s = max(self._max_s, later._max_s)
        for key, n in later._before.items():
            self._before[key] = self._before.get(key, 0) + n
        for category, t in later._last_before.items():
            if t > self._last_before.get(category, -math.inf):
                self._last_before[category] = t
        self.episodes.absorb(later.episodes)
        self.drill.absorb(later.drill)

    def _options(self) -> tuple[Any, ...]:
        return (self.width, self.since, self.until, self.recurring_min_buckets,
                self.sample_size, self.skipped_sample)

    def _records(self) -> pd.DataFrame:
        """The drill-down table, its free text scrubbed (service, client, environment,
        confidence; evidence, also and fix where ``tables.holds_secret``)."""
        table = trends.drilldown_of(list(self.drill.items()), seconds=True)
        for column in ("service", "client", "environment", "confidence"):
            table = tables.scrubbed(table, column)
        for column in ("evidence", "also"):
            table = tables.scrubbed_text(table, column)
        return tables.safe_fixes(table)

    def report(self, now: datetime | None = None) -> Report:
        """The ``Report`` of everything added so far (``now`` stamps ``generated_at``)."""
        cube = self.cube()
        for column in ("service.name", "client.fp", "environment"):
            cube = tables.scrubbed(cube, column)
        window = self.window()
        totals = {"read": self.read, "classified": self.classified, "skipped": self.skipped,
                  **summary.totals_of(cube)}
        return Report(
            schema=REPORT_SCHEMA,
            generated_at=trends.utc(now or datetime.now(timezone.utc)),
            bucket=self.bucket,
            bucket_seconds=self.width.total_seconds(),
            since=self.since,
            until=self.until,
            recurring_min_buckets=self.recurring_min_buckets,
            window=window,
            totals=MappingProxyType(totals),
            skipped=pd.DataFrame([(i.source, i.reason or "") for i in self.skipped_items],
                                 columns=["source", "reason"]),
            categories=summary.by_category_of(cube),
            breakdown=MappingProxyType({name: trends.breakdown_of(cube, name)
                                        for name in trends.DIMENSIONS}),
            counts=trends.counts_of(cube),
            timeline=trends.timeline_of(cube),
            recurring=trends.recurring_of(cube, self.recurring_min_buckets),
            changes=tables.changes_table(cube, window, self._w_ns, self._before,
                                         self._last_before),
            mismatch=tables.scrubbed(tables.mismatch_table(self._mismatch), "client"),
            recovery=tables.scrubbed(trends.recovery_of(list(self.episodes.rows()), seconds=True),
                                     "client"),
            failure_rate=trends.failure_rate_of(cube, self.ok_kinds),
            records=self._records(),
            samples=MappingProxyType(self.samples()),
            notices=tables.notices_of(self.notices),
            read_before_since=self.read_before_since,
        )


def _add_cell(cells: dict[tuple[Any, ...], list[Any]], key: tuple[Any, ...], count: int,
              first: float, last: float) -> None:
    """Add ``count`` records of ``key``, seen first at ``first`` and last at ``last``
    (seconds), to ``cells`` (key -> ``[count, first, last]``)."""
    cell = cells.get(key)
    if cell is None:
        cells[key] = [count, first, last]
    else:
        cell[0] += count
        if first < cell[1]:
            cell[1] = first
        if last > cell[2]:
            cell[2] = last
