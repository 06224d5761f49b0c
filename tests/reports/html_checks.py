"""Checks that the numbers on an HTML report page are the JSON report's numbers."""

from __future__ import annotations

import json
from typing import Any

from tests.reports.dom import Node


def embedded_document(root: Node) -> dict[str, Any]:
    """The JSON report embedded in the page (``#hgobs-report-data``)."""
    return json.loads(root.find("script", id="hgobs-report-data").text)


def counts_of(table: Node) -> list[list[int]]:
    """The ``data-count`` values of each body row of a table."""
    return [[int(td.attrs["data-count"]) for td in tr.find_all("td", data_count=True)]
            for tr in table.find("tbody").find_all("tr")]


def assert_numbers_match(root: Node, doc: dict[str, Any]) -> None:
    """Every total card, table count, drill-down count and chart value equals ``doc``."""
    cards = {n.attrs["data-total"]: int(n.find(data_count=True).attrs["data-count"])
             for n in root.find_all("div", data_total=True)}
    assert cards == doc["totals"]
    rows = root.find("section", id="categories").find("tbody").find_all("tr")
    assert [(r.attrs["data-category"], r.attrs["data-environment"],
             int(r.find("td", data_count=True).attrs["data-count"])) for r in rows] == \
        [(c["category"], c["environment"], c["count"]) for c in doc["categories"]]
    failed = {b["value"]: b["failed"] for b in doc["breakdown"]["category"] if b["failed"]}
    details = root.find("section", id="drilldown").find_all("details")
    assert {d.attrs["data-category"]: int(d.attrs["data-count"]) for d in details} == failed
    for d in details:
        listed = [tr.find("code").all_text() for tr in d.find("tbody").find_all("tr")]
        assert listed == [r["source"] for r in doc["records"]
                          if r["category"] == d.attrs["data-category"]]
    window = doc["window"]
    compared = (doc["options"]["since"] is not None and window is not None
                and window["previous_start"] < window["start"])  # ISO texts sort as times
    changes = root.find("div", id="changes")
    if not compared:  # no earlier window: no "new" table, a note instead
        assert not changes.find_all("table")
        assert "No earlier window" in changes.all_text()
    expected = {
        "recurring": [[r["buckets"], r["count"]] for r in doc["recurring"]],
        **({"changes": [[r["current"], r["previous"], r["earlier"]] for r in doc["changes"]]}
           if compared else {}),
        "mismatch": [[r["count"]] for r in doc["mismatch"]],
        "failure-rate": [[r["attempts"], r["ok"], r["failed"]] for r in doc["failure_rate"]],
    }
    for ident, want in expected.items():
        assert counts_of(root.find("div", id=ident).find("table")) == want, ident
    recovery = root.find("div", id="recovery").find("tbody").find_all("tr")
    assert [[float(td.attrs["data-count"]) for td in tr.find_all("td", data_count=True)]
            for tr in recovery] == [
        ([r["seconds"]] if r["seconds"] is not None else []) + [r["failures"]]
        for r in doc["recovery"]]
    points = {n.attrs["data-chart"]: json.loads(n.attrs["data-points"])
              for n in root.find_all("div", data_chart=True)}
    # mismatch and rate draw grouped (by direction, by endpoint kind): same values, own order
    for name in ("mismatch", "rate"):
        points[name] = sorted(points[name])
    assert points == {
        "timeline": [r["count"] for r in doc["timeline"]],
        "share": list(failed.values()),
        "recurring": [r["buckets"] for r in doc["recurring"]],
        "mismatch": sorted(r["count"] for r in doc["mismatch"]),
        "rate": sorted(r["rate"] for r in doc["failure_rate"] if r["rate_known"]),
    }
