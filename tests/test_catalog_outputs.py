"""The lists made from the catalog (README table, emulator coverage, Tempo dashboard) are current."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from hgobs.diagnosis.catalog import CATALOG

REPO = Path(__file__).resolve().parents[1]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_catalog_outputs", REPO / "scripts" / "make_catalog_outputs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _script()


@pytest.fixture
def copy(tmp_path: Path, script: ModuleType) -> Path:
    """A copy of the generated files, laid out as in the repository."""
    for relative, _ in script.OUTPUTS:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / relative, tmp_path / relative)
    return tmp_path


def test_committed_outputs_are_made_from_the_catalog(script, capsys) -> None:
    """``make_catalog_outputs.py --check`` finds nothing stale in the repository."""
    status = script.main(["--check"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.strip() == f"{len(script.OUTPUTS)} catalog outputs, 0 stale"


def test_a_stale_output_is_named_with_its_diff(script, copy, capsys) -> None:
    """A hand-edited README row and dashboard option are reported, by file, as a diff; a run
    without ``--check`` rewrites both and the next check is clean."""
    readme = copy / "README.md"
    row = next(line for line in readme.read_text("utf-8").splitlines()
               if line.startswith("| `clock_skew` |"))
    readme.write_text(readme.read_text("utf-8").replace(row + "\n", ""), "utf-8")
    tempo = copy / "dashboards" / "hgobs-tempo.json"
    dashboard = json.loads(tempo.read_text("utf-8"))
    (variable,) = [v for v in dashboard["templating"]["list"] if v["name"] == "category"]
    variable["options"] = variable["options"][1:]
    tempo.write_text(json.dumps(dashboard, indent=2) + "\n", "utf-8")

    assert script.main(["--check", "--root", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "README.md is stale" in out
    assert "dashboards/hgobs-tempo.json is stale" in out
    assert "+" + row in out.splitlines()
    assert out.strip().endswith("2 stale")

    assert script.main(["--root", str(copy)]) == 0
    assert script.main(["--check", "--root", str(copy)]) == 0
    assert readme.read_text("utf-8") == (REPO / "README.md").read_text("utf-8")
    assert tempo.read_text("utf-8") == (REPO / "dashboards/hgobs-tempo.json").read_text("utf-8")


def test_tempo_variable_lists_every_failure_id_and_keeps_its_default(script) -> None:
    """The category variable's query and options are the catalog ids in fix order; a default
    that is no longer a catalog id falls back to the first one."""
    text = (REPO / "dashboards" / "hgobs-tempo.json").read_text("utf-8")
    ids = [c.id for c in CATALOG]
    made = json.loads(script.tempo_dashboard(text))
    (variable,) = [v for v in made["templating"]["list"] if v["name"] == "category"]
    assert variable["query"].split(",") == ids
    assert [o["value"] for o in variable["options"]] == ids
    assert [o["value"] for o in variable["options"] if o["selected"]] == ["environment_mismatch"]
    gone = text.replace('"value": "environment_mismatch"', '"value": "no_such_category"')
    (variable,) = [v for v in json.loads(script.tempo_dashboard(gone))["templating"]["list"]
                   if v["name"] == "category"]
    assert variable["current"]["value"] == ids[0]


def test_missing_markers_are_an_error(script, copy, capsys) -> None:
    """A README without the catalog markers stops the run with exit 2 and names the file."""
    readme = copy / "README.md"
    readme.write_text(readme.read_text("utf-8").replace(script.CATALOG_END, ""), "utf-8")
    assert script.main(["--check", "--root", str(copy)]) == 2
    assert capsys.readouterr().err.startswith("README.md: the README needs")


def test_a_new_category_needs_no_scenario(script, monkeypatch) -> None:
    """A catalog entry that no scenario declares is listed as not emulated in the README table
    and offered by the Tempo dashboard, with nothing else edited."""
    new = dataclasses.replace(CATALOG[0], id="token_endpoint_unavailable",
                              title="Token endpoint unavailable")
    monkeypatch.setattr(script, "CATALOG", (*CATALOG[:-1], new, CATALOG[-1]))
    rows = script.catalog_table().splitlines()
    assert rows[-2] == "| `token_endpoint_unavailable` | Token endpoint unavailable | not emulated |"
    assert rows[-1].startswith("| `unclassified` | Other failure | `unclassified_")
    text = (REPO / "dashboards" / "hgobs-tempo.json").read_text("utf-8")
    (variable,) = [v for v in json.loads(script.tempo_dashboard(text))["templating"]["list"]
                   if v["name"] == "category"]
    assert variable["query"].split(",")[-2:] == ["token_endpoint_unavailable", "unclassified"]
