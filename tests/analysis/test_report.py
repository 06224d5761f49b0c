"""build_report: options, since/until filtering, totals that reconcile, nothing extra kept."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from hgobs.analysis.tables import REPORT_SCHEMA, Report
from hgobs.errors import ConfigError
from tests.analysis.records import CLIENT_B, DAY, HOUR, T0, rec, result
from tests.support.whole import build_report

NOW = datetime(2024, 3, 10, tzinfo=timezone.utc)
DAY1 = datetime(2024, 3, 5)  # naive: taken as UTC (T0 + 1 day)
DAY2 = datetime(2024, 3, 6, tzinfo=timezone.utc)


def _three_days():
    return result(rec(0), rec(60, "ok"), rec(DAY), rec(DAY + 30, "rate_limited", kind="api_call"),
                  rec(2 * DAY, "clock_skew", client=CLIENT_B), rec(2 * DAY + 5, "ok"),
                  skipped=(("in.jsonl:7", "not JSON"),))


def test_totals_count_the_input_and_the_window():
    """read = classified + skipped; ok/failed/kinds count the records in the window."""
    report = build_report(_three_days(), now=NOW)
    assert dict(report.totals) == {"read": 7, "classified": 6, "skipped": 1, "attempts": 6,
                                   "ok": 2, "failed": 4, "token_exchange": 5, "api_call": 1}
    assert report.skipped.to_dict("records") == [{"source": "in.jsonl:7", "reason": "not JSON"}]
    assert report.schema == REPORT_SCHEMA == "hgobs.report/1"
    assert report.generated_at == pd.Timestamp(NOW)


def test_since_and_until_keep_records_by_their_time():
    """since is inclusive, until exclusive; a naive datetime is UTC."""
    report = build_report(_three_days(), since=DAY1, until=DAY2, now=NOW)
    assert report.totals["attempts"] == 2 and report.totals["failed"] == 2
    assert report.totals["classified"] == 6  # the input is still counted whole
    assert report.records["category"].tolist() == ["expired_assertion", "rate_limited"]
    assert report.since == pd.Timestamp(T0 + DAY, unit="s", tz="UTC")
    assert (report.window.start, report.window.end) == (report.since, report.until)


def test_since_in_another_time_zone_is_converted_to_utc():
    """01:00+01:00 on day 1 is 00:00 UTC: the day-1 records are in."""
    tz = timezone(timedelta(hours=1))
    report = build_report(_three_days(), since=datetime(2024, 3, 5, 1, tzinfo=tz), now=NOW)
    assert report.totals["attempts"] == 4


def test_changes_compare_with_the_window_before_since():
    """Window day 2 against day 1: clock_skew is new; expired and rate_limited resolved."""
    report = build_report(_three_days(), since=DAY2, until=DAY2 + timedelta(days=1), now=NOW)
    assert [(r.category, r.status) for r in report.changes.itertuples()] == [
        ("clock_skew", "new"), ("expired_assertion", "resolved"), ("rate_limited", "resolved")]


def test_without_since_the_window_is_the_input_span_in_whole_buckets():
    """Records from day 0 to day 2 with 1D buckets: window days 0-2, previous days -3..0."""
    report = build_report(_three_days(), now=NOW)
    w = report.window
    assert w.start == pd.Timestamp(T0, unit="s", tz="UTC")
    assert w.end - w.start == pd.Timedelta(days=3) == w.start - w.previous_start
    assert set(report.changes["status"]) == {"new"}


@pytest.mark.parametrize(("kwargs", "option"), [
    ({"bucket": "fortnight"}, "bucket"), ({"bucket": "1ME"}, "bucket"),
    ({"since": DAY2, "until": DAY1}, "since"), ({"recurring_min_buckets": 0},
                                                "recurring_min_buckets"),
], ids=["unknown-bucket", "calendar-bucket", "since-after-until", "recurring-zero"])
def test_bad_options_raise_config_error(kwargs, option):
    """Bad bucket, since not before until, or recurring below 1: ConfigError naming it."""
    with pytest.raises(ConfigError) as info:
        build_report(_three_days(), **kwargs)
    assert info.value.option == option


def test_tables_reconcile_with_the_totals():
    """Counts add up to attempts; timeline, categories and drill-down to failures."""
    report = build_report(_three_days(), bucket="1h", now=NOW)
    t = report.totals
    assert report.counts["count"].sum() == t["attempts"]
    assert report.timeline["count"].sum() == t["failed"] == report.categories["count"].sum()
    assert len(report.records) == t["failed"]
    assert report.failure_rate["attempts"].sum() == t["attempts"]
    for table in report.breakdown.values():
        assert table["attempts"].sum() == t["attempts"]
    assert report.bucket_seconds == HOUR


def test_empty_input_gives_an_empty_report():
    """No records at all: no window, zero totals, empty tables."""
    report = build_report(result(), now=NOW)
    assert report.window is None and report.totals["attempts"] == 0
    assert report.categories.empty and report.changes.empty and report.records.empty


def test_report_is_frozen():
    """A Report cannot be changed after it is built."""
    report = build_report(_three_days(), now=NOW)
    assert isinstance(report, Report)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.bucket = "1h"  # type: ignore[misc]
    with pytest.raises(TypeError):
        report.totals["ok"] = 0  # type: ignore[index]


def test_only_the_needed_fields_are_passed_through():
    """Fields a report does not show never reach it, whatever they hold."""
    leaky = rec(0, **{"response.error_description": "SECRET-DESCRIPTION",
                      "assertion.iss_fp": "SECRET-FP", "url": "https://x.test/SECRET-PATH"})
    report = build_report(result(leaky), now=NOW)
    for table in [report.records, report.counts, report.categories, *report.breakdown.values()]:
        assert "SECRET" not in table.to_string()
