"""Trend detection over classified records: pure functions, DataFrame in, DataFrame out.

Every function takes the frame of ``hgobs.analysis.summary.detail_frame`` (one row per record;
the columns each one reads are named in its docstring) and returns a new frame; nothing is
modified in place. Times are UTC ``Timestamp`` values, durations are seconds (float).

Time buckets are ``width`` long and aligned to multiples of ``width`` since the Unix epoch
(``bucket`` = the bucket's start). A *failure* is a record whose ``category`` is not ``"ok"``.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from hgobs.analysis.summary import CREDENTIAL_ENVIRONMENT_COLUMNS
from hgobs.catalog import OK, PRIORITY
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
COUNT_KEYS = ("bucket", "category", "environment", "service", "client", "endpoint_kind")
CHANGE_COLUMNS = ("category", "status", "current", "previous", "earlier", "last_seen_before")


@dataclass(frozen=True)
class Window:
    """The current window ``[start, end)`` and the previous one ``[previous_start, start)``.

    Both are ``end - start`` long; all three bounds are UTC timestamps.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    previous_start: pd.Timestamp


def bucket_width(bucket: str) -> pd.Timedelta:
    """The length of a time bucket given as a pandas offset alias (``15min``, ``1h``, ``1D``).

    Raises ``ConfigError`` (option ``bucket``) when the alias does not parse, is not a fixed
    duration (months, weeks anchored on a weekday) or is not positive.
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
    neither bound is given and there are no records. Raises ``ConfigError`` (option ``since``)
    when ``since`` is not before ``until``.
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
    return Window(start=start, end=end, previous_start=start - (end - start))


def in_window(df: pd.DataFrame, start: pd.Timestamp | None,
              end: pd.Timestamp | None) -> pd.DataFrame:
    """Rows whose ``time`` is in ``[start, end)`` (a None bound is open; NaT is never in)."""
    keep = df["time"].notna()
    if start is not None:
        keep &= df["time"] >= start
    if end is not None:
        keep &= df["time"] < end
    return df[keep]


def _failed(df: pd.DataFrame) -> pd.Series:
    return df["category"] != OK


def _priority(categories: pd.Series) -> pd.Series:
    return categories.map(lambda c: PRIORITY.get(c, len(PRIORITY)))


def counts(df: pd.DataFrame, width: pd.Timedelta) -> pd.DataFrame:
    """Attempts per bucket and dimension, successes included (as category ``ok``).

    Reads ``time``, ``category``, ``environment``, ``service.name``, ``client.fp``,
    ``endpoint.kind``. Columns: ``bucket`` (UTC start), ``category``, ``environment``,
    ``service``, ``client`` (fingerprint), ``endpoint_kind``, ``count`` (records); one row per
    combination that occurs, sorted by those keys.
    """
    d = df[df["time"].notna()].assign(bucket=lambda x: bucket_start(x["time"], width))
    if d.empty:
        return pd.DataFrame(columns=[*COUNT_KEYS, "count"])
    keys = ["bucket", *(DIMENSIONS[k] for k in COUNT_KEYS[1:])]
    out = d.groupby(keys, as_index=False, dropna=False).size()
    out.columns = [*COUNT_KEYS, "count"]
    return out.sort_values(list(COUNT_KEYS)).reset_index(drop=True)


def breakdown(df: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Attempts per value of one dimension (a key of ``DIMENSIONS``).

    Columns: ``value``, ``attempts``, ``ok``, ``failed`` (records), ``share`` (this value's
    fraction of all failures, 0..1; NaN when there is no failure); sorted by failed, then
    attempts (both descending), then value. Raises KeyError for an unknown dimension.
    """
    column = DIMENSIONS[dimension]
    columns = ["value", "attempts", "ok", "failed", "share"]
    if df.empty:
        return pd.DataFrame(columns=columns)
    d = pd.DataFrame({"value": df[column], "failed": _failed(df).astype(int)})
    out = d.groupby("value", as_index=False, dropna=False).agg(
        attempts=("failed", "size"), failed=("failed", "sum"))
    out["ok"] = out["attempts"] - out["failed"]
    total = out["failed"].sum()
    out["share"] = out["failed"] / total if total else float("nan")
    out = out.sort_values(["failed", "attempts", "value"], ascending=[False, False, True])
    return out[columns].reset_index(drop=True)


