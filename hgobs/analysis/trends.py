"""Trend tables of the reduced state: pure functions, reduced values in, DataFrame out.

Each ``*_of`` function turns what ``hgobs.analysis.state.ReportState`` reduced records to into
one report table: the cube (``hgobs.analysis.summary.CUBE_COLUMNS``, counts per bucket and
dimension values), per-category change counts, mismatch counts, recovery episodes
(``hgobs.analysis.reduce.Episodes``) or a drill-down sample (``hgobs.analysis.reduce.Sample``);
nothing is modified in place. Times are UTC ``Timestamp`` values, durations are seconds
(float). Also here: the bucket width, the window bounds and the UTC conversions they share.

Time buckets are ``width`` long (at most ``MAX_BUCKET``) and aligned to multiples of ``width``
since the Unix epoch (``bucket`` = the bucket's start). A *failure* is a record whose
``category`` is not ``"ok"``.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from hgobs.analysis.summary import DIMENSION_COLUMNS
from hgobs.diagnosis.catalog import OK, PRIORITY
from hgobs.errors import ConfigError

EPOCH = pd.Timestamp(0, tz="UTC")
ENVIRONMENT_MISMATCH = "environment_mismatch"
STATUS_ORDER = ("new", "regressed", "resolved")
DIMENSIONS: dict[str, str] = {
    "category": "category",
    "environment": "environment",
    "service": "service.name",
    "client": "client.fp",
    "endpoint_kind": "endpoint.kind",
}
"""Report name of each dimension -> the record field it groups by."""
MAX_BUCKET = pd.Timedelta(days=366)
"""The longest time bucket: a year (with ``hgobs.schema.TIME_END_S``, the bucket of any record time
starts and ends at a timestamp)."""
COUNT_KEYS = ("bucket", "category", "environment", "service", "client", "endpoint_kind")
CHANGE_COLUMNS = ("category", "status", "current", "previous", "earlier", "last_seen_before")


@dataclass(frozen=True)
class Window:
    """The current window ``[start, end)`` and the previous one ``[previous_start, start)``.

    Both are ``end - start`` long, except that the previous window never starts before the
    first bucket a timestamp holds (no record can be earlier); all three bounds are UTC
    timestamps.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    previous_start: pd.Timestamp


def bucket_width(bucket: str) -> pd.Timedelta:
    """The length of a time bucket given as a pandas offset alias (``15min``, ``1h``, ``1D``).

    Raises ``ConfigError`` (option ``bucket``) when the alias does not parse, is not a fixed
    duration (months, weeks anchored on a weekday), is not positive or is longer than
    ``MAX_BUCKET``.
    """
    if not isinstance(bucket, str) or not bucket.strip():
        raise ConfigError("bucket", "give a pandas offset alias such as 15min, 1h or 1D")
    with warnings.catch_warnings():  # pandas deprecates some lower-case aliases ("1d")
        warnings.simplefilter("ignore")
        try:
            nanos = to_offset(bucket.strip()).nanos
        except (ValueError, TypeError):
            raise ConfigError("bucket", f"{bucket!r} is not a fixed-length pandas offset "
                                        "alias (such as 15min, 1h or 1D)") from None
    if nanos <= 0:
        raise ConfigError("bucket", f"{bucket!r} is not a positive duration")
    if nanos > MAX_BUCKET.value:
        raise ConfigError("bucket", f"{bucket!r} is longer than {MAX_BUCKET.days} days")
    return pd.Timedelta(nanos, unit="ns")


def utc(moment: datetime | pd.Timestamp | None) -> pd.Timestamp | None:
    """``moment`` as a UTC timestamp; a naive value is taken to be UTC already."""
    if moment is None:
        return None
    ts = pd.Timestamp(moment)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def bucket_start(times: pd.Series, width: pd.Timedelta) -> pd.Series:
    """The start of the bucket each time falls in (NaT stays NaT)."""
    return (times - EPOCH) // width * width + EPOCH


