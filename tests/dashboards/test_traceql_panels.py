"""The Tempo dashboard's TraceQL names attributes and values our exported spans really carry.

The spans are the ones the live run's scenarios exported over OTLP/HTTP (see ``conftest.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from hgobs.diagnosis.catalog import CATEGORIES
from tests.dashboards.grafana import TEMPO, interpolate, load, panels, referenced, targets, variables
from tests.dashboards.traceql import parse

DASHBOARD = load(TEMPO)
VARIABLES = variables(DASHBOARD)
QUERIES = [(p, t) for p, t in targets(DASHBOARD) if not t["query"].strip().startswith("$")]


def _defaults() -> dict[str, str]:
    """Each variable's current value as Grafana would put it in a query (All -> allValue)."""
    out = {}
    for name, var in VARIABLES.items():
        value = var.get("current", {}).get("value", "")
        out[name] = var.get("allValue", ".*") if value == "$__all" else str(value)
    return out


def _ids() -> list[str]:
    return [f"{p['id']}{t['refId']}" for p, t in QUERIES]


def _failed(live: Any) -> list[dict[str, Any]]:
    return [r for r in live.records if r["outcome"] == "failed"]


@pytest.mark.parametrize(("panel", "target"), QUERIES, ids=_ids())
def test_attributes_exist_on_our_spans(live, panel, target):
    """Every span.<attribute> a TraceQL query names is set on at least one exported hgobs span."""
    ours = set().union(*(s["attributes"] for s in live.spans))
    named = parse(interpolate(target["query"], _defaults())).attributes
    assert named and named <= ours, named - ours


@pytest.mark.parametrize(("panel", "target"), QUERIES, ids=_ids())
def test_literals_occur_in_our_spans(live, panel, target):
    """Each condition's literal (string, regex, status, name) is a value our spans have, with the same type."""
    query = parse(interpolate(target["query"], _defaults()))
    for condition in query.conditions:
        present = [s for s in live.spans if condition.actual(s) is not None]
        assert present, condition
        if condition.op in ("=", "=~"):
            assert any(condition.matches(s) for s in live.spans), condition
        else:
            assert all(isinstance(condition.actual(s), str) == condition.is_string
                       for s in present), condition


@pytest.mark.parametrize(("panel", "target"), QUERIES, ids=_ids())
def test_filter_finds_spans(live, panel, target):
    """With the default variable values, each filter matches the spans the records say it should."""
    query = parse(interpolate(target["query"], _defaults()))
    found = [s for s in live.spans if query.matches(s)]
    if any(c.field == "duration" for c in query.conditions):
        assert all(s["duration_ns"] > 1e9 for s in found)  # the scenarios run fast: none expected
        return
    assert found, target["query"]
    for span in found:  # selected by hgobs.* attributes, whatever the span's name
        assert span["attributes"]["hgobs.endpoint.kind"] in ("token_exchange", "api_call")
        assert span["name"] in ("hgobs token_exchange", "hgobs api_call", "POST", "GET")


@pytest.mark.parametrize("environment", [".*", "sandbox", "production"])
def test_category_table_returns_one_span_per_failed_record(live, environment):
    """For every catalog category, the $category table matches exactly the failed records of that category."""
    (target,) = [t for _, t in QUERIES if "category" in referenced(t["query"])]
    for category in CATEGORIES:
        values = {**_defaults(), "category": category, "environment": environment}
        query = parse(interpolate(target["query"], values))
        found = sorted(s["span_id"] for s in live.spans if query.matches(s))
        want = sorted(r["span_id"] for r in _failed(live) if r["category"] == category
                      and (environment == ".*" or r["environment"] == environment))
        assert found == want, category


def test_variables_cover_what_the_spans_carry(live):
    """The category options are exactly the catalog's failure ids; environments cover the run's spans."""
    category, environment = VARIABLES["category"], VARIABLES["environment"]
    options = [o["value"] for o in category["options"]]
    assert options == list(CATEGORIES) == category["query"].split(",")
    assert category["current"]["value"] in options
    envs = [o["value"] for o in environment["options"] if o["value"] != "$__all"]
    assert envs == environment["query"].split(",")
    assert {s["attributes"]["hgobs.environment"] for s in live.spans} <= set(envs)
    assert {s["attributes"]["hgobs.category"] for s in live.spans} - {"ok"} <= set(options)


def test_tables_drill_down_to_spans():
    """Tables list spans (one row per span with its trace id), and the traces panel opens $trace_id."""
    kinds = {p["type"] for p in panels(DASHBOARD)}
    assert {"table", "traces"} <= kinds
    for panel in panels(DASHBOARD):
        if panel["type"] == "table":
            assert [t["tableType"] for t in panel["targets"]] == ["spans"]
        if panel["type"] == "traces":
            assert [t["query"] for t in panel["targets"]] == ["$trace_id"]
    assert VARIABLES["trace_id"]["type"] == "textbox"
