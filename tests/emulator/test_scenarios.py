"""The emulator scenarios, captured live: each is recorded as its catalog id; samples/ is current.

A scenario marked in ``KNOWN_BUGS`` is one hgobs records otherwise than the catalog says it
should; its test is ``xfail(strict=True)``, so fixing the bug turns it into a failure until the
mark is removed and the samples are regenerated (``python scripts/make_samples.py``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from hgobs.catalog import CATEGORIES, OK
from hgobs.emulator.scenarios import (
    ALL,
    ATTEMPTS_FILE,
    INDEX_FILE,
    SCENARIOS,
    ScenarioResult,
    load_results,
    markdown_table,
    run_all,
    table_in,
)
from hgobs.emulator.scenarios.kit import REGISTRATIONS, WRONG_SECRET

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SEED = 0
KNOWN_BUGS: dict[str, str] = {}


def _scenario_params() -> list[Any]:
    params = []
    for name in SCENARIOS:
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name])] if name in KNOWN_BUGS \
            else []
        params.append(pytest.param(name, marks=marks, id=name))
    return params


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

@pytest.mark.parametrize("name", _scenario_params())
def test_scenario_is_recorded_as_its_category(fresh: dict[str, ScenarioResult], name: str) -> None:
    """The scenario's last record carries its expected category; every record before it is ok."""
    result = fresh[name]
    assert result.records, "no record was written"
    *setup, target = result.categories
    assert target == SCENARIOS[name]
    assert setup == [OK] * len(setup)


def test_every_category_but_silent_failure_has_a_scenario() -> None:
    """Scenarios cover the whole catalog except silent_failure, which the emulator cannot make."""
    covered = set(SCENARIOS.values())
    assert covered == (set(CATEGORIES) | {OK}) - {"silent_failure"}


def test_known_bugs_name_real_scenarios() -> None:
    """Every xfail reason belongs to a scenario that exists."""
    assert set(KNOWN_BUGS) <= set(SCENARIOS)


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
    assert table_in(readme) == markdown_table(list(committed.values()))
