"""The dashboards are valid Grafana dashboards: schemas, data source variables, ids, layout."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from tests.dashboards.grafana import (
    BUILTINS,
    PROMETHEUS,
    TEMPO,
    load,
    panels,
    referenced,
    targets,
    variables,
)

SCHEMAS = Path(__file__).with_name("schema")
DASHBOARDS = {"prometheus": (PROMETHEUS, "prometheus"), "tempo": (TEMPO, "tempo")}
PANEL_SCHEMAS = {"timeseries", "stat", "table", "barchart", "piechart"}


@cache
def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.jsonschema.json").read_text("utf-8"))


def validator(name: str, definition: str | None = None) -> Draft7Validator:
    """A validator for schema ``name``, or for one of its definitions."""
    s = schema(name)
    if definition is not None:
        s = {"$ref": f"#/definitions/{definition}", "definitions": s["definitions"]}
    return Draft7Validator(s)


def errors(v: Draft7Validator, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(instance)]


def _panel_cases() -> list[Any]:
    cases = []
    for key, (path, _) in DASHBOARDS.items():
        for panel in panels(load(path)):
            if panel["type"] in PANEL_SCHEMAS:
                cases.append(pytest.param(key, panel, id=f"{key}-{panel['id']}-{panel['type']}"))
    return cases


@pytest.mark.parametrize("key", sorted(DASHBOARDS))
def test_dashboard_validates_against_grafana_schema(key):
    """The whole dashboard validates against Grafana's dashboard JSON schema."""
    path, _ = DASHBOARDS[key]
    assert errors(validator("dashboard"), load(path)) == []


@pytest.mark.parametrize(("key", "panel"), _panel_cases())
def test_panel_options_validate_against_plugin_schema(key, panel):
    """Each panel's options and custom field config validate against its plugin's schema."""
    assert errors(validator(panel["type"], "Options"), panel.get("options", {})) == []
    custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
    if custom is not None:
        assert errors(validator(panel["type"], "FieldConfig"), custom) == []


@pytest.mark.parametrize("key", sorted(DASHBOARDS))
def test_targets_validate_against_data_source_schema(key):
    """Every query validates against the query schema of the dashboard's data source."""
    path, kind = DASHBOARDS[key]
    found = [errors(validator(kind, "Dataquery"), target) for _, target in targets(load(path))]
    assert found and all(e == [] for e in found), found


@pytest.mark.parametrize("key", sorted(DASHBOARDS))
def test_data_source_is_a_template_variable(key):
    """A `datasource` variable picks the data source; panels and queries use ${datasource}, no uid is wired."""
    path, kind = DASHBOARDS[key]
    dashboard = load(path)
    ds = variables(dashboard)["datasource"]
    assert ds["type"] == "datasource" and ds["query"] == kind
    assert "__inputs" not in dashboard and "__requires" not in dashboard
    refs = [p["datasource"] for p in panels(dashboard) if p["type"] != "row"]
    refs += [t["datasource"] for _, t in targets(dashboard)]
    refs += [v["datasource"] for v in variables(dashboard).values() if "datasource" in v]
    assert refs and all(r == {"type": kind, "uid": "${datasource}"} for r in refs), refs
    builtin = [a["datasource"] for a in dashboard["annotations"]["list"]]
    assert all(r == {"type": "grafana", "uid": "-- Grafana --"} for r in builtin)


@pytest.mark.parametrize("key", sorted(DASHBOARDS))
def test_ids_are_unique_and_panels_do_not_overlap(key):
    """Panel ids are unique, refIds are unique per panel, and no two panels share a grid cell."""
    path, _ = DASHBOARDS[key]
    all_panels = list(panels(load(path)))
    ids = [p["id"] for p in all_panels]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], int] = {}
    for p in all_panels:
        refs = [t["refId"] for t in p.get("targets", [])]
        assert len(refs) == len(set(refs)), p["title"]
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps panel {cells[(x, y)]}"
                cells[(x, y)] = p["id"]


@pytest.mark.parametrize("key", sorted(DASHBOARDS))
def test_every_variable_used_is_defined(key):
    """Every $variable in queries, titles and variable queries is a dashboard variable or a Grafana built-in."""
    path, _ = DASHBOARDS[key]
    dashboard = load(path)
    defined = set(variables(dashboard)) | BUILTINS
    texts = [p.get("title", "") for p in panels(dashboard)]
    texts += [t.get("expr", t.get("query", "")) for _, t in targets(dashboard)]
    texts += [v["query"] for v in variables(dashboard).values()
              if isinstance(v.get("query"), str) and v["type"] == "query"]
    used = set().union(*(referenced(t) for t in texts))
    assert used - defined == set()
    assert used & set(variables(dashboard)) == set(variables(dashboard)) - {"datasource"}
