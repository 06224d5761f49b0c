"""Hand-made classified records for the analysis and report tests."""

from __future__ import annotations

from typing import Any

from hgobs.analysis.classify import Classified
from hgobs.diagnosis.catalog import CATEGORIES, OK
from hgobs.readers.base import Item
from tests.analysis.oracles import detail_frame
from tests.support.whole import Result

T0 = 1_709_510_400.0  # 2024-03-04T00:00:00Z, a bucket start for 15min, 1h and 1D
HOUR = 3600.0
DAY = 86_400.0
CLIENT_A = "3f9c2a7e1b5d4c08"
CLIENT_B = "a1b2c3d4e5f60718"
CLIENT_C = "0c0ffee000000001"


def rec(at: float, category: str = "expired_assertion", *, client: str = CLIENT_A,
        kind: str = "token_exchange", env: str = "sandbox", service: str = "claims-sync",
        **fields: Any) -> dict[str, Any]:
    """A classified record ``at`` seconds after ``T0``; extra fields by record name."""
    record: dict[str, Any] = {
        "time": T0 + at, "category": category, "outcome": "ok" if category == OK else "failed",
        "endpoint.kind": kind, "environment": env, "client.fp": client,
        "service.name": service,
    }
    if category != OK:
        record.update({"confidence": "confirmed", "evidence": [f"rule={category}"], "also": [],
                       "fix": CATEGORIES[category].fix if category in CATEGORIES else "fix it"})
    record.update(fields)
    return record


def result(*records: dict[str, Any], skipped: tuple[tuple[str, str], ...] = ()) -> Result:
    """A classify ``Result`` of ``records`` (sources ``in.jsonl:<n>``) and skipped items."""
    return Result(classified=[Classified(f"in.jsonl:{i + 1}", r) for i, r in enumerate(records)],
                  skipped=[Item(source, reason=reason) for source, reason in skipped])


def frame(*records: dict[str, Any]):
    """The detail frame of ``records``, as ``build_report`` makes it."""
    return detail_frame(result(*records).classified)
