"""What each dashboard query should return, computed from the JSON Lines records of the same run.

Results are ``{frozenset(label pairs): value}``, the shape ``as_result`` makes of a Prometheus
instant vector; ``le`` values are floats so ``1.0`` and ``1`` compare equal. The histogram
quantile is Prometheus' classic-bucket estimate (linear interpolation inside the bucket; the
lower bound of the first bucket is 0 when its upper bound is positive).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hgobs.sinks.otel import DURATION_BUCKETS_S, EXPIRY_BUCKETS_S

Key = frozenset[tuple[str, Any]]
Result = dict[Key, float]


@dataclass(frozen=True)
class Selection:
    """Concrete template variable values: the text put in the query, and the regex it means."""

    name: str
    job: str
    environment: str
    category: str

    def values(self, window_ms: int) -> dict[str, str]:
        """Variable name -> text, macros included (each is the measured window)."""
        window = f"{window_ms}ms"
        return {"job": self.job, "environment": self.environment, "category": self.category,
                "__range": window, "__rate_interval": window, "__interval": window}

    def env_ok(self, record: Mapping[str, Any]) -> bool:
        return re.fullmatch(self.environment, label(record, "environment")) is not None

    def category_ok(self, record: Mapping[str, Any], extra: str = "") -> bool:
        return re.fullmatch(self.category + extra, label(record, "category")) is not None


def label(record: Mapping[str, Any], field: str) -> str:
    """The metric attribute value hgobs derives from a record field (``unknown`` when absent)."""
    return str(record.get(field, "unknown"))


def key(**labels: Any) -> Key:
    return frozenset(labels.items())


def as_result(data: Mapping[str, Any]) -> Result:
    """A Prometheus instant-query ``data`` (vector or scalar) as a Result."""
    if data["resultType"] == "scalar":
        return {key(): float(data["result"][1])}
    out: Result = {}
    for series in data["result"]:
        labels = {k: (float(v) if k == "le" else v) for k, v in series["metric"].items()}
        out[frozenset(labels.items())] = float(series["value"][1])
    return out


def bucket_quantile(q: float, values: Iterable[float], bounds: Iterable[float]) -> float:
    """Prometheus ``histogram_quantile(q, ...)`` of the classic histogram of ``values``."""
    uppers = [*bounds, math.inf]
    counts = [0] * len(uppers)
    for v in values:
        counts[next(i for i, u in enumerate(uppers) if v <= u)] += 1
    cumulative = [sum(counts[: i + 1]) for i in range(len(counts))]
    total = cumulative[-1]
    if total == 0:
        return math.nan
    rank = q * total
    b = next(i for i, c in enumerate(cumulative) if c >= rank)
    if b == len(uppers) - 1:
        return uppers[-2]
    if b == 0 and uppers[0] <= 0:
        return uppers[0]
    start, end, count = 0.0, uppers[b], cumulative[b]
    if b > 0:
        start, count, rank = uppers[b - 1], count - cumulative[b - 1], rank - cumulative[b - 1]
    return start + (end - start) * (rank / count)


def group(records: Iterable[Mapping[str, Any]], *fields: str) -> dict[Key, list[Mapping[str, Any]]]:
    """Records grouped by the metric labels of ``fields`` (label ``hgobs_<field>``)."""
    out: dict[Key, list[Mapping[str, Any]]] = defaultdict(list)
    for r in records:
        out[frozenset(("hgobs_" + f.replace(".", "_"), label(r, f)) for f in fields)].append(r)
    return dict(out)


def counts(records: Iterable[Mapping[str, Any]], *fields: str) -> Result:
    """Number of records per label combination (``sum by (...) (increase(...))``)."""
    return {k: float(len(v)) for k, v in group(records, *fields).items()}


def exchanges(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in records if r.get("endpoint.kind") == "token_exchange"]


def durations(records: Iterable[Mapping[str, Any]]) -> list[float]:
    """The values hgobs put in ``hgobs.exchange.duration`` for these records."""
    return [float(r["duration_s"]) for r in exchanges(records) if r.get("duration_s") is not None]


def expiries(records: Iterable[Mapping[str, Any]]) -> list[float]:
    """The values hgobs put in ``hgobs.assertion.expiry`` for these records (negative ones as 0)."""
    return [max(0.0, float(r["assertion.seconds_to_expiry"])) for r in exchanges(records)
            if isinstance(r.get("assertion.seconds_to_expiry"), (int, float))
            and not isinstance(r.get("assertion.seconds_to_expiry"), bool)
            and r.get("assertion.source") != "bearer"]


def per_environment(records: Iterable[Mapping[str, Any]],
                    value: Callable[[list[Mapping[str, Any]]], float | None]) -> Result:
    out: Result = {}
    for k, group_records in group(records, "environment").items():
        v = value(group_records)
        if v is not None:
            out[k] = v
    return out


def expected(title: str, ref: str, records: list[dict[str, Any]], sel: Selection,
             window_s: float) -> Result:
    """The result panel ``title``, query ``ref`` should give for ``records`` and ``sel``."""
    rs = [r for r in records if sel.env_ok(r)]
    failed = [r for r in rs if r.get("outcome") == "failed"]
    tx = exchanges(rs)
    tx_failed = [r for r in tx if r.get("outcome") == "failed"]
    mismatches = [r for r in rs if r.get("category") == "environment_mismatch"]

    def total(items: list[Any]) -> Result:
        return {key(): float(len(items))} if items else {}

    def quantile(q: float, values: list[float], bounds: tuple[float, ...]) -> float | None:
        return bucket_quantile(q, values, bounds) if values else None

    def rate(result: Result) -> Result:
        return {k: v / window_s for k, v in result.items()}

    table: dict[tuple[str, str], Callable[[], Result]] = {
        ("Auth attempts", "A"): lambda: total(rs),
        ("Failed attempts", "A"): lambda: total(failed),
        ("Token exchange failure rate", "A"): lambda: (
            {key(): len(tx_failed) / len(tx)} if tx_failed else {}),
        ("Refused API calls", "A"): lambda: total([r for r in rs if r.get("endpoint.kind") == "api_call"]),
        ("Environment mismatches", "A"): lambda: total(mismatches),
        ("Token exchange p95 latency", "A"): lambda: (
            {key(): bucket_quantile(0.95, durations(rs), DURATION_BUCKETS_S)} if durations(rs) else {}),
        ("Failed attempts by category", "A"): lambda: rate(
            counts([r for r in failed if sel.category_ok(r)], "category")),
        ("Token exchange failure rate by environment", "A"): lambda: per_environment(
            tx, lambda g: sum(r.get("outcome") == "failed" for r in g) / len(g)),
        ("Attempts by category, environment and endpoint", "A"): lambda: counts(
            [r for r in rs if sel.category_ok(r, "|ok")], "category", "environment", "endpoint.kind"),
        ("Failures by category", "A"): lambda: counts(
            [r for r in failed if sel.category_ok(r)], "category"),
        ("Environment mismatches per interval", "A"): lambda: counts(
            mismatches, "environment", "endpoint.kind"),
        ("Environment mismatches per environment", "A"): lambda: counts(
            mismatches, "environment", "endpoint.kind"),
        ("Mean token exchange latency", "A"): lambda: per_environment(
            rs, lambda g: sum(durations(g)) / len(durations(g)) if durations(g) else None),
        ("Assertions by seconds to expiry at send (cumulative)", "A"): lambda: (
            {key(le=b): float(sum(v <= b for v in expiries(rs)))
             for b in (*EXPIRY_BUCKETS_S, math.inf)} if expiries(rs) else {}),
        ("Sent with an expired assertion", "A"): lambda: (
            {key(): float(sum(v <= 0 for v in expiries(rs)))} if expiries(rs) else {}),
    }
    for ref_id, q in (("A", 0.5), ("B", 0.95), ("C", 0.99)):
        table[("Token exchange latency (p50, p95, p99)", ref_id)] = (
            lambda q=q: per_environment(rs, lambda g: quantile(q, durations(g), DURATION_BUCKETS_S)))
    for ref_id, q in (("A", 0.05), ("B", 0.5)):
        table[("Seconds to expiry at send (p5, p50)", ref_id)] = (
            lambda q=q: per_environment(rs, lambda g: quantile(q, expiries(g), EXPIRY_BUCKETS_S)))
    return table[(title, ref)]()


def known(title: str, ref: str) -> bool:
    """True when ``expected`` knows panel ``title``, query ``ref``."""
    dummy = Selection("all", ".*", ".*", ".*")
    try:
        expected(title, ref, [], dummy, 1.0)
    except KeyError:
        return False
    return True


def category_counts(records: Iterable[Mapping[str, Any]]) -> Counter[str]:
    return Counter(label(r, "category") for r in records)