def timeline(df: pd.DataFrame, width: pd.Timedelta) -> pd.DataFrame:
    """Failures per bucket and category.

    Reads ``time``, ``category``. Columns: ``bucket`` (UTC start), ``category``, ``count``
    (failed records); sorted by bucket, then catalog fix order.
    """
    d = df[_failed(df) & df["time"].notna()]
    if d.empty:
        return pd.DataFrame(columns=["bucket", "category", "count"])
    out = (d.assign(bucket=bucket_start(d["time"], width))
           .groupby(["bucket", "category"], as_index=False).size()
           .rename(columns={"size": "count"}))
    out["_order"] = _priority(out["category"])
    return out.sort_values(["bucket", "_order"]).drop(columns="_order").reset_index(drop=True)


def recurring(df: pd.DataFrame, width: pd.Timedelta, min_buckets: int) -> pd.DataFrame:
    """Failures of one client in one category that come back in ``min_buckets`` buckets or more.

    Reads ``time``, ``category``, ``client.fp``. Columns: ``client`` (fingerprint),
    ``category``, ``buckets`` (distinct buckets with such a failure), ``count`` (failed
    records), ``first_seen``, ``last_seen`` (UTC); sorted by buckets, then count (both
    descending). Raises ``ConfigError`` (option ``recurring_min_buckets``) below 1.
    """
    if isinstance(min_buckets, bool) or not isinstance(min_buckets, int) or min_buckets < 1:
        raise ConfigError("recurring_min_buckets", "must be a whole number of at least 1")
    columns = ["client", "category", "buckets", "count", "first_seen", "last_seen"]
    d = df[_failed(df) & df["time"].notna()]
    if d.empty:
        return pd.DataFrame(columns=columns)
    out = (d.assign(bucket=bucket_start(d["time"], width))
           .groupby(["client.fp", "category"], as_index=False)
           .agg(buckets=("bucket", "nunique"), count=("time", "size"),
                first_seen=("time", "min"), last_seen=("time", "max"))
           .rename(columns={"client.fp": "client"}))
    out = out[out["buckets"] >= min_buckets]
    out = out.sort_values(["buckets", "count", "client", "category"],
                          ascending=[False, False, True, True])
    return out[columns].reset_index(drop=True)


