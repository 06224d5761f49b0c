"""Reliability tests: record what each test tried and how it ended, for ``scripts/reliability.py``.

When ``HGOBS_RELIABILITY_OUT`` names a file, the session writes there, as JSON: the hypothesis
profile, the counts of ``tests.reliability.tally`` per promise, and one entry per test of this
folder (node id, promise, outcome, seconds, the first docstring line, the xfail reason).
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

_HERE = Path(__file__).resolve().parent
_RESULTS: dict[str, dict[str, Any]] = {}
_STARTED = time.time()


def _mine(item: pytest.Item) -> bool:
    return Path(str(item.path)).resolve().parent == _HERE


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not _mine(item):
            continue
        func = getattr(item, "function", None)
        doc = inspect.getdoc(func) if func is not None else None
        marker = item.get_closest_marker("xfail")
        _RESULTS[item.nodeid] = {
            "promise": getattr(item.module, "PROMISE", "other"),
            "doc": (doc or "").splitlines()[0] if doc else "",
            "slow": item.get_closest_marker("slow") is not None,
            "xfail_reason": marker.kwargs.get("reason") if marker else None,
            "outcome": "not run", "seconds": 0.0,
        }


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _RESULTS.get(report.nodeid)
    if entry is None:
        return
    entry["seconds"] += report.duration
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if hasattr(report, "wasxfail"):
            entry["outcome"] = "xfailed" if report.skipped else "xpassed"
        else:
            entry["outcome"] = report.outcome
    elif report.when == "teardown" and report.failed:
        entry["outcome"] = "error"


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("HGOBS_RELIABILITY_OUT")
    if not out:
        return
    profile = getattr(settings, "_current_profile", None) or os.environ.get(
        "HGOBS_TEST_PROFILE", "ci")
    Path(out).write_text(json.dumps({
        "profile": profile,
        "max_examples": settings.default.max_examples,
        "seconds": round(time.time() - _STARTED, 1),
        "counts": tally.snapshot(),
        "tests": _RESULTS,
    }, indent=2, sort_keys=True))
