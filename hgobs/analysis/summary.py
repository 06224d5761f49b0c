"""Aggregations over classified records: pure functions from records to pandas DataFrames."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from hgobs.catalog import CATEGORIES, OK, PRIORITY
from hgobs.schema import Record

FRAME_COLUMNS = ("time", "category", "environment", "endpoint.kind", "outcome", "confidence",
                 "client.fp", "service.name", "http.status", "group")


def frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per record with the columns the reports use; ``time`` as UTC timestamps."""
    rows = [{c: r.get(c) for c in FRAME_COLUMNS} for r in records]
    df = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    df["time"] = pd.to_datetime(df["time"].astype("float64"), unit="s", utc=True)
    df["environment"] = df["environment"].fillna("unknown")
    return df


def by_category(df: pd.DataFrame) -> pd.DataFrame:
    """Failures grouped by category and environment.

    Columns: ``category``, ``environment``, ``count``, ``first_seen``, ``last_seen``, ``fix``;
    sorted by catalog fix order, then count (descending). Successes are left out.
    """
    failed = df[df["category"] != OK]
    columns = ["category", "environment", "count", "first_seen", "last_seen", "fix"]
    if failed.empty:
        return pd.DataFrame(columns=columns)
    out = (failed.groupby(["category", "environment"], as_index=False)
           .agg(count=("time", "size"), first_seen=("time", "min"), last_seen=("time", "max")))
    out["fix"] = out["category"].map(lambda c: CATEGORIES[c].fix if c in CATEGORIES else "")
    out["_order"] = out["category"].map(lambda c: PRIORITY.get(c, len(PRIORITY)))
    out = out.sort_values(["_order", "count", "environment"], ascending=[True, False, True])
    return out[columns].reset_index(drop=True)


def totals(df: pd.DataFrame) -> dict[str, int]:
    """Counts: ``attempts``, ``ok``, ``failed``, and ``token_exchange``/``api_call`` attempts."""
    return {
        "attempts": len(df),
        "ok": int((df["category"] == OK).sum()),
        "failed": int((df["category"] != OK).sum()),
        "token_exchange": int((df["endpoint.kind"] == "token_exchange").sum()),
        "api_call": int((df["endpoint.kind"] == "api_call").sum()),
    }
