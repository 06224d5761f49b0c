"""Oracles for the report tables: the trend functions over a detail frame (one row per record).

These once lived in ``hgobs.analysis.trends``/``summary`` though only tests called them. Each
is a plain pandas (or whole-input) computation over every record held in a frame, composed
with the package's ``*_of`` functions; the tests compare the streaming report state's tables
with them, so a reduction that drops or double-counts a record shows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import numpy as np
import pandas as pd

from hgobs.analysis.classify import Classified
from hgobs.analysis.reduce import CREDENTIAL_ENVIRONMENT_FIELDS, Episodes, Sample, credential_environment
from hgobs.analysis.summary import CUBE_COLUMNS, DIMENSION_COLUMNS, UNKNOWN, by_category_of, totals_of
from hgobs.analysis.trends import (
    CHANGE_COLUMNS,
    ENVIRONMENT_MISMATCH,
    PERIODS,
    Window,
    breakdown_of,
    changes_of,
    check_min_buckets,
    counts_of,
    drilldown_of,
    failure_rate_of,
    mismatch_of,
    recovery_of,
    recurring_of,
    timeline_of,
)
from hgobs.diagnosis.catalog import CATEGORIES, OK, PRIORITY
from hgobs.schema import Record

FRAME_COLUMNS = ("time", "category", "environment", "endpoint.kind", "outcome", "confidence",
                 "client.fp", "service.name", "http.status", "group")

CREDENTIAL_ENVIRONMENT_COLUMNS = CREDENTIAL_ENVIRONMENT_FIELDS
"""Record fields that say which environment a credential belongs to."""
DETAIL_COLUMNS = ("source", "fix", "evidence", "also", *CREDENTIAL_ENVIRONMENT_COLUMNS)
"""The extra columns of ``detail_frame``: where each record came from, what to change, why."""



def _catalog_fix(category: object) -> str:
    return CATEGORIES[category].fix if isinstance(category, str) and category in CATEGORIES else ""


def _failed(df: pd.DataFrame) -> pd.Series:
    return df["category"] != OK


def _priority(categories: pd.Series) -> pd.Series:
    return categories.map(lambda c: PRIORITY.get(c, len(PRIORITY)))


def frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per record with the columns the reports use; ``time`` as UTC timestamps."""
    rows = [{c: r.get(c) for c in FRAME_COLUMNS} for r in records]
    df = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    df["time"] = pd.to_datetime(df["time"].astype("float64"), unit="s", utc=True)
    df["environment"] = df["environment"].fillna(UNKNOWN)
    return df



def detail_frame(classified: Iterable[Classified]) -> pd.DataFrame:
    """One row per classified record: ``FRAME_COLUMNS`` plus ``DETAIL_COLUMNS``, input order.

    Only these fields are taken from a record, so nothing else it holds can reach a report.
    ``time`` is a UTC timestamp (NaT when the record has none); ``environment``,
    ``endpoint.kind``, ``client.fp`` and ``service.name`` are ``"unknown"`` when absent;
    ``evidence`` and ``also`` are lists of strings (empty when absent); ``fix`` falls back to
    the catalog's fix for the category.
    """
    items = list(classified)
    df = frame(c.record for c in items)
    df["source"] = [c.source for c in items]
    df["fix"] = [c.record.get("fix") or _catalog_fix(c.record.get("category")) for c in items]
    for name in ("evidence", "also"):
        df[name] = pd.Series([[str(v) for v in (c.record.get(name) or [])] for c in items],
                             index=df.index, dtype=object)
    for name in CREDENTIAL_ENVIRONMENT_COLUMNS:
        df[name] = [c.record.get(name) for c in items]
    for name in ("endpoint.kind", "client.fp", "service.name"):
        df[name] = df[name].fillna(UNKNOWN)
    return df



