"""Grafana provisioning files: a file provider for the dashboards folder and example data sources."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.dashboards.grafana import DASHBOARDS, PROMETHEUS, TEMPO, load, variables

PROVISIONING = DASHBOARDS / "provisioning"


def test_dashboard_provider_reads_a_folder():
    """The dashboards provider is a file provider that reads one folder into the hgobs folder."""
    config = yaml.safe_load((PROVISIONING / "dashboards" / "hgobs.yaml").read_text("utf-8"))
    assert config["apiVersion"] == 1
    (provider,) = config["providers"]
    assert provider["type"] == "file" and provider["folder"] == "hgobs"
    assert Path(provider["options"]["path"]).is_absolute()


def test_example_data_sources_match_the_dashboards():
    """The example data sources have the types the dashboards' datasource variables ask for, and placeholder addresses."""
    config = yaml.safe_load((PROVISIONING / "datasources" / "hgobs.example.yaml").read_text("utf-8"))
    assert config["apiVersion"] == 1
    types = {d["type"] for d in config["datasources"]}
    wanted = {variables(load(p))["datasource"]["query"] for p in (PROMETHEUS, TEMPO)}
    assert types == wanted
    for source in config["datasources"]:
        assert re.fullmatch(r"\$\{[A-Z_]+\}", source["url"]), source["url"]
        assert "secureJsonData" not in source and "basicAuthPassword" not in source


def test_every_dashboard_file_is_provisioned():
    """The folder holds exactly the two dashboards, each with a stable uid and the hgobs tag."""
    files = sorted(p.name for p in DASHBOARDS.glob("*.json"))
    assert files == ["hgobs-prometheus.json", "hgobs-tempo.json"]
    for path in DASHBOARDS.glob("*.json"):
        dashboard = load(path)
        assert dashboard["uid"] == path.stem
        assert "hgobs" in dashboard["tags"]
