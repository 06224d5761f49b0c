"""The HTML report in a real headless Chromium: charts render offline, numbers match the JSON.

Needs Debian's ``chromium`` (``apt-get install -y chromium``; ``HGOBS_TEST_CHROMIUM`` names
another binary). Without it the tests are skipped, unless ``CI`` is set: then they fail, so
CI can never pass without the browser. Set ``HGOBS_REPORT_SCREENSHOT=<file.png>`` to also save
a screenshot of the page for a look.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hgobs.reports import render
from tests.reports.dom import Node, parse
from tests.reports.html_checks import assert_numbers_match, embedded_document
from tests.reports.sample import sample_report

TIMEOUT_S = 120


def chromium() -> str:
    """The Chromium binary (``HGOBS_TEST_CHROMIUM`` names another one); skip (or fail under
    CI) when it is not installed."""
    wanted = os.environ.get("HGOBS_TEST_CHROMIUM")
    found = shutil.which(wanted) if wanted else (shutil.which("chromium") or next(
        (p for p in ("/usr/bin/chromium",) if Path(p).exists()), None))
    if found:
        return found
    message = "chromium is not installed (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the browser test")
    pytest.skip(message)


def run_chromium(binary: str, profile: Path, *args: str) -> str:
    """Run headless Chromium with no network and no background traffic; its stdout."""
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=10000", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[Node, dict]:
    """The report page as the browser left it after running its scripts, and the JSON."""
    binary = chromium()
    tmp = tmp_path_factory.mktemp("browser")
    report = sample_report()
    path = tmp / "report.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    dom = run_chromium(binary, tmp / "profile", "--dump-dom", path.as_uri())
    shot = os.environ.get("HGOBS_REPORT_SCREENSHOT")
    if shot:
        run_chromium(binary, tmp / "profile-shot", "--hide-scrollbars", "--window-size=1400,2400",
                     f"--screenshot={Path(shot).resolve()}", path.as_uri())
    return parse(dom), json.loads(render(report, "json"))


def _marks(panel: Node) -> list[Node]:
    """The plotted shapes of one chart: bars (``rect``) or line points (``circle``)."""
    return [n for n in panel.find_all(class_="mark") if n.tag in ("rect", "circle")]


def _size(mark: Node) -> float:
    """The drawn size of a mark: a bar's area, a point's radius."""
    if mark.tag == "rect":
        return float(mark.attrs["width"]) * float(mark.attrs["height"])
    return float(mark.attrs["r"])


@pytest.mark.parametrize("chart", ["timeline", "share", "recurring", "mismatch", "rate"])
def test_each_chart_is_drawn_with_one_mark_per_value(page, chart):
    """The browser kept an inline SVG with one visible shape per value in the chart's data,
    each with its hover title."""
    root, _ = page
    panel = root.find("div", data_chart=chart)
    assert panel.find_all("svg", class_="chart-svg"), f"{chart}: no SVG"
    marks = _marks(panel)
    points = json.loads(panel.attrs["data-points"])
    assert len(marks) == len(points) > 0
    assert all(_size(m) > 0 for m in marks)
    assert all(m.find("title").all_text() for m in marks)


def test_share_bars_are_labelled_with_the_failure_counts(page):
    """The category share bars carry the JSON report's failure counts and shares."""
    root, doc = page
    labels = [t.all_text()
              for t in root.find("div", data_chart="share").find_all("text", class_="bar-label")]
    assert labels == [f"{b['failed']} ({100 * b['share']:.1f}%)"
                      for b in doc["breakdown"]["category"] if b["failed"]]


def test_time_axis_labels_days_not_milliseconds(page):
    """Daily buckets get day ticks (``4 Mar`` ...), never times of day or fractions."""
    root, _ = page
    ticks = [t.all_text() for t in root.find("div", data_chart="timeline").find_all(
        "text", class_="tick")]
    assert "4 Mar" in ticks and "2024" in ticks
    assert not [t for t in ticks if ":" in t or "." in t]


def test_numbers_on_the_rendered_page_match_the_json_report(page):
    """Cards, tables and drill-down counts after rendering are the JSON report's numbers."""
    root, doc = page
    assert embedded_document(root) == doc
    assert_numbers_match(root, doc)


def test_drill_down_lists_each_records_evidence(page):
    """Opening a category shows its records' sources and evidence strings."""
    root, doc = page
    details = root.find("details", data_category="audience_mismatch")
    text = details.all_text()
    record = next(r for r in doc["records"] if r["category"] == "audience_mismatch")
    assert record["source"] in text
    assert all(e in text for e in record["evidence"])