def cube(df: pd.DataFrame, width: pd.Timedelta) -> pd.DataFrame:
    """The cube (``CUBE_COLUMNS``) of a detail frame with buckets ``width`` long."""
    if df.empty:
        return pd.DataFrame(columns=list(CUBE_COLUMNS))
    epoch = pd.Timestamp(0, tz="UTC")
    d = df.assign(bucket=(df["time"] - epoch) // width * width + epoch)
    out = d.groupby(["bucket", *DIMENSION_COLUMNS], as_index=False, dropna=False).agg(
        count=("time", "size"), first_seen=("time", "min"), last_seen=("time", "max"))
    return out[list(CUBE_COLUMNS)]



def by_category(df: pd.DataFrame) -> pd.DataFrame:
    """Failures grouped by category and environment (see ``by_category_of``)."""
    return by_category_of(cube(df, pd.Timedelta(days=1)))



def totals(df: pd.DataFrame) -> dict[str, int]:
    """Counts of a detail frame (see ``totals_of``)."""
    return totals_of(cube(df, pd.Timedelta(days=1)))




def in_window(df: pd.DataFrame, start: pd.Timestamp | None,
              end: pd.Timestamp | None) -> pd.DataFrame:
    """Rows whose ``time`` is in ``[start, end)`` (a None bound is open; NaT is never in)."""
    keep = df["time"].notna()
    if start is not None:
        keep &= df["time"] >= start
    if end is not None:
        keep &= df["time"] < end
    return df[keep]



def counts(df: pd.DataFrame, width: pd.Timedelta) -> pd.DataFrame:
    """Attempts per bucket and dimension (see ``counts_of``)."""
    return counts_of(cube(df, width))



def breakdown(df: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Attempts per value of one dimension (see ``breakdown_of``)."""
    return breakdown_of(cube(df, pd.Timedelta(days=1)), dimension)



def timeline(df: pd.DataFrame, width: pd.Timedelta) -> pd.DataFrame:
    """Failures per bucket and category (see ``timeline_of``)."""
    return timeline_of(cube(df, width))



def recurring(df: pd.DataFrame, width: pd.Timedelta, min_buckets: int) -> pd.DataFrame:
    """Failures that come back in ``min_buckets`` buckets or more (see ``recurring_of``)."""
    check_min_buckets(min_buckets)
    return recurring_of(cube(df, width), min_buckets)



def changes(df: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Categories that are new, regressed or resolved in ``window`` against the one before it.

    Reads ``time``, ``category`` of every record up to ``window.end`` (pass the whole input,
    not only the window); see ``changes_of``.
    """
    d = df[_failed(df) & df["time"].notna() & (df["time"] < window.end)]
    if d.empty:
        return pd.DataFrame(columns=list(CHANGE_COLUMNS))
    period = np.select([d["time"] >= window.start, d["time"] >= window.previous_start],
                       list(PERIODS[:2]), PERIODS[2])
    table = (pd.crosstab(d["category"], period).reindex(columns=list(PERIODS), fill_value=0))
    last = d[d["time"] < window.start].groupby("category")["time"].max()
    table = table.join(last.rename("last_seen_before"))
    table.index.name = "category"
    return changes_of(table.reset_index())



def mismatch_directions(df: pd.DataFrame) -> pd.DataFrame:
    """Environment mismatches per client and direction (see ``mismatch_of``).

    Reads ``environment_mismatch`` records: the called environment is ``environment``; the
    credential's is ``reduce.credential_environment`` of ``endpoint.kind``, ``environment``
    and ``CREDENTIAL_ENVIRONMENT_COLUMNS`` (for token exchanges the token URL ``aud`` names,
    or where the same ``iss`` worked before; for API calls who issued the access token).
    """
    d = df[df["category"] == ENVIRONMENT_MISMATCH]
    sources = [c for c in CREDENTIAL_ENVIRONMENT_COLUMNS if c in d.columns]
    credential = [
        credential_environment(kind, called, dict(zip(sources, values, strict=True)))
        for kind, called, *values in zip(d["endpoint.kind"], d["environment"],
                                         *(d[c] for c in sources), strict=True)]
    d = d.assign(credential_environment=credential, called_environment=d["environment"])
    table = (d.groupby(["client.fp", "credential_environment", "called_environment"],
                       as_index=False)
             .agg(count=("time", "size"), first_seen=("time", "min"), last_seen=("time", "max"))
             .rename(columns={"client.fp": "client"})) if not d.empty else d.iloc[0:0]
    return mismatch_of(table)



def recovery(df: pd.DataFrame) -> pd.DataFrame:
    """Time from a client's first failure to its next successful token exchange.

    Reads ``time``, ``category``, ``endpoint.kind``, ``client.fp``; the records are taken in
    time order (input order for equal times) through ``reduce.Episodes``; see ``recovery_of``.
    """
    d = df[df["time"].notna()].sort_values("time", kind="stable")
    episodes = Episodes()
    for at, category, kind, client in zip(d["time"], d["category"], d["endpoint.kind"],
                                          d["client.fp"], strict=True):
        if category != OK:
            episodes.failure(client, category, at)
        elif kind == "token_exchange":
            episodes.success(client, at)
    return recovery_of(list(episodes.rows()), seconds=False)



def failure_rate(df: pd.DataFrame, width: pd.Timedelta,
                 known_kinds: Collection[str] | None = None) -> pd.DataFrame:
    """Failed share of the attempts per bucket and endpoint kind (see ``failure_rate_of``)."""
    return failure_rate_of(cube(df, width), known_kinds)



def drilldown(df: pd.DataFrame) -> pd.DataFrame:
    """The failed records themselves (see ``drilldown_of``); all of them."""
    d = df[_failed(df)].sort_values("time", kind="stable")
    sample = Sample()
    for row in zip(d["source"], d["time"], d["category"], d["confidence"], d["environment"],
                   d["endpoint.kind"], d["client.fp"], d["service.name"], d["evidence"],
                   d["also"], d["fix"], strict=True):
        sample.add(row[2], row)
    return drilldown_of(list(sample.items()), seconds=False)


