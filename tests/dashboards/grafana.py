"""Reading the dashboards as Grafana does: panels (rows flattened), targets, variable interpolation."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
PROMETHEUS = DASHBOARDS / "hgobs-prometheus.json"
TEMPO = DASHBOARDS / "hgobs-tempo.json"
BUILTINS = frozenset({"__range", "__rate_interval", "__interval", "__range_s", "__range_ms",
                      "__interval_ms", "__from", "__to", "__all", "__auto"})
_VARIABLE = re.compile(r"\$\{(\w+)(?::[\w]+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def load(path: Path) -> dict[str, Any]:
    """The dashboard JSON at ``path``."""
    return json.loads(path.read_text("utf-8"))


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, and the panels nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def targets(dashboard: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(panel, target)`` for every query of every panel."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel, target


def variables(dashboard: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The template variables by name."""
    return {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}


def referenced(text: str) -> set[str]:
    """Names of the variables ``text`` refers to (``$x``, ``${x}``, ``${x:fmt}``, ``[[x]]``)."""
    return {next(g for g in m.groups() if g) for m in _VARIABLE.finditer(text)}


def interpolate(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every variable replaced by ``values[name]``; KeyError for a missing one."""
    return _VARIABLE.sub(lambda m: values[next(g for g in m.groups() if g)], text)
