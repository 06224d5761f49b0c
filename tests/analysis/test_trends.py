"""The trend tables over small hand-made frames (through the frame oracles of
``tests.analysis.oracles``, which end in the package's ``*_of`` functions); every expected
value is worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from hgobs.analysis import trends
from hgobs.errors import ConfigError
from tests.analysis import oracles
from tests.analysis.records import CLIENT_A, CLIENT_B, CLIENT_C, DAY, HOUR, T0, frame, rec

H1 = pd.Timedelta(hours=1)
D1 = pd.Timedelta(days=1)


def at(seconds: float) -> pd.Timestamp:
    return pd.Timestamp(T0 + seconds, unit="s", tz="UTC")


@pytest.mark.parametrize(("alias", "seconds"), [("15min", 900), ("1h", 3600), ("1D", 86400),
                                                ("1d", 86400), ("90s", 90), (" 2h ", 7200)],
                         ids=["15min", "1h", "1D", "1d", "90s", "padded"])
def test_bucket_width_accepts_fixed_offset_aliases(alias, seconds):
    """A fixed-length offset alias gives its length."""
    assert trends.bucket_width(alias) == pd.Timedelta(seconds=seconds)


@pytest.mark.parametrize("alias", ["bogus", "1H", "1ME", "1W", "0h", "-1h", "", "  "],
                         ids=["unknown", "old-hour", "month", "week", "zero", "negative",
                              "empty", "blank"])
def test_bucket_width_rejects_bad_aliases_with_config_error(alias):
    """An alias that is unknown, calendar-based or not positive is a ConfigError on 'bucket'."""
    with pytest.raises(ConfigError) as info:
        trends.bucket_width(alias)
    assert info.value.option == "bucket"


def test_bucket_start_aligns_to_the_epoch():
    """22:13:20 falls in the 22:00 hour, the 22:00 quarter and the day starting 00:00."""
    times = pd.Series([pd.Timestamp("2023-11-14 22:13:20", tz="UTC")])
    assert trends.bucket_start(times, H1)[0] == pd.Timestamp("2023-11-14 22:00", tz="UTC")
    assert trends.bucket_start(times, pd.Timedelta(minutes=15))[0] == \
        pd.Timestamp("2023-11-14 22:00", tz="UTC")
    assert trends.bucket_start(times, D1)[0] == pd.Timestamp("2023-11-14", tz="UTC")


def test_counts_include_successes_and_split_every_dimension():
    """Same bucket and dimensions add up; another client or kind is its own row; ok counts."""
    df = frame(rec(0), rec(60), rec(120, client=CLIENT_B), rec(180, "ok"),
               rec(HOUR + 1, "rate_limited", kind="api_call"))
    out = oracles.counts(df, H1)
    assert list(out.columns) == ["bucket", "category", "environment", "service", "client",
                                 "endpoint_kind", "count"]
    got = {(r.bucket, r.category, r.client, r.endpoint_kind): r.count
           for r in out.itertuples()}
    assert got == {(at(0), "expired_assertion", CLIENT_A, "token_exchange"): 2,
                   (at(0), "expired_assertion", CLIENT_B, "token_exchange"): 1,
                   (at(0), "ok", CLIENT_A, "token_exchange"): 1,
                   (at(HOUR), "rate_limited", CLIENT_A, "api_call"): 1}


def test_breakdown_counts_attempts_ok_and_failed_per_value():
    """Two sandbox failures and one ok, one production failure: sorted by failures."""
    df = frame(rec(0), rec(1), rec(2, "ok"), rec(3, env="production"))
    out = oracles.breakdown(df, "environment")
    assert out.drop(columns="share").to_dict("records") == [
        {"value": "sandbox", "attempts": 3, "ok": 1, "failed": 2},
        {"value": "production", "attempts": 1, "ok": 0, "failed": 1}]
    assert out["share"].tolist() == [2 / 3, 1 / 3]


def test_breakdown_share_is_unknown_without_failures():
    """Only successes: no share of failures to speak of."""
    out = oracles.breakdown(frame(rec(0, "ok")), "category")
    assert out.loc[0, "failed"] == 0 and math.isnan(out.loc[0, "share"])


def test_timeline_counts_failures_per_bucket_in_fix_order():
    """Successes are left out; within a bucket categories follow the catalog order."""
    df = frame(rec(0, "rate_limited", kind="api_call"), rec(10), rec(20), rec(30, "ok"),
               rec(DAY, "rate_limited", kind="api_call"))
    out = oracles.timeline(df, D1)
    assert [(r.bucket, r.category, r.count) for r in out.itertuples()] == [
        (at(0), "expired_assertion", 2), (at(0), "rate_limited", 1),
        (at(DAY), "rate_limited", 1)]


def _recurring_history():
    # A: expired in days 0, 1, 2 (four records); B: mismatch in days 0 and 1; C: twice on day 0.
    return frame(rec(0), rec(DAY), rec(DAY + 5), rec(2 * DAY),
                 rec(10, "environment_mismatch", client=CLIENT_B),
                 rec(DAY + 10, "environment_mismatch", client=CLIENT_B),
                 rec(20, "rate_limited", client=CLIENT_C), rec(30, "rate_limited", client=CLIENT_C),
                 rec(40, "ok", client=CLIENT_C))


def test_recurring_with_two_buckets_lists_a_and_b():
    """N=2: A in 3 buckets (4 failures), B in 2; C's failures share one bucket."""
    out = oracles.recurring(_recurring_history(), D1, 2)
    assert [(r.client, r.category, r.buckets, r.count) for r in out.itertuples()] == [
        (CLIENT_A, "expired_assertion", 3, 4), (CLIENT_B, "environment_mismatch", 2, 2)]
    assert out.loc[0, "first_seen"] == at(0) and out.loc[0, "last_seen"] == at(2 * DAY)


