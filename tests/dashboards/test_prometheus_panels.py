"""Every Prometheus panel, evaluated by a real Prometheus after the scenarios, shows what the scenarios did.

The expected values come from the JSON Lines records of the same run (see ``expected.py``);
Grafana's macros become the measured window and the template variables concrete values.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from hgobs.diagnosis.catalog import CATEGORIES
from hgobs.sinks.otel import EXPIRY_BUCKETS_S
from tests.dashboards.expected import Selection, as_result, expected, known
from tests.dashboards.grafana import PROMETHEUS, interpolate, load, targets, variables
from tests.dashboards.prom import JOB

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
SELECTIONS = (
    Selection("all", ".*", ".*", ".*"),
    Selection("production", JOB, "production", "environment_mismatch"),
    Selection("multi", JOB, "(sandbox|production)", "(audience_mismatch|clock_skew|unclassified)"),
)
METRICS = {  # metric family (OpenMetrics, as Prometheus negotiates it) -> (type, unit)
    "hgobs_attempts": ("counter", ""),
    "hgobs_exchange_duration_seconds": ("histogram", "seconds"),
    "hgobs_assertion_expiry_seconds": ("histogram", "seconds"),
    "hgobs_records_dropped": ("counter", ""),
}
SERIES = {
    "hgobs_attempts_total",
    "hgobs_records_dropped_total",
    "hgobs_exchange_duration_seconds_bucket",
    "hgobs_exchange_duration_seconds_sum",
    "hgobs_exchange_duration_seconds_count",
    "hgobs_assertion_expiry_seconds_bucket",
    # With buckets below zero the Prometheus client leaves out _sum and _count (OpenMetrics rule).
    *(() if EXPIRY_BUCKETS_S[0] < 0 else
      ("hgobs_assertion_expiry_seconds_sum", "hgobs_assertion_expiry_seconds_count")),
}
ATTEMPT_LABELS = {"hgobs_outcome", "hgobs_category", "hgobs_environment", "hgobs_endpoint_kind",
                  "hgobs_profile"}
HISTOGRAM_LABELS = {"hgobs_environment", "hgobs_outcome", "hgobs_profile"}
REL = 5e-3  # Prometheus 3 needs a window 1 ms longer than the measured one (left-open ranges)


def _cases() -> list[object]:
    return [pytest.param(panel["title"], target, sel, id=f"{panel['id']}{target['refId']}-{sel.name}")
            for panel, target in targets(load(PROMETHEUS)) for sel in SELECTIONS]


def _same(got: dict, want: dict) -> bool:
    # hgobs starts every (category, environment, kind) series at 0, so Prometheus also has
    # series no attempt touched: they are 0 (or NaN in a ratio of zeros) and stand for "none".
    got = {k: g for k, g in got.items() if k in want or not (g == 0 or math.isnan(g))}
    if set(got) != set(want):
        return False
    for k, w in want.items():
        g = got[k]
        if math.isnan(w) or math.isnan(g):
            if not (math.isnan(w) and math.isnan(g)):
                return False
        elif g != pytest.approx(w, rel=REL, abs=1e-9):
            return False
    return True


def _show(result: dict) -> list[str]:
    return sorted(f"{dict(sorted(k))} {v}" for k, v in result.items())


def _window_ms(live, prometheus) -> int:
    major = int(re.match(r"\d+", prometheus.version()).group())
    return live.window_ms + (1 if major >= 3 else 0)


def test_every_query_has_an_expectation():
    """Each Prometheus query of the dashboard has an expected value computed from the records."""
    missing = [(p["title"], t["refId"]) for p, t in targets(load(PROMETHEUS))
               if not known(p["title"], t["refId"])]
    assert missing == []


def test_exporter_names_and_labels(live, prometheus):
    """The OpenTelemetry Prometheus exporter exposes exactly the documented series, types and bounded labels."""
    names = set(prometheus.label_values("__name__", '{__name__=~"hgobs_.*"}', live.start, live.end))
    assert names == SERIES
    metadata = prometheus.api("metadata", {})
    assert {m: (metadata[m][0]["type"], metadata[m][0]["unit"]) for m in METRICS} == METRICS
    attempt_series = prometheus.api("series", [("match[]", "hgobs_attempts_total"),
                                               ("start", live.start), ("end", live.end)])
    for series in attempt_series:
        assert {k for k in series if k.startswith("hgobs_")} == ATTEMPT_LABELS
        # error.type: the category id on failures, absent on successes (so no extra series)
        assert series.get("error_type") == (series["hgobs_category"]
                                            if series["hgobs_outcome"] == "failed" else None)
    for name in ("hgobs_exchange_duration_seconds_count", "hgobs_assertion_expiry_seconds_bucket"):
        for series in prometheus.api("series", [("match[]", name), ("start", live.start),
                                                ("end", live.end)]):
            assert {k for k in series if k.startswith("hgobs_")} == HISTOGRAM_LABELS


def test_attempts_per_category_equal_the_records(live, prometheus):
    """increase(hgobs_attempts_total) over the measured window equals the record count per category."""
    expr = f"sum by (hgobs_category) (increase(hgobs_attempts_total[{_window_ms(live, prometheus)}ms]))"
    got = {s["metric"]["hgobs_category"]: float(s["value"][1])
           for s in prometheus.query(expr, live.end)["result"]}
    got = {k: v for k, v in got.items() if v}  # categories no attempt touched stay at 0
    want: dict[str, float] = {}
    for r in live.records:
        want[r["category"]] = want.get(r["category"], 0.0) + 1
    assert got == pytest.approx(want, rel=REL)
    assert len(want) >= 20


@pytest.mark.parametrize(("title", "target", "sel"), _cases())
def test_panel_query_returns_the_scenario_series(live, prometheus, title, target, sel):
    """The panel query, with macros and variables substituted, returns the series and values the records imply."""
    window_ms = _window_ms(live, prometheus)
    expr = interpolate(target["expr"], sel.values(window_ms))
    assert "$" not in expr
    got = as_result(prometheus.query(expr, live.end))
    want = expected(title, target["refId"], live.records, sel, window_ms / 1000)
    assert _same(got, want), f"{expr}\n got: {_show(got)}\nwant: {_show(want)}"
    if sel.name == "all":
        assert want, f"{title} {target['refId']}: the scenarios should give this panel data"


@pytest.mark.parametrize("sel", SELECTIONS[:1], ids=["all"])
def test_legend_labels_exist_on_the_series(live, prometheus, sel):
    """Every {{label}} in a legend format is a label of the series the query returns."""
    window_ms = _window_ms(live, prometheus)
    for panel, target in targets(load(PROMETHEUS)):
        wanted = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")))
        result = prometheus.query(interpolate(target["expr"], sel.values(window_ms)), live.end)
        for series in result["result"]:
            assert wanted <= set(series["metric"]), (panel["title"], target["refId"])


def test_variable_queries_list_the_scenario_values(live, prometheus):
    """label_values() of each query variable returns the job, environments and failure categories of the run."""
    want = {
        "job": {JOB},
        "environment": {str(r.get("environment", "unknown")) for r in live.records},
        # every failure category of the catalog: hgobs starts each series at 0
        "category": set(CATEGORIES),
    }
    for name, var in variables(load(PROMETHEUS)).items():
        if var["type"] != "query":
            continue
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", var["query"])
        assert m, var["query"]
        match = interpolate(m.group(1), {"job": ".*"})
        got = prometheus.label_values(m.group(2), match, live.start, live.end)
        assert set(got) == want[name], name


def test_docs_name_the_series_prometheus_has(live, prometheus):
    """docs/metrics.md names exactly the series and hgobs labels Prometheus holds after the run."""
    names = set(re.findall(r"\b(hgobs_[a-z_]+)\b", DOCS.read_text("utf-8")))
    assert SERIES | ATTEMPT_LABELS <= names
    assert names <= SERIES | set(METRICS) | ATTEMPT_LABELS


def test_docs_examples_run(live, prometheus):
    """Every PromQL example in docs/metrics.md is accepted by Prometheus and returns series after the run."""
    examples = re.findall(r"```promql\n(.*?)```", DOCS.read_text("utf-8"), re.S)
    assert len(examples) >= 5
    for expr in examples:
        assert prometheus.query(expr, live.end)["result"], expr
