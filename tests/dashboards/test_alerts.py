"""The alerting rules (dashboards/alerts.yml): valid, unit-tested by promtool, over the real series.

``promtool check rules`` and ``promtool test rules tests/dashboards/alerts_test.yml`` run here
(promtool comes with Debian's ``prometheus`` package, which CI installs); a missing promtool is
a failure, not a skip. The selectors are checked against docs/metrics.md and against the
series capture exported to the live Prometheus of the dashboard tests (``conftest.live``), and
the environment-mismatch alert and the failure-share recording rules, with their window set to
the measured pass, must count what the JSON Lines records of that pass say.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hgobs.diagnosis.catalog import CATEGORIES, OK
from tests.dashboards.expected import as_result, counts, exchanges, key
from tests.dashboards.grafana import DASHBOARDS
from tests.dashboards.prom import JOB

REPO = DASHBOARDS.parent
RULES = DASHBOARDS / "alerts.yml"
UNIT_TESTS = Path(__file__).with_name("alerts_test.yml")
README = DASHBOARDS / "README.md"
METRICS_DOC = REPO / "docs" / "metrics.md"
PROMTOOL_TIMEOUT_S = 120
SEVERITIES = {"critical", "warning"}
ANNOTATIONS = {"summary", "description", "runbook_url"}
# Labels an alert may group by: bounded values only (docs/metrics.md, "Labels").
GROUPING_LABELS = {"job", "instance", "hgobs_profile", "hgobs_environment", "hgobs_endpoint_kind",
                   "hgobs_category", "hgobs_outcome"}
_SELECTOR = re.compile(r"(?<![\w:])(hgobs_[a-z_]+)(\{[^{}]*\})?")
_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
_RECORDED = re.compile(r"\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b")
_GROUPING = re.compile(r"\b(?:by|on)\s*\(([^()]*)\)")


def _promtool() -> str:
    for candidate in (os.environ.get("PROMTOOL_BIN"), shutil.which("promtool")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("promtool is not installed: it comes with Debian's prometheus package "
                "(apt-get install -y prometheus), or set PROMTOOL_BIN")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_promtool(), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=PROMTOOL_TIMEOUT_S, check=False)


def _rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text("utf-8"))["groups"]
            for rule in group["rules"]]


def _alerts() -> list[dict[str, Any]]:
    return [rule for rule in _rules() if "alert" in rule]


def _selectors() -> set[str]:
    """Every ``hgobs_*`` series selector of the rules, matchers as written (``name{...}``)."""
    return {name + (matchers or "") for rule in _rules()
            for name, matchers in _SELECTOR.findall(_GROUPING.sub("", rule["expr"]))}


def _documented_series() -> set[str]:
    """The Prometheus series names in the table of docs/metrics.md (its third column)."""
    names: set[str] = set()
    for line in METRICS_DOC.read_text("utf-8").splitlines():
        if line.startswith("| `hgobs."):
            names |= set(re.findall(r"hgobs_[a-z_]+", line.split("|")[3]))
    return names


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of ``markdown``."""
    out = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def test_promtool_checks_the_rules():
    """promtool accepts the rule file and finds every rule in it."""
    done = _run("check", "rules", str(RULES.relative_to(REPO)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in done.stdout


def test_promtool_unit_tests_pass():
    """promtool runs the unit tests of alerts_test.yml against the rules and all pass."""
    done = _run("test", "rules", str(UNIT_TESTS.relative_to(REPO)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_rule_is_unit_tested_both_ways():
    """Each alert (per severity) has a firing case with all annotations and a case that must not fire; each recording rule is evaluated."""
    tests = yaml.safe_load(UNIT_TESTS.read_text("utf-8"))["tests"]
    cases = [case for t in tests for case in t.get("alert_rule_test", [])]
    fired = {(case["alertname"], alert["exp_labels"]["severity"])
             for case in cases for alert in case["exp_alerts"]}
    assert fired == {(a["alert"], a["labels"]["severity"]) for a in _alerts()}
    silent = {case["alertname"] for case in cases if not case["exp_alerts"]}
    assert silent == {a["alert"] for a in _alerts()}
    for case in cases:
        for alert in case["exp_alerts"]:
            assert set(alert["exp_annotations"]) == ANNOTATIONS, case["alertname"]
    evaluated = {name for t in tests for case in t.get("promql_expr_test", [])
                 for name in _RECORDED.findall(case["expr"])}
    assert evaluated == {r["record"] for r in _rules() if "record" in r}


def test_alerts_carry_severity_annotations_and_a_runbook_that_exists():
    """Each alert has a severity, summary, description and a runbook_url naming a heading of dashboards/README.md."""
    anchors = _anchors(README.read_text("utf-8"))
    for alert in _alerts():
        assert set(alert["labels"]) == {"severity"}, alert["alert"]
        assert alert["labels"]["severity"] in SEVERITIES
        assert set(alert["annotations"]) == ANNOTATIONS, alert["alert"]
        page, _, anchor = alert["annotations"]["runbook_url"].partition("#")
        assert page == "dashboards/README.md" and anchor == alert["alert"].lower()
        assert anchor in anchors, anchor


def test_rules_group_by_bounded_labels_and_use_recorded_series_they_define():
    """by/on lists name only bounded labels; every recorded series used is recorded earlier in the file."""
    recorded: set[str] = set()
    for rule in _rules():
        for labels in _GROUPING.findall(rule["expr"]):
            assert {x.strip() for x in labels.split(",")} <= GROUPING_LABELS, rule["expr"]
        assert set(_RECORDED.findall(rule["expr"])) <= recorded, rule["expr"]
        if "record" in rule:
            recorded.add(rule["record"])


def test_selectors_name_documented_series_and_catalog_ids():
    """Every series the rules select is in docs/metrics.md; every category matcher is a catalog id."""
    documented = _documented_series()
    assert {"hgobs_attempts_total", "hgobs_records_dropped_total"} <= documented
    categories = set()
    for selector in _selectors():
        assert selector.partition("{")[0] in documented, selector
        for label, _op, value in _MATCHER.findall(selector):
            assert label in GROUPING_LABELS, selector
            if label == "hgobs_category":
                categories.add(value)
    assert categories and categories <= set(CATEGORIES) | {OK}
    assert {"environment_mismatch", "expired_assertion", "network_failure",
            "rate_limited"} <= categories


def _window_ms(live, prometheus) -> int:
    # Prometheus 3 ranges are open on the left: one more millisecond keeps the first scrape.
    major = int(re.match(r"\d+", prometheus.version()).group())
    return live.window_ms + (1 if major >= 3 else 0)


def test_selectors_match_series_capture_exported(live, prometheus):
    """Each selector of the rules matches series in the Prometheus that scraped the instrumented scenarios."""
    for selector in sorted(_selectors()):
        result = prometheus.query(f"count({selector})", live.end)["result"]
        assert result and float(result[0]["value"][1]) > 0, selector


def _with_window(expr: str, window_ms: int) -> str:
    return re.sub(r"\[\d+m\]", f"[{window_ms}ms]", expr)


def test_environment_mismatch_alert_counts_the_mismatches_captured(live, prometheus):
    """Both environment-mismatch rules, over the measured pass, return the mismatch records per environment and endpoint kind."""
    window_ms = _window_ms(live, prometheus)
    got: dict = {}
    for alert in _alerts():
        if alert["alert"] == "HgobsEnvironmentMismatch":
            got.update(as_result(prometheus.query(_with_window(alert["expr"], window_ms), live.end)))
    mismatches = [r for r in live.records if r.get("category") == "environment_mismatch"]
    want = {k | key(job=JOB): v
            for k, v in counts(mismatches, "profile", "environment", "endpoint.kind").items()}
    assert want
    assert got == pytest.approx(want)


def test_failure_share_rules_match_the_records(live, prometheus):
    """The 15-minute recording rules, over the measured pass, give the token exchanges and the failed share the records show."""
    window_ms = _window_ms(live, prometheus)
    rules = {r["record"]: r["expr"] for r in _rules() if "record" in r}
    tx = exchanges(live.records)
    want_count = {k | key(job=JOB): v for k, v in counts(tx, "profile", "environment").items()}
    failed = counts([r for r in tx if r.get("outcome") == "failed"], "profile", "environment")
    want_share = {k | key(job=JOB): failed.get(k, 0.0) / n
                  for k, n in counts(tx, "profile", "environment").items()}
    got_count = as_result(prometheus.query(_with_window(
        rules["job_profile_env:hgobs_token_exchanges:increase15m"], window_ms), live.end))
    got_share = as_result(prometheus.query(_with_window(
        rules["job_profile_env:hgobs_token_exchange_failures:ratio15m"], window_ms), live.end))
    # Environments no exchange went to stay at 0 (their share is 0/0).
    assert {k: v for k, v in got_count.items() if v} == pytest.approx(want_count, rel=5e-3)
    assert {k: v for k, v in got_share.items() if not math.isnan(v)} == pytest.approx(
        want_share, rel=5e-3)
    assert any(0 < v < 1 for v in want_share.values())
