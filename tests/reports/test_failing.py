"""What is failing now (``hgobs.reports.failing``) and human durations (``durations``)."""

from __future__ import annotations

import pandas as pd
import pytest

from hgobs.diagnosis.catalog import CATEGORIES
from hgobs.reports.durations import human_duration
from hgobs.reports.failing import FailingNow, as_of, failing_now, fix_of, fixes_for
from tests.analysis.records import CLIENT_A, CLIENT_B, CLIENT_C, HOUR, T0, rec, result
from tests.reports.sample import NOW, sample_report
from tests.support.whole import build_report


def _at(seconds: float) -> pd.Timestamp:
    return pd.Timestamp(T0 + seconds, unit="s", tz="UTC")


def test_open_episodes_worst_first_with_every_category_and_the_first_fix():
    """A recovers (not failing); B fails three times in two categories and never recovers;
    C fails once, later. B comes first (more failures), its categories in catalog order."""
    report = build_report(result(
        rec(0), rec(60, "ok"),
        rec(HOUR, "rate_limited", client=CLIENT_B),
        rec(HOUR + 10, "expired_assertion", client=CLIENT_B),
        rec(HOUR + 20, "rate_limited", client=CLIENT_B),
        rec(2 * HOUR, "missing_access_token", client=CLIENT_C, kind="api_call"),
        rec(3 * HOUR, "ok", client=CLIENT_C, kind="api_call"),  # an API call closes nothing
    ), bucket="1h", now=NOW)
    got = failing_now(report)
    order = [c.id for c in CATEGORIES.values()]
    assert order.index("expired_assertion") < order.index("rate_limited")
    assert got == [
        FailingNow(client=CLIENT_B, categories=("expired_assertion", "rate_limited"),
                   since=_at(HOUR), failures=3, fix=CATEGORIES["expired_assertion"].fix,
                   seconds=HOUR),
        FailingNow(client=CLIENT_C, categories=("missing_access_token",), since=_at(2 * HOUR),
                   failures=1, fix=CATEGORIES["missing_access_token"].fix, seconds=0.0),
    ]
    assert as_of(report) == _at(2 * HOUR)
    assert report.recovery["category"].tolist() == [
        "expired_assertion", "rate_limited", "missing_access_token"]


def test_equal_failures_put_the_earlier_episode_first():
    report = build_report(result(
        rec(HOUR, client=CLIENT_B), rec(0, "rate_limited", client=CLIENT_C)), now=NOW)
    assert [f.client for f in failing_now(report)] == [CLIENT_C, CLIENT_B]
    assert [f.seconds for f in failing_now(report)] == [HOUR, 0.0]


def test_nothing_is_failing_when_every_episode_closed_or_there_are_none():
    assert failing_now(build_report(result(rec(0), rec(5, "ok")), now=NOW)) == []
    assert failing_now(build_report(result(rec(5, "ok")), now=NOW)) == []
    assert failing_now(build_report(result(), now=NOW)) == []
    assert as_of(build_report(result(rec(5, "ok")), now=NOW)) is None


def test_the_sample_report_has_two_clients_failing_now():
    got = failing_now(sample_report())
    assert [(f.client, f.categories, f.failures) for f in got] == [
        (CLIENT_B, ("environment_mismatch",), 2), (CLIENT_C, ("missing_access_token",), 1)]
    assert CLIENT_A not in {f.client for f in got}


def test_fixes_come_from_the_catalog_and_an_unknown_id_gets_the_unclassified_fix():
    assert fixes_for(["rate_limited", "clock_skew"]) == [
        ("rate_limited", CATEGORIES["rate_limited"].fix),
        ("clock_skew", CATEGORIES["clock_skew"].fix)]
    assert fix_of("no_such_category") == CATEGORIES["unclassified"].fix


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (0.9, "0 s"), (45, "45 s"), (60, "1 min"), (185, "3 min 5 s"),
    (3600, "1 h"), (2 * 3600 + 14 * 60 + 59, "2 h 14 min"), (3 * 86_400 + 4 * 3600, "3 d 4 h"),
    (86_400 + 59, "1 d"), (400 * 86_400, "400 d")])
def test_human_durations_use_the_two_largest_units(seconds, text):
    assert human_duration(seconds) == text


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "5", True])
def test_human_duration_refuses_what_is_not_a_length_of_time(bad):
    with pytest.raises(ValueError, match="seconds"):
        human_duration(bad)
