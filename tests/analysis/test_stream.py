"""Streaming analysis: judge order, and a report from bounded state that equals the report of
the whole input held in a frame."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.generate import Spec, records
from hgobs.analysis import trends
from hgobs.analysis.classify import Classified, judge
from hgobs.analysis.state import ReportState
from hgobs.profiles import load_profile
from hgobs.readers.base import Item
from hgobs.reports import render
from hgobs.reports.json_report import document
from tests.analysis import oracles
from tests.analysis.records import DAY, T0
from tests.reports.sample import sample_result
from tests.support.whole import build_report

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "attempts.jsonl"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
PROFILE = load_profile()


def _items(recs: list[dict]) -> list[Item]:
    return [Item(f"in.jsonl:{i + 1}", record=dict(r)) for i, r in enumerate(recs)]


def _generated(n: int, jitter_s: float = 2.0) -> list[dict]:
    return list(records(Spec(n, days=0.5, jitter_s=jitter_s)))


def _streamed_report(items, **options) -> dict:
    state = ReportState(**options)
    for judged in judge(items, PROFILE):
        state.add(judged)
    return document(state.report(NOW))


def test_judge_yields_in_the_order_given_and_skips_in_place():
    """judge keeps the order it is given (putting records in time order is the readers' job);
    a skipped item comes out where it went in."""
    recs = [dict(r, time=t) for r, t in zip(_generated(5), (50.0, 10.0, 40.0, 20.0, 30.0),
                                             strict=True)]
    items = _items(recs)
    items.insert(2, Item("in.jsonl:x", reason="not JSON"))
    out = list(judge(items, PROFILE))
    assert [getattr(j, "reason", None) or j.record["time"] for j in out] == \
        [50.0, 10.0, "not JSON", 40.0, 20.0, 30.0]
    assert all(isinstance(j, Classified) for j in out[:2])


@pytest.mark.parametrize(("since", "until"), [
    (None, None), (T0 + DAY, None), (None, T0 + 2 * DAY), (T0 + DAY + 3600, T0 + 2 * DAY),
    (T0 + 1.5 * DAY, None), (T0 + 10 * DAY, None)],
    ids=["all", "since", "until", "both", "since-mid-bucket", "since-after-all"])
@pytest.mark.parametrize("bucket", ["1D", "1h", "7h"])
def test_report_tables_equal_the_frame_functions(since, until, bucket):
    """Every table of a report (from the cube and reducers) equals the trend function of the
    detail frame of the same records, for any window and bucket."""
    def ts(s):
        return None if s is None else pd.Timestamp(s, unit="s", tz="UTC").to_pydatetime()
    result = sample_result()
    report = build_report(result, bucket=bucket, since=ts(since), until=ts(until), now=NOW)
    everything = oracles.detail_frame(result.classified)
    width = trends.bucket_width(bucket)
    window = trends.window_bounds(everything["time"], width, report.since, report.until)
    assert report.window == window
    current = oracles.in_window(everything, window.start, window.end)
    pd.testing.assert_frame_equal(report.changes, oracles.changes(everything, window),
                                  check_dtype=False)
    pd.testing.assert_frame_equal(report.counts, oracles.counts(current, width), check_dtype=False)
    pd.testing.assert_frame_equal(report.recovery, oracles.recovery(current), check_dtype=False)
    pd.testing.assert_frame_equal(report.records, oracles.drilldown(current), check_dtype=False)
    pd.testing.assert_frame_equal(report.mismatch, oracles.mismatch_directions(current),
                                  check_dtype=False)


def test_samples_are_bounded_and_said_to_be_samples():
    """With 2 kept per end, the records and recovery tables are samples, and every format
    says so; the counts stay whole."""
    recs = _generated(4000)
    state = ReportState(sample_size=2, skipped_sample=1)
    for item in [Item("x:1", reason="not JSON"), Item("x:2", reason="not JSON")]:
        state.add(item)
    for judged in judge(_items(recs), PROFILE):
        state.add(judged)
    report = state.report(NOW)
    failed = report.totals["failed"]
    assert report.records.groupby("category").size().max() <= 4
    assert report.samples["records"] == {"kept": len(report.records), "total": failed,
                                         "per_group": 2}
    assert report.samples["skipped"]["total"] == 2 and len(report.skipped) == 1
    assert report.counts["count"].sum() == report.totals["attempts"] == len(recs)
    assert document(report)["samples"]["records"]["total"] == failed
    assert "Sample: " in render(report, "text") and "Sample: " in render(report, "markdown")
    assert "Skipped 2 input lines:" in render(report, "text")


def test_state_does_not_grow_with_the_records():
    """Ten times the records over the same span and keys: the same number of cube cells and at
    most the sample kept."""
    sizes = []
    for n in (4000, 20000):
        state = ReportState(sample_size=5)
        recs = list(records(Spec(n, days=2.0, clients=2, services=1, seed=3)))
        random.Random(1).shuffle(recs[:50])
        for judged in judge(_items(recs), PROFILE):
            state.add(judged)
        sizes.append((len(state.cube()), state.drill.kept <= 10 * len(state.drill.counts)))
    assert sizes[1][1] and sizes[0][1]
    assert sizes[1][0] <= sizes[0][0] + 5
