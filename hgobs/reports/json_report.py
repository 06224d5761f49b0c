"""JSON report: the ``Report`` as one versioned document (``"schema": "hgobs.report/1"``).

The document is described field by field in ``docs/report-schema.md``. Times are ISO 8601 UTC
strings ending in ``Z`` (null when unknown), durations are seconds, rates are fractions 0..1
(null when unknown). The other renderers use ``iso`` and ``rows`` from here so every format
shows the same values. Version 1 adds fields only; a field is never renamed or retyped
within a version.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
import pandas as pd

from hgobs.analysis.tables import Report

# The report tables in document order: (document key, Report attribute).
TABLES = (("categories", "categories"), ("timeline", "timeline"), ("counts", "counts"),
          ("recurring", "recurring"), ("changes", "changes"), ("mismatch", "mismatch"),
          ("recovery", "recovery"), ("failure_rate", "failure_rate"), ("records", "records"),
          ("skipped", "skipped"))


def iso(value: Any) -> str | None:
    """A timestamp as ISO 8601 UTC text ending in ``Z`` (whole seconds unless it has a
    fraction, then microseconds); None for None or NaT."""
    if value is None or value is pd.NaT:
        return None
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return None
    ts = (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).round("us")
    text = ts.to_pydatetime().isoformat()
    return text.replace("+00:00", "Z")


def value(v: Any) -> Any:
    """A table cell as a JSON value: timestamps as ``iso``, NaN/NaT as None, numpy scalars as
    Python numbers and booleans, lists as lists of str."""
    if isinstance(v, (list, tuple, np.ndarray)):
        return [str(x) for x in v]
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return iso(v)
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(v) else float(v)
    if pd.api.types.is_scalar(v) and pd.isna(v):
        return None
    return v


def _iso_column(series: pd.Series) -> list[str | None]:
    """``iso`` of every timestamp of a datetime64 column, computed column-wise (numpy writes
    the text; whole seconds lose their ``.000000``)."""
    ts = series.dt.tz_localize("UTC") if series.dt.tz is None else series.dt.tz_convert("UTC")
    micros = ts.dt.round("us").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    text = np.datetime_as_string(micros, unit="us").tolist()
    missing = np.isnat(micros).tolist()
    whole = (micros.view("int64") % 1_000_000 == 0).tolist()
    return [None if nat else (t[:19] if w else t) + "Z"
            for t, nat, w in zip(text, missing, whole, strict=True)]


def _column(series: pd.Series) -> list[Any]:
    """``value`` of every cell of a report table column (column-wise where the type allows)."""
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(series):
        return _iso_column(series)
    if pd.api.types.is_bool_dtype(series.dtype) and series.dtype != object:
        return [None if pd.isna(v) else bool(v) for v in series.tolist()]
    if pd.api.types.is_integer_dtype(series.dtype) and series.dtype != object:
        return [None if pd.isna(v) else int(v) for v in series.tolist()]
    if pd.api.types.is_float_dtype(series.dtype):
        return [None if v != v else float(v) for v in series.tolist()]
    return [v if v.__class__ is str else value(v) for v in series.tolist()]


def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a report table as JSON objects (columns in table order)."""
    columns = [str(c) for c in df.columns]
    if df.empty:
        return []
    values = [_column(df.iloc[:, i]) for i in range(len(columns))]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def document(report: Report) -> dict[str, Any]:
    """The report as a JSON-ready dict (see ``docs/report-schema.md``)."""
    window = report.window
    doc: dict[str, Any] = {
        "schema": report.schema,
        "generated_at": iso(report.generated_at),
        "read": report.totals["read"],
        "options": {
            "bucket": report.bucket,
            "bucket_seconds": report.bucket_seconds,
            "since": iso(report.since),
            "until": iso(report.until),
            "recurring_min_buckets": report.recurring_min_buckets,
        },
        "window": None if window is None else {
            "start": iso(window.start), "end": iso(window.end),
            "previous_start": iso(window.previous_start), "previous_end": iso(window.start),
            "compared": report.has_earlier_window,
        },
        "totals": _plain(report.totals),
        "breakdown": {name: rows(table) for name, table in report.breakdown.items()},
    }
    for key, attribute in TABLES:
        doc[key] = rows(getattr(report, attribute))
    if report.samples:
        doc["samples"] = {name: _plain(sample) for name, sample in report.samples.items()}
    if report.notices:  # only when a counter is not zero
        doc["notices"] = _plain(report.notices)
    return doc


def _plain(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {k: value(v) for k, v in mapping.items()}


def render(report: Report, *, indent: int | None = 2) -> str:
    """The JSON text of ``document(report)``, ending in a newline. With the default
    ``indent`` of 2 it is written by ``orjson`` (ten times faster on a large report; the same
    layout and values, though a float under 1e-4 may be spelt differently, ``0.00001`` for
    ``1e-05``), falling back to the standard library for a value orjson refuses (an integer
    beyond 64 bits, a lone surrogate)."""
    doc = document(report)
    if indent == 2:
        try:
            return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
        except TypeError:
            pass
    return json.dumps(doc, indent=indent, ensure_ascii=False) + "\n"
