"""Summary tables of the cube: failures per category and environment, and the totals.

The *cube* (one row per bucket and dimension values that occur, ``CUBE_COLUMNS``) is what the
report state (``hgobs.analysis.state``) reduces records to; every count of a report is a sum
over it.
"""

from __future__ import annotations

import pandas as pd

from hgobs.diagnosis.catalog import CATEGORIES, OK, PRIORITY

UNKNOWN = "unknown"
"""The value that stands for a missing environment, client, service or endpoint kind."""
DIMENSION_COLUMNS = ("category", "environment", "service.name", "client.fp", "endpoint.kind")
CUBE_COLUMNS = ("bucket", *DIMENSION_COLUMNS, "count", "first_seen", "last_seen")
"""The cube: ``bucket`` (UTC start; NaT for records without a time), the dimension values,
``count`` (records), ``first_seen`` and ``last_seen`` (UTC times of the earliest and latest)."""


def _catalog_fix(category: object) -> str:
    return CATEGORIES[category].fix if isinstance(category, str) and category in CATEGORIES else ""


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