def test_recurring_with_three_buckets_lists_only_a():
    """N=3: only A's expired assertions came back in three buckets."""
    out = oracles.recurring(_recurring_history(), D1, 3)
    assert [(r.client, r.buckets) for r in out.itertuples()] == [(CLIENT_A, 3)]


def test_recurring_depends_on_bucket_size():
    """With 1h buckets C's two failures 10 s apart are still one bucket; A's day-1 pair too."""
    out = oracles.recurring(_recurring_history(), H1, 2)
    assert [(r.client, r.buckets, r.count) for r in out.itertuples()] == [
        (CLIENT_A, 3, 4), (CLIENT_B, 2, 2)]


@pytest.mark.parametrize("n", [0, -1, True, 1.5], ids=["zero", "negative", "bool", "float"])
def test_recurring_rejects_a_bad_minimum(n):
    """recurring_min_buckets must be a whole number of at least 1."""
    with pytest.raises(ConfigError) as info:
        oracles.recurring(_recurring_history(), D1, n)
    assert info.value.option == "recurring_min_buckets"


def _history():
    """Current window days 10-11, previous days 8-9, earlier before day 8."""
    return frame(
        rec(10 * DAY + 1, "expired_assertion"), rec(11 * DAY, "expired_assertion"),  # new
        rec(9 * DAY, "clock_skew"), rec(10 * DAY + 5, "clock_skew"),  # steady: no status
        rec(8 * DAY, "rate_limited", kind="api_call"),  # resolved
        rec(2 * DAY, "invalid_signature"), rec(3 * DAY, "invalid_signature"),
        rec(10 * DAY + 9, "invalid_signature"),  # regressed
        rec(1 * DAY, "missing_claim"),  # only long ago: nothing
        rec(5 * DAY, "invalid_scope"), rec(9 * DAY + 1, "invalid_scope"),  # resolved, earlier 1
        rec(12 * DAY, "audience_mismatch"),  # after the window: ignored
        rec(10 * DAY + 20, "ok"),
    )