def changes(df: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Categories that are new, regressed or resolved in ``window`` against the one before it.

    Reads ``time``, ``category`` of every record up to ``window.end`` (pass the whole input,
    not only the window). *new*: failing now, not in the previous window and never before it;
    *regressed*: failing now, not in the previous window, but seen before it; *resolved*:
    failing in the previous window, not now. Columns: ``category``, ``status``, ``current``,
    ``previous``, ``earlier`` (failed records now, in the previous window, before it),
    ``last_seen_before`` (UTC time of the last failure before the current window, NaT if
    none); sorted new, regressed, resolved, then catalog fix order.
    """
    columns = list(CHANGE_COLUMNS)
    d = df[_failed(df) & df["time"].notna() & (df["time"] < window.end)]
    if d.empty:
        return pd.DataFrame(columns=columns)
    period = np.select([d["time"] >= window.start, d["time"] >= window.previous_start],
                       ["current", "previous"], "earlier")
    table = (pd.crosstab(d["category"], period)
             .reindex(columns=["current", "previous", "earlier"], fill_value=0))
    now, prev, before = table["current"] > 0, table["previous"] > 0, table["earlier"] > 0
    status = np.select([now & ~prev & ~before, now & ~prev & before, prev & ~now],
                       list(STATUS_ORDER), "")
    out = table.assign(status=status)[lambda t: t["status"] != ""].reset_index()
    out.columns.name = None
    out = out.rename(columns={out.columns[0]: "category"})
    last = d[d["time"] < window.start].groupby("category")["time"].max()
    out = out.join(last.rename("last_seen_before"), on="category")
    out["last_seen_before"] = pd.to_datetime(out["last_seen_before"], utc=True)
    out["_s"] = out["status"].map(STATUS_ORDER.index)
    out["_o"] = _priority(out["category"])
    out = out.sort_values(["_s", "_o", "category"])
    for name in ("current", "previous", "earlier"):
        out[name] = out[name].astype(int)
    return out[columns].reset_index(drop=True)


def _credential_environment(kind: str, called: str, candidates: dict[str, object]) -> str:
    order = (("presented.issued_environment", "assertion.aud_environment",
              "assertion.iss_ok_environment") if kind == "api_call" else
             ("assertion.aud_environment", "assertion.iss_ok_environment",
              "presented.issued_environment"))
    known = [str(v) for v in (candidates.get(k) for k in order) if isinstance(v, str) and v]
    other = [v for v in known if v != called]
    return (other or known or ["unknown"])[0]


def mismatch_directions(df: pd.DataFrame) -> pd.DataFrame:
    """Environment mismatches per client as ``<credential environment>-><called environment>``.

    Reads ``environment_mismatch`` records: the called environment is ``environment``; the
    credential's is, for token exchanges, ``assertion.aud_environment`` (the token URL ``aud``
    names) or else ``assertion.iss_ok_environment`` (where the same ``iss`` worked before), and
    for API calls ``presented.issued_environment`` (who issued the access token): the first of
    them that differs from the called environment, else the first known, else ``unknown``.
    Columns: ``client`` (fingerprint), ``direction`` (e.g. ``sandbox->production``),
    ``credential_environment``, ``called_environment``, ``count`` (records), ``first_seen``,
    ``last_seen`` (UTC); sorted by count (descending), then client and direction.
    """
    columns = ["client", "direction", "credential_environment", "called_environment", "count",
               "first_seen", "last_seen"]
    d = df[df["category"] == ENVIRONMENT_MISMATCH]
    if d.empty:
        return pd.DataFrame(columns=columns)
    sources = [c for c in CREDENTIAL_ENVIRONMENT_COLUMNS if c in d.columns]
    credential = [
        _credential_environment(kind, called, dict(zip(sources, values, strict=True)))
        for kind, called, *values in zip(d["endpoint.kind"], d["environment"],
                                         *(d[c] for c in sources), strict=True)]
    d = d.assign(credential_environment=credential, called_environment=d["environment"])
    d = d.assign(direction=d["credential_environment"] + "->" + d["called_environment"])
    out = (d.groupby(["client.fp", "direction", "credential_environment", "called_environment"],
                     as_index=False)
           .agg(count=("time", "size"), first_seen=("time", "min"), last_seen=("time", "max"))
           .rename(columns={"client.fp": "client"}))
    out = out.sort_values(["count", "client", "direction"], ascending=[False, True, True])
    return out[columns].reset_index(drop=True)


def recovery(df: pd.DataFrame) -> pd.DataFrame:
    """Time from a client's first failure to its next successful token exchange.

    Reads ``time``, ``category``, ``endpoint.kind``, ``client.fp``. Per client, in time order,
    an episode opens at a failure and closes at the next ``ok`` token exchange; the failures in
    between belong to it. Columns: ``client`` (fingerprint), ``category`` (of the failure that
    opened it), ``failed_at``, ``recovered_at`` (UTC; NaT while open), ``seconds`` (float; NaN
    while open), ``failures`` (failed records in the episode), ``open`` (bool); sorted by
    failed_at.
    """
    columns = ["client", "category", "failed_at", "recovered_at", "seconds", "failures", "open"]
    d = df[df["time"].notna()].sort_values(["client.fp", "time"], kind="stable")
    failed = _failed(d)
    if not failed.any():
        return pd.DataFrame(columns=columns)
    recovered = (d["category"] == OK) & (d["endpoint.kind"] == "token_exchange")
    # A recovery closes the episode before it: it gets the number of recoveries before it.
    episode = recovered.astype(int).groupby(d["client.fp"]).cumsum() - recovered.astype(int)
    d = d.assign(_episode=episode)
    keys = ["client.fp", "_episode"]
    opened = d[failed].groupby(keys).agg(category=("category", "first"),
                                         failed_at=("time", "min"), failures=("time", "size"))
    closed = d[recovered].groupby(keys).agg(recovered_at=("time", "min"))
    out = opened.join(closed, how="left").reset_index().rename(columns={"client.fp": "client"})
    out["recovered_at"] = pd.to_datetime(out["recovered_at"], utc=True)
    out["seconds"] = (out["recovered_at"] - out["failed_at"]).dt.total_seconds()
    out["open"] = out["recovered_at"].isna()
    out = out.sort_values(["failed_at", "client"], kind="stable")
    return out[columns].reset_index(drop=True)


def failure_rate(df: pd.DataFrame, width: pd.Timedelta,
                 known_kinds: Collection[str] | None = None) -> pd.DataFrame:
    """Failed share of the attempts per bucket and endpoint kind, where it can be known.

    Reads ``time``, ``category``, ``endpoint.kind``. A rate is known only for endpoint kinds
    in ``known_kinds`` (default: the kinds with at least one success in ``df``): successful
    API calls are never recorded, and an input of failures alone says nothing about how many
    attempts worked, so its rate is unknown, not 100%. Columns: ``bucket`` (UTC start),
    ``endpoint_kind``, ``attempts``, ``ok``, ``failed`` (records), ``rate`` (failed / attempts,
    0..1; NaN when unknown), ``rate_known`` (bool); sorted by bucket, then endpoint kind.
    """
    columns = ["bucket", "endpoint_kind", "attempts", "ok", "failed", "rate", "rate_known"]
    d = df[df["time"].notna()]
    if d.empty:
        return pd.DataFrame(columns=columns)
    if known_kinds is None:
        known_kinds = set(d.loc[~_failed(d), "endpoint.kind"])
    out = (pd.DataFrame({"bucket": bucket_start(d["time"], width),
                         "endpoint_kind": d["endpoint.kind"],
                         "failed": _failed(d).astype(int)})
           .groupby(["bucket", "endpoint_kind"], as_index=False)
           .agg(attempts=("failed", "size"), failed=("failed", "sum")))
    out["ok"] = out["attempts"] - out["failed"]
    out["rate_known"] = out["endpoint_kind"].isin(list(known_kinds))
    out["rate"] = (out["failed"] / out["attempts"]).where(out["rate_known"])
    return out.sort_values(["bucket", "endpoint_kind"])[columns].reset_index(drop=True)


def drilldown(df: pd.DataFrame) -> pd.DataFrame:
    """The failed records themselves, for drill-down from a category to its evidence.

    Columns: ``source`` (``<file>:<line>``), ``time`` (UTC), ``category``, ``confidence``,
    ``environment``, ``endpoint_kind``, ``client`` (fingerprint), ``service``, ``evidence``,
    ``also`` (lists of str), ``fix``; sorted by catalog fix order, then time.
    """
    columns = ["source", "time", "category", "confidence", "environment", "endpoint_kind",
               "client", "service", "evidence", "also", "fix"]
    d = df[_failed(df)].rename(columns={"endpoint.kind": "endpoint_kind", "client.fp": "client",
                                        "service.name": "service"})
    d = d.assign(_o=_priority(d["category"])).sort_values(["_o", "time"], kind="stable")
    return d[columns].reset_index(drop=True)
