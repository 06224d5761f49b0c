"""Record times far from the epoch: the report is made without a crash;
a time out of range (``hgobs.schema.time_in_range``) counts as no time; what is worked out from the others
(buckets, windows, recovery) stays inside what pandas holds."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from hgobs.analysis.state import ReportState, has_time
from hgobs.analysis.trends import MAX_BUCKET, bucket_width
from hgobs.cli import cli
from hgobs.errors import ConfigError
from hgobs.schema import TIME_END_S

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "attempts.jsonl"
NS_LIMIT = 2**63 - 1
"""The furthest a pandas timestamp or duration reaches, in nanoseconds."""


def _report(path: Path, *options: str) -> dict:
    """The JSON report of ``hgobs analyze`` on ``path`` (``generated_at`` dropped)."""
    result = CliRunner().invoke(cli, ["analyze", "--format", "json", *options, str(path)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    doc.pop("generated_at")
    return doc


def _far_input(tmp_path: Path) -> tuple[Path, str]:
    """The samples, a failure and a success of one client at -4.5e9 s (1827), and a failure
    at each of -9.19e9 s and +9.19e9 s (just inside the bound that was once there), in time
    order."""
    lines = [json.loads(line) for line in SAMPLES.read_text().splitlines()]
    failed = next(r for r in lines if r["outcome"] == "failed"
                  and r["endpoint.kind"] == "token_exchange")
    ok = next(r for r in lines if r["outcome"] == "ok" and r["endpoint.kind"] == "token_exchange"
              and r.get("client.fp") == failed.get("client.fp"))
    far = [dict(failed, time=-4.5e9), dict(ok, time=-4.5e9 + 60.5),
           dict(failed, time=-9.19e9 + 0.5), dict(failed, time=9.19e9 - 0.5)]
    path = tmp_path / "far.jsonl"
    ordered = sorted(lines + far, key=lambda r: r["time"])  # the analyzer reads in time order
    path.write_text("".join(json.dumps(r) + "\n" for r in ordered))
    return path, failed["client.fp"]


@pytest.mark.parametrize("options", [(), ("--bucket", "366d"), ("--bucket", "1h"),
                                     ("--until", "2200-01-01T00:00:00Z"),
                                     ("--since", "1700-01-01T00:00:00Z")],
                         ids=["default", "year-bucket", "hour-bucket", "until-2200",
                              "since-1700"])
def test_times_far_from_the_epoch_are_skipped_by_the_readers(tmp_path, options):
    """Records of 1827 among those of 2025 and two at +-9.19e9 s: no crash; the readers skip
    the four (a time before 1970 or from 2100 on is out of range) and read the rest."""
    path, _ = _far_input(tmp_path)
    totals = _report(path, *options)["totals"]
    n = len(SAMPLES.read_text().splitlines())
    assert (totals["read"], totals["classified"], totals["skipped"]) == (n + 4, n, 4)


def test_since_and_until_centuries_apart_are_a_window():
    """since 1678, until 2262: a window of 584 years, no overflow; the previous one cut."""
    state = ReportState(since=datetime(1678, 1, 1, tzinfo=timezone.utc),
                        until=datetime(2262, 1, 1, tzinfo=timezone.utc))
    window = state.window()
    assert window is not None
    assert window.start == pd.Timestamp("1678-01-01", tz="UTC")
    assert window.end == pd.Timestamp("2262-01-01", tz="UTC")
    assert window.previous_start == pd.Timestamp("1677-09-22", tz="UTC")


def test_a_bucket_is_at_most_a_year():
    """366 days is a bucket; 367 days is a ConfigError on 'bucket'."""
    assert bucket_width("366d") == MAX_BUCKET == pd.Timedelta(days=366)
    with pytest.raises(ConfigError) as info:
        bucket_width("367d")
    assert info.value.option == "bucket"


def test_the_time_bound_keeps_spans_and_buckets_inside_pandas():
    """Two times in range are less than a Timedelta apart, and the bucket of one (up to a year
    long) starts and ends at a timestamp; the bound itself, NaN and negatives are no time."""
    bound_ns = int(TIME_END_S * 1e9)
    assert 2 * bound_ns < NS_LIMIT
    assert bound_ns + MAX_BUCKET.value < NS_LIMIT
    assert not any(has_time(t) for t in (TIME_END_S, -1.0, float("nan"), float("inf"), True))
    assert has_time(TIME_END_S - 1) and has_time(0) and has_time(0.0)
