"""Aggregations over classified records: pure functions from records to pandas DataFrames.

Two shapes of input: the *detail frame* (one row per record, ``detail_frame``) and the *cube*
(one row per bucket and dimension values that occur, ``CUBE_COLUMNS``), which is what the
streaming report state keeps. Every count of a report is a sum over the cube, so functions of
the cube (``*_of``) compute them and the functions of a detail frame build its cube first.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from hgobs.analysis.classify import Classified
from hgobs.analysis.reduce import CREDENTIAL_ENVIRONMENT_FIELDS
from hgobs.catalog import CATEGORIES, OK, PRIORITY
from hgobs.schema import Record

FRAME_COLUMNS = ("time", "category", "environment", "endpoint.kind", "outcome", "confidence",
                 "client.fp", "service.name", "http.status", "group")

CREDENTIAL_ENVIRONMENT_COLUMNS = CREDENTIAL_ENVIRONMENT_FIELDS
"""Record fields that say which environment a credential belongs to."""
DETAIL_COLUMNS = ("source", "fix", "evidence", "also", *CREDENTIAL_ENVIRONMENT_COLUMNS)
"""The extra columns of ``detail_frame``: where each record came from, what to change, why."""

UNKNOWN = "unknown"
"""The value that stands for a missing environment, client, service or endpoint kind."""
DIMENSION_COLUMNS = ("category", "environment", "service.name", "client.fp", "endpoint.kind")
CUBE_COLUMNS = ("bucket", *DIMENSION_COLUMNS, "count", "first_seen", "last_seen")
"""The cube: ``bucket`` (UTC start; NaT for records without a time), the dimension values,
``count`` (records), ``first_seen`` and ``last_seen`` (UTC times of the earliest and latest)."""


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


def _catalog_fix(category: object) -> str:
    return CATEGORIES[category].fix if isinstance(category, str) and category in CATEGORIES else ""


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


def by_category_of(cube: pd.DataFrame) -> pd.DataFrame:
    """Failures grouped by category and environment, from a cube.

    Columns: ``category``, ``environment``, ``count``, ``first_seen``, ``last_seen``, ``fix``;
    sorted by catalog fix order, then count (descending). Successes are left out.
    """
    failed = cube[cube["category"] != OK]
    columns = ["category", "environment", "count", "first_seen", "last_seen", "fix"]
    if failed.empty:
        return pd.DataFrame(columns=columns)
    out = (failed.groupby(["category", "environment"], as_index=False)
           .agg(count=("count", "sum"), first_seen=("first_seen", "min"),
                last_seen=("last_seen", "max")))
    out["fix"] = out["category"].map(_catalog_fix)
    out["_order"] = out["category"].map(lambda c: PRIORITY.get(c, len(PRIORITY)))
    out = out.sort_values(["_order", "count", "environment"], ascending=[True, False, True])
    return out[columns].reset_index(drop=True)


def totals(df: pd.DataFrame) -> dict[str, int]:
    """Counts of a detail frame (see ``totals_of``)."""
    return totals_of(cube(df, pd.Timedelta(days=1)))


def totals_of(cube: pd.DataFrame) -> dict[str, int]:
    """Counts: ``attempts``, ``ok``, ``failed``, and ``token_exchange``/``api_call`` attempts."""
    n = cube["count"]
    return {
        "attempts": int(n.sum()),
        "ok": int(n[cube["category"] == OK].sum()),
        "failed": int(n[cube["category"] != OK].sum()),
        "token_exchange": int(n[cube["endpoint.kind"] == "token_exchange"].sum()),
        "api_call": int(n[cube["endpoint.kind"] == "api_call"].sum()),
    }
