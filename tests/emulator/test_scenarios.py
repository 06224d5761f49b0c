"""The emulator scenarios, captured live: each is recorded as its catalog id; samples/ is current.

When one is recorded otherwise, fix the diagnosis (or the scenario) and regenerate the samples
(``python scripts/make_samples.py``). The README's coverage table says which categories no
scenario produces (``python scripts/make_catalog_outputs.py`` makes it).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from hgobs.diagnosis.catalog import CATEGORIES, OK
from hgobs.emulator.scenarios import (
    ALL,
    ATTEMPTS_FILE,
    INDEX_FILE,
    NOT_EMULATED,
    SCENARIOS,
    ScenarioResult,
    load_results,
    markdown_table,
    run_all,
    with_table,
)
from hgobs.emulator.scenarios.kit import REGISTRATIONS, WRONG_SECRET

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
SEED = 0


def _shape(records: Iterable[dict[str, Any]]) -> Counter[tuple[Any, Any, Any]]:
    """The multiset of (category, endpoint.kind, environment) of ``records``."""
    return Counter((r.get("category"), r.get("endpoint.kind"), r.get("environment"))
                   for r in records)


@pytest.fixture(scope="module")
def fresh_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    run_all(out, seed=SEED)
    return out


@pytest.fixture(scope="module")
def fresh(fresh_dir: Path) -> dict[str, ScenarioResult]:
    return {r.name: r for r in load_results(fresh_dir)}


@pytest.fixture(scope="module")
def committed() -> dict[str, ScenarioResult]:
    return {r.name: r for r in load_results(SAMPLES)}


# --- the scenarios, live ---------------------------------------------------------------------

@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_is_recorded_as_its_category(fresh: dict[str, ScenarioResult], name: str) -> None:
    """The scenario's last record carries its expected category; every record before it is ok."""
    result = fresh[name]
    assert result.records, "no record was written"
    *setup, target = result.categories
    assert target == SCENARIOS[name]
    assert setup == [OK] * len(setup)


def test_readme_coverage_marks_every_category_without_a_scenario_not_emulated() -> None:
    """Each catalog row of the README names exactly the scenarios declaring that category, or
    says "not emulated" (with the ``NOT_EMULATED`` reason, when one is given)."""
    readme = (REPO / "README.md").read_text("utf-8")
    table = readme[readme.index("<!-- catalog:begin"):readme.index("<!-- catalog:end -->")]
    rows = {line.split("|")[1].strip().strip("`"): line.split("|")[3].strip()
            for line in table.splitlines() if line.startswith("| `")}
    assert list(rows) == list(CATEGORIES)
    for category, cell in rows.items():
        names = [name for name, produced in SCENARIOS.items() if produced == category]
        if names:
            assert cell == ", ".join(f"`{name}`" for name in names), category
        else:
            assert cell.startswith("not emulated"), category
            assert NOT_EMULATED.get(category, "") in cell, category
    assert OK in SCENARIOS.values()


def test_run_all_writes_the_index_and_the_records(fresh_dir: Path) -> None:
    """scenarios.json lists every scenario in table order, and its line ranges tile the file."""
    index = json.loads((fresh_dir / INDEX_FILE).read_text("utf-8"))
    lines = (fresh_dir / ATTEMPTS_FILE).read_text("utf-8").splitlines()
    entries = index["scenarios"]
    assert [e["name"] for e in entries] == [s.name for s in ALL]
    assert sum(e["records"] for e in entries) == len(lines)
    expected_first = 1
    for entry in entries:
        assert entry["first_line"] == expected_first
        expected_first += entry["records"]


def test_records_hold_no_secret_or_jwt(fresh_dir: Path) -> None:
    """No client secret and no JWT-shaped value appears anywhere in the capture output."""
    text = (fresh_dir / ATTEMPTS_FILE).read_text("utf-8")
    for secret in [r.client_secret for r in REGISTRATIONS] + [WRONG_SECRET]:
        assert secret not in text
    assert "eyJ" not in text


def test_run_all_rejects_unknown_names(tmp_path: Path) -> None:
    """Asking for a scenario that does not exist raises KeyError before anything runs."""
    with pytest.raises(KeyError, match="no_such_scenario"):
        run_all(tmp_path, names=["no_such_scenario"])
    assert not (tmp_path / ATTEMPTS_FILE).exists()


# --- the committed samples are current -------------------------------------------------------

def test_committed_samples_have_the_same_records_as_a_fresh_run(
    fresh: dict[str, ScenarioResult], committed: dict[str, ScenarioResult]
) -> None:
    """The multiset of (category, endpoint.kind, environment) equals a fresh run's."""
    mine = [r for result in fresh.values() for r in result.records]
    theirs = [r for result in committed.values() for r in result.records]
    assert _shape(theirs) == _shape(mine)


def test_committed_samples_match_per_scenario(
    fresh: dict[str, ScenarioResult], committed: dict[str, ScenarioResult]
) -> None:
    """Each scenario has the same expected id and the same record categories as a fresh run."""
    assert list(committed) == list(SCENARIOS)
    for name, result in committed.items():
        assert result.expected == SCENARIOS[name], name
        assert result.categories == fresh[name].categories, name


def test_committed_samples_reproduce_times_and_trace_ids(
    fresh: dict[str, ScenarioResult], committed: dict[str, ScenarioResult]
) -> None:
    """Record times come from the fixed clocks and span ids from the seed: both reproduce."""
    def facts(results: dict[str, ScenarioResult]) -> list[tuple[Any, ...]]:
        return [(r.get("time"), r.get("server.date"), r.get("trace_id"), r.get("span_id"))
                for result in results.values() for r in result.records]

    assert facts(committed) == facts(fresh)


def test_readme_table_is_current(committed: dict[str, ScenarioResult]) -> None:
    """The README's scenario table is the one rendered from the committed samples."""
    readme = (SAMPLES / "README.md").read_text("utf-8")
    assert with_table(readme, markdown_table(list(committed.values()))) == readme