def test_changes_tells_new_regressed_and_resolved_apart():
    """new: only now; regressed: now and long ago; resolved: previous window only."""
    window = trends.Window(start=at(10 * DAY), end=at(12 * DAY), previous_start=at(8 * DAY))
    out = oracles.changes(_history(), window)
    assert [(r.category, r.status, r.current, r.previous, r.earlier)
            for r in out.itertuples()] == [
        ("expired_assertion", "new", 2, 0, 0),
        ("invalid_signature", "regressed", 1, 0, 2),
        ("invalid_scope", "resolved", 0, 1, 1),
        ("rate_limited", "resolved", 0, 1, 0),
    ]
    last = dict(zip(out["category"], out["last_seen_before"], strict=True))
    assert pd.isna(last["expired_assertion"])
    assert last["invalid_signature"] == at(3 * DAY)
    assert last["rate_limited"] == at(8 * DAY)


def test_window_bounds_from_the_input_span_and_from_since_until():
    """No bounds: bucket of the first record to the end of the last one's bucket."""
    times = frame(rec(HOUR + 5), rec(2 * DAY + 7)).loc[:, "time"]
    w = trends.window_bounds(times, D1, None, None)
    assert (w.start, w.end, w.previous_start) == (at(0), at(3 * DAY), at(-3 * DAY))
    w = trends.window_bounds(times, H1, at(DAY), None)
    assert (w.start, w.end, w.previous_start) == (at(DAY), at(2 * DAY + HOUR), at(-HOUR))
    w = trends.window_bounds(times, H1, None, at(DAY))
    assert (w.start, w.end) == (at(HOUR), at(DAY))
    assert trends.window_bounds(times.iloc[0:0], D1, None, None) is None
    with pytest.raises(ConfigError):
        trends.window_bounds(times, D1, at(DAY), at(DAY))


def test_mismatch_direction_goes_from_credential_to_called_environment():
    """aud names the credential's environment for exchanges, the issuer does for API calls."""
    df = frame(
        rec(0, "environment_mismatch", env="production",
            **{"assertion.aud_environment": "sandbox"}),
        rec(5, "environment_mismatch", env="production",
            **{"assertion.aud_environment": "sandbox"}),
        rec(9, "environment_mismatch", client=CLIENT_B, kind="api_call", env="sandbox",
            **{"presented.issued_environment": "production"}),
        rec(12, "environment_mismatch", client=CLIENT_C, env="production"),
        rec(20, "expired_assertion", env="production",
            **{"assertion.aud_environment": "sandbox"}),  # not a mismatch record
    )
    out = oracles.mismatch_directions(df)
    assert [(r.client, r.direction, r.count) for r in out.itertuples()] == [
        (CLIENT_A, "sandbox->production", 2), (CLIENT_C, "unknown->production", 1),
        (CLIENT_B, "production->sandbox", 1)]  # by count, then client
    assert out.loc[0, "first_seen"] == at(0) and out.loc[0, "last_seen"] == at(5)
    assert out.loc[2, "credential_environment"] == "production"
    assert out.loc[2, "called_environment"] == "sandbox"


def test_mismatch_direction_of_a_client_registered_in_another_environment():
    """aud is right for the environment called; the iss worked in the sandbox before."""
    df = frame(rec(0, "environment_mismatch", env="production",
                   **{"assertion.aud_environment": "production",
                      "assertion.iss_ok_environment": "sandbox"}))
    assert oracles.mismatch_directions(df)["direction"].tolist() == ["sandbox->production"]