def window_bounds(times: pd.Series, width: pd.Timedelta, since: pd.Timestamp | None,
                  until: pd.Timestamp | None) -> Window | None:
    """The current window: ``[since, until)``, a missing bound taken from the records.

    Without ``since`` it starts at the bucket of the earliest record before ``until``; without
    ``until`` it ends where the bucket of the latest record at or after ``since`` ends. When a
    bound cannot be derived (no such record) the window is empty (``start == end``); None when
    neither bound is given and there are no records. The previous window is as long, but starts
    no earlier than the first bucket a timestamp holds (see ``Window``): the bounds are worked
    out in integer nanoseconds, so windows of centuries never overflow a ``Timedelta``. Raises
    ``ConfigError`` (option ``since``) when ``since`` is not before ``until``.
    """
    if since is not None and until is not None and since >= until:
        raise ConfigError("since", "must be before until")
    t = times.dropna()
    if since is not None:
        t = t[t >= since]
    if until is not None:
        t = t[t < until]
    lower, upper = since, until
    if not t.empty:
        if lower is None:
            lower = bucket_start(pd.Series([t.min()]), width).iloc[0]
        if upper is None:
            upper = bucket_start(pd.Series([t.max()]), width).iloc[0] + width
    start = lower if lower is not None else upper
    if start is None:
        return None
    end = upper if upper is not None else start
    w = int(width.value)
    first = -(-int(pd.Timestamp.min.value) // w) * w  # the first bucket start a timestamp holds
    previous = min(max(2 * int(start.value) - int(end.value), first), int(start.value))
    return Window(start=start, end=end,
                  previous_start=pd.Timestamp(previous, unit="ns", tz="UTC"))


def _failed(df: pd.DataFrame) -> pd.Series:
    return df["category"] != OK


def _priority(categories: pd.Series) -> pd.Series:
    return categories.map(lambda c: PRIORITY.get(c, len(PRIORITY)))


def utc_times(values: Any, seconds: bool) -> pd.Series:
    """``values`` as UTC timestamps: float seconds since the epoch when ``seconds`` (None and
    NaN give NaT), else timestamps or datetimes."""
    if seconds:
        return pd.to_datetime(pd.Series(values, dtype="float64"), unit="s", utc=True)
    return pd.to_datetime(pd.Series(values, dtype=object), utc=True)


def counts_of(cube: pd.DataFrame) -> pd.DataFrame:
    """Attempts per bucket and dimension, successes included (as category ``ok``).

    Columns: ``bucket`` (UTC start), ``category``, ``environment``, ``service``, ``client``
    (fingerprint), ``endpoint_kind``, ``count`` (records); one row per combination that occurs,
    sorted by those keys. Records without a time are left out.
    """
    d = cube[cube["bucket"].notna()]
    if d.empty:
        return pd.DataFrame(columns=[*COUNT_KEYS, "count"])
    out = d.groupby(["bucket", *DIMENSION_COLUMNS], as_index=False, dropna=False)["count"].sum()
    out.columns = [*COUNT_KEYS, "count"]
    return out.sort_values(list(COUNT_KEYS)).reset_index(drop=True)


def breakdown_of(cube: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Attempts per value of one dimension (a key of ``DIMENSIONS``).

    Columns: ``value``, ``attempts``, ``ok``, ``failed`` (records), ``share`` (this value's
    fraction of all failures, 0..1; NaN when there is no failure); sorted by failed, then
    attempts (both descending), then value. Raises KeyError for an unknown dimension.
    """
    column = DIMENSIONS[dimension]
    columns = ["value", "attempts", "ok", "failed", "share"]
    if cube.empty:
        return pd.DataFrame(columns=columns)
    n = cube["count"].astype("int64")
    d = pd.DataFrame({"value": cube[column], "attempts": n, "failed": n.where(_failed(cube), 0)})
    out = d.groupby("value", as_index=False, dropna=False).agg(
        attempts=("attempts", "sum"), failed=("failed", "sum"))
    out["ok"] = out["attempts"] - out["failed"]
    total = out["failed"].sum()
    out["share"] = out["failed"] / total if total else float("nan")
    out = out.sort_values(["failed", "attempts", "value"], ascending=[False, False, True])
    return out[columns].reset_index(drop=True)


def timeline_of(cube: pd.DataFrame) -> pd.DataFrame:
    """Failures per bucket and category.

    Columns: ``bucket`` (UTC start), ``category``, ``count`` (failed records); sorted by
    bucket, then catalog fix order.
    """
    d = cube[_failed(cube) & cube["bucket"].notna()]
    if d.empty:
        return pd.DataFrame(columns=["bucket", "category", "count"])
    out = d.groupby(["bucket", "category"], as_index=False)["count"].sum()
    out["_order"] = _priority(out["category"])
    return out.sort_values(["bucket", "_order"]).drop(columns="_order").reset_index(drop=True)


def check_min_buckets(min_buckets: int) -> None:
    """Raise ``ConfigError`` (option ``recurring_min_buckets``) unless a whole number >= 1."""
    if isinstance(min_buckets, bool) or not isinstance(min_buckets, int) or min_buckets < 1:
        raise ConfigError("recurring_min_buckets", "must be a whole number of at least 1")


def recurring_of(cube: pd.DataFrame, min_buckets: int) -> pd.DataFrame:
    """Failures of one client in one category that come back in ``min_buckets`` buckets or more.

    Columns: ``client`` (fingerprint), ``category``, ``buckets`` (distinct buckets with such a
    failure), ``count`` (failed records), ``first_seen``, ``last_seen`` (UTC); sorted by
    buckets, then count (both descending). Raises ``ConfigError`` (option
    ``recurring_min_buckets``) below 1.
    """
    check_min_buckets(min_buckets)
    columns = ["client", "category", "buckets", "count", "first_seen", "last_seen"]
    d = cube[_failed(cube) & cube["bucket"].notna()]
    if d.empty:
        return pd.DataFrame(columns=columns)
    out = (d.groupby(["client.fp", "category"], as_index=False)
           .agg(buckets=("bucket", "nunique"), count=("count", "sum"),
                first_seen=("first_seen", "min"), last_seen=("last_seen", "max"))
           .rename(columns={"client.fp": "client"}))
    out = out[out["buckets"] >= min_buckets]
    out = out.sort_values(["buckets", "count", "client", "category"],
                          ascending=[False, False, True, True])
    return out[columns].reset_index(drop=True)


PERIODS = ("current", "previous", "earlier")
"""The periods of ``changes_of``: the window, the window before it, and everything earlier."""


def changes_of(table: pd.DataFrame) -> pd.DataFrame:
    """Change status per category from its failure counts per period.

    ``table`` has one row per category with ``category``, ``current``, ``previous``,
    ``earlier`` (failed records in the window, in the previous window, before it) and
    ``last_seen_before`` (UTC time of the last failure before the window; NaT if none).
    *new*: failing now, not in the previous window and never before it; *regressed*: failing
    now, not in the previous window, but seen before it; *resolved*: failing in the previous
    window, not now. Columns: ``category``, ``status``, ``current``, ``previous``, ``earlier``,
    ``last_seen_before``; sorted new, regressed, resolved, then catalog fix order.
    """
    columns = list(CHANGE_COLUMNS)
    if table.empty:
        return pd.DataFrame(columns=columns)
    now, prev, before = table["current"] > 0, table["previous"] > 0, table["earlier"] > 0
    status = np.select([now & ~prev & ~before, now & ~prev & before, prev & ~now],
                       list(STATUS_ORDER), "")
    out = table.assign(status=status)[lambda t: t["status"] != ""].copy()
    out["last_seen_before"] = pd.to_datetime(out["last_seen_before"], utc=True)
    out["_s"] = out["status"].map(STATUS_ORDER.index)
    out["_o"] = _priority(out["category"])
    out = out.sort_values(["_s", "_o", "category"])
    for name in PERIODS:
        out[name] = out[name].astype(int)
    return out[columns].reset_index(drop=True)


def mismatch_of(table: pd.DataFrame) -> pd.DataFrame:
    """Environment mismatches per client as ``<credential environment>-><called environment>``.

    ``table`` has ``client``, ``credential_environment``, ``called_environment``, ``count``,
    ``first_seen``, ``last_seen`` (UTC). Columns: ``client`` (fingerprint), ``direction``
    (e.g. ``sandbox->production``), ``credential_environment``, ``called_environment``,
    ``count`` (records), ``first_seen``, ``last_seen``; sorted by count (descending), then
    client and direction.
    """
    columns = ["client", "direction", "credential_environment", "called_environment", "count",
               "first_seen", "last_seen"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    out = table.assign(direction=table["credential_environment"] + "->"
                       + table["called_environment"])
    out = out.sort_values(["count", "client", "direction"], ascending=[False, True, True])
    return out[columns].reset_index(drop=True)


RECOVERY_COLUMNS = ("client", "category", "categories", "failed_at", "recovered_at", "seconds",
                    "failures", "open")


def category_order(categories: Collection[str]) -> tuple[str, ...]:
    """``categories`` (ids) as a tuple in the catalog's order (``catalog.PRIORITY``: the order
    in which their fixes are best tried); ids the catalog does not know come last, sorted."""
    return tuple(sorted(categories, key=lambda c: (PRIORITY.get(c, len(PRIORITY)), c)))


def recovery_of(rows: list[tuple[Any, ...]], seconds: bool) -> pd.DataFrame:
    """The recovery table of ``reduce.Episodes.rows`` (times in float seconds when
    ``seconds``, else timestamps).

    Per client, in time order, an episode opens at a failure and closes at the next ``ok``
    token exchange; the failures in between belong to it. Columns: ``client`` (fingerprint),
    ``category`` (of the failure that opened it), ``categories`` (tuple of the category ids
    of all its failures, in ``category_order``), ``failed_at``, ``recovered_at`` (UTC; NaT
    while open), ``seconds`` (float; NaN while open), ``failures`` (failed records in the
    episode), ``open`` (bool); sorted by failed_at.
    """
    columns = list(RECOVERY_COLUMNS)
    if not rows:
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame(rows, columns=["client", "category", "failed_at", "recovered_at",
                                      "failures", "_n", "categories"])
    out["categories"] = [category_order(c) for c in out["categories"]]
    out["failed_at"] = utc_times(out["failed_at"], seconds)
    out["recovered_at"] = utc_times(out["recovered_at"], seconds)
    out["failures"] = out["failures"].astype("int64")
    out["seconds"] = (out["recovered_at"] - out["failed_at"]).dt.total_seconds()
    out["open"] = out["recovered_at"].isna()
    out = out.sort_values(["failed_at", "client", "_n"], kind="stable")
    return out[columns].reset_index(drop=True)


def failure_rate_of(cube: pd.DataFrame, known_kinds: Collection[str] | None = None
                    ) -> pd.DataFrame:
    """Failed share of the attempts per bucket and endpoint kind, where it can be known.

    A rate is known only for endpoint kinds in ``known_kinds`` (default: the kinds with at
    least one success in ``cube``): successful API calls are never recorded, and an input of
    failures alone says nothing about how many attempts worked, so its rate is unknown, not
    100%. Columns: ``bucket`` (UTC start), ``endpoint_kind``, ``attempts``, ``ok``, ``failed``
    (records), ``rate`` (failed / attempts, 0..1; NaN when unknown), ``rate_known`` (bool);
    sorted by bucket, then endpoint kind.
    """
    columns = ["bucket", "endpoint_kind", "attempts", "ok", "failed", "rate", "rate_known"]
    d = cube[cube["bucket"].notna()]
    if d.empty:
        return pd.DataFrame(columns=columns)
    if known_kinds is None:
        known_kinds = set(d.loc[~_failed(d), "endpoint.kind"])
    n = d["count"].astype("int64")
    out = (pd.DataFrame({"bucket": d["bucket"], "endpoint_kind": d["endpoint.kind"],
                         "attempts": n, "failed": n.where(_failed(d), 0)})
           .groupby(["bucket", "endpoint_kind"], as_index=False)
           .agg(attempts=("attempts", "sum"), failed=("failed", "sum")))
    out["ok"] = out["attempts"] - out["failed"]
    out["rate_known"] = out["endpoint_kind"].isin(list(known_kinds))
    out["rate"] = (out["failed"] / out["attempts"]).where(out["rate_known"])
    return out.sort_values(["bucket", "endpoint_kind"])[columns].reset_index(drop=True)


DRILLDOWN_COLUMNS = ("source", "time", "category", "confidence", "environment", "endpoint_kind",
                     "client", "service", "evidence", "also", "fix")


def drilldown_of(rows: list[tuple[Any, ...]], seconds: bool) -> pd.DataFrame:
    """The failed records themselves, for drill-down from a category to its evidence.

    ``rows`` are ``DRILLDOWN_COLUMNS`` tuples in time order (times in float seconds when
    ``seconds``, else timestamps). Columns: ``source`` (``<file>:<line>``), ``time`` (UTC),
    ``category``, ``confidence``, ``environment``, ``endpoint_kind``, ``client``
    (fingerprint), ``service``, ``evidence``, ``also`` (lists of str), ``fix``; sorted by
    catalog fix order, then time (then the order given).
    """
    columns = list(DRILLDOWN_COLUMNS)
    if not rows:
        return pd.DataFrame(columns=columns)
    d = pd.DataFrame(rows, columns=columns)
    d["time"] = utc_times(d["time"], seconds)
    d["_n"] = np.arange(len(d))
    d = d.assign(_o=_priority(d["category"])).sort_values(["_o", "time", "_n"], kind="stable")
    return d[columns].reset_index(drop=True)
