"""Named scenarios against the emulator, one per documented failure (and the successes).

``SCENARIOS`` maps each scenario name to the catalog id its attempts should be recorded as
(each ``Scenario`` in ``ALL`` declares it: the emulator's coverage of the catalog is collected
from them by ``scripts/make_catalog_outputs.py``; ``NOT_EMULATED`` says why a category has none);
``run_all(out_dir, seed=...)`` runs them all through an instrumented ``httpx.Client`` and writes
the capture output (``scripts/make_samples.py`` uses it to make ``samples/``). The scenario
functions live in ``exchange`` (token endpoint) and ``api`` (FHIR reads); ``kit`` holds the
fixed registrations, the settable clocks and the request helpers.
"""

from __future__ import annotations

from hgobs.emulator.scenarios.kit import ScenarioContext, ScenarioError, SettableClock
from hgobs.emulator.scenarios.runner import (
    ALL,
    ATTEMPTS_FILE,
    FINGERPRINT_KEY,
    INDEX_FILE,
    NOT_EMULATED,
    SCENARIOS,
    Scenario,
    ScenarioResult,
    load_results,
    markdown_table,
    run_all,
    with_table,
)

__all__ = [
    "ALL",
    "ATTEMPTS_FILE",
    "FINGERPRINT_KEY",
    "INDEX_FILE",
    "NOT_EMULATED",
    "SCENARIOS",
    "Scenario",
    "ScenarioContext",
    "ScenarioError",
    "ScenarioResult",
    "SettableClock",
    "load_results",
    "markdown_table",
    "run_all",
    "with_table",
]
