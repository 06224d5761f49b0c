"""A --since after every record read: the changes section says the window is empty rather than
asking for the --since that was given (text, Markdown and HTML alike)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from hgobs.reports import render
from hgobs.reports.text import NO_EARLIER_WINDOW, NOTHING_SINCE
from tests.reports.sample import NOW, sample_result
from tests.support.whole import build_report


def test_a_since_after_every_record_says_nothing_is_in_the_window():
    since = datetime(2030, 1, 1, tzinfo=timezone.utc)  # after every sample record
    report = build_report(sample_result(), since=since, now=NOW)
    doc = json.loads(render(report, "json"))
    assert doc["window"]["compared"] is False
    assert (doc["totals"]["read"], doc["totals"]["attempts"]) == (16, 0)
    text = render(report, "text", width=120)
    assert NOTHING_SINCE in text and NO_EARLIER_WINDOW not in text
    markdown = render(report, "markdown")
    assert f"_{NOTHING_SINCE.capitalize()}._" in markdown
    assert NO_EARLIER_WINDOW.capitalize() not in markdown
    html = render(report, "html")
    assert f"{NOTHING_SINCE.capitalize()}." in html
    assert NO_EARLIER_WINDOW.capitalize() not in html


def test_without_since_it_still_asks_for_one():
    report = build_report(sample_result(), now=NOW)
    assert NO_EARLIER_WINDOW in render(report, "text", width=120)
    assert NOTHING_SINCE not in render(report, "text", width=120)