def test_recovery_runs_from_first_failure_to_next_successful_exchange():
    """A: fails at 0 and 10, recovers at 70 (70 s); fails at 100, an ok API call does not
    recover it (open). B: fails at 5, recovers at 8 (3 s). Others' successes do not count."""
    df = frame(rec(0), rec(10, "clock_skew"), rec(30, "ok", client=CLIENT_B), rec(70, "ok"),
               rec(5, "invalid_signature", client=CLIENT_B), rec(8, "ok", client=CLIENT_B),
               rec(100, "rate_limited", kind="api_call"), rec(110, "ok", kind="api_call"))
    out = oracles.recovery(df)
    rows = [(r.client, r.category, r.failed_at, r.failures, r.open) for r in out.itertuples()]
    assert rows == [(CLIENT_A, "expired_assertion", at(0), 2, False),
                    (CLIENT_B, "invalid_signature", at(5), 1, False),
                    (CLIENT_A, "rate_limited", at(100), 1, True)]
    assert out["seconds"].tolist()[:2] == [70.0, 3.0]
    assert math.isnan(out.loc[2, "seconds"]) and pd.isna(out.loc[2, "recovered_at"])
    assert out.loc[0, "recovered_at"] == at(70)


def test_failure_rate_is_known_only_where_successes_exist():
    """Exchanges: 3 of 4 failed in hour 0, 1 of 1 in hour 1; API calls never succeeded."""
    df = frame(rec(0), rec(1), rec(2), rec(3, "ok"), rec(HOUR + 1),
               rec(4, "rate_limited", kind="api_call"))
    out = oracles.failure_rate(df, H1)
    got = {(r.bucket, r.endpoint_kind): (r.attempts, r.ok, r.failed, r.rate_known)
           for r in out.itertuples()}
    assert got == {(at(0), "api_call"): (1, 0, 1, False),
                   (at(0), "token_exchange"): (4, 1, 3, True),
                   (at(HOUR), "token_exchange"): (1, 0, 1, True)}
    keys = zip(out["bucket"], out["endpoint_kind"], strict=True)
    rates = dict(zip(keys, out["rate"], strict=True))
    assert rates[(at(0), "token_exchange")] == 0.75
    assert rates[(at(HOUR), "token_exchange")] == 1.0
    assert math.isnan(rates[(at(0), "api_call")])


def test_failure_rate_without_any_success_is_unknown_not_100_percent():
    """An input of failures alone says nothing about the rate."""
    out = oracles.failure_rate(frame(rec(0), rec(1)), H1)
    assert out["rate_known"].tolist() == [False] and math.isnan(out.loc[0, "rate"])
    assert out.loc[0, "failed"] == 2


def test_failure_rate_uses_the_kinds_it_is_told_are_known():
    """Successes seen elsewhere in the input make a bucket of failures 100%."""
    out = oracles.failure_rate(frame(rec(0), rec(1)), H1, known_kinds={"token_exchange"})
    assert out.loc[0, "rate"] == 1.0 and bool(out.loc[0, "rate_known"])


def test_drilldown_keeps_failures_with_their_evidence_in_fix_order():
    """ok records are left out; rows follow the catalog order, then time."""
    df = frame(rec(5, "rate_limited", kind="api_call"), rec(1, "ok"), rec(9), rec(3))
    out = oracles.drilldown(df)
    assert out["category"].tolist() == ["expired_assertion", "expired_assertion",
                                        "rate_limited"]
    assert out["source"].tolist() == ["in.jsonl:4", "in.jsonl:3", "in.jsonl:1"]
    assert out.loc[0, "evidence"] == ["rule=expired_assertion"]
    assert list(out.columns) == ["source", "time", "category", "confidence", "environment",
                                 "endpoint_kind", "client", "service", "evidence", "also",
                                 "fix"]


def test_every_function_accepts_an_empty_frame():
    """No records: empty tables with their documented columns, never an error."""
    df = frame()
    w = trends.Window(at(0), at(DAY), at(-DAY))
    for out in (oracles.counts(df, H1), oracles.timeline(df, H1), oracles.recurring(df, H1, 2),
                oracles.changes(df, w), oracles.mismatch_directions(df), oracles.recovery(df),
                oracles.failure_rate(df, H1), oracles.drilldown(df),
                oracles.breakdown(df, "client")):
        assert out.empty and len(out.columns) >= 3
