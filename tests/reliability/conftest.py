"""Reliability tests: record what each test tried and how it ended, for ``scripts/reliability.py``.

When ``HGOBS_RELIABILITY_OUT`` names a file, the session writes there, as JSON: the hypothesis
profile, the counts of ``tests.reliability.tally`` per promise, and one entry per test that ran
(node id, module, the module's ``PROMISE``, outcome, seconds, the first docstring line).
"""

from __future__ import annotations

import inspect
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.reliability import tally

_META: dict[str, dict[str, Any]] = {}
_RESULTS: dict[str, dict[str, Any]] = {}
_STARTED = time.time()


class Recorder:
    """Registered with the plugin manager so that it sees every test's reports (a conftest's
    own runtest hooks only see the tests of its folder)."""

    @pytest.hookimpl
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            func = getattr(item, "function", None)
            doc = inspect.getdoc(func) if func is not None else None
            module = getattr(item, "module", None)
            _META[item.nodeid] = {
                "module": module.__name__ if module is not None else "",
                "promise": getattr(module, "PROMISE", "other"),
                "doc": " ".join((doc or "").split("\n\n")[0].split()),
                "slow": item.get_closest_marker("slow") is not None,
            }

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        meta = _META.get(report.nodeid)
        if meta is None:
            return
        entry = _RESULTS.setdefault(report.nodeid, {**meta, "outcome": "not run", "seconds": 0.0})
        entry["seconds"] += report.duration
        if report.when == "call" or (report.when == "setup" and not report.passed):
            entry["outcome"] = report.outcome
        elif report.when == "teardown" and report.failed:
            entry["outcome"] = "error"

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        out = os.environ.get("HGOBS_RELIABILITY_OUT")
        if not out:
            return
        Path(out).write_text(json.dumps({
            "profile": settings.get_current_profile_name(),
            "max_examples": settings.default.max_examples,
            "seconds": round(time.time() - _STARTED, 1),
            "counts": tally.snapshot(),
            "tests": _RESULTS,
        }, indent=2, sort_keys=True))


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("HGOBS_RELIABILITY_OUT") and not config.pluginmanager.has_plugin(
            "hgobs-reliability-recorder"):
        config.pluginmanager.register(Recorder(), "hgobs-reliability-recorder")
