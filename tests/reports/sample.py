"""One small, varied input for the renderer tests: three clients over three days."""

from __future__ import annotations

from datetime import datetime, timezone

from hgobs.analysis.tables import Report
from tests.analysis.records import CLIENT_B, CLIENT_C, DAY, HOUR, rec, result
from tests.support.whole import Result, build_report

NOW = datetime(2024, 3, 8, 12, tzinfo=timezone.utc)
SECRET = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl"
"""A token-shaped value in a field no report shows; it must never appear in any output."""


def sample_result() -> Result:
    """Expired assertions that recur and recover, mismatches both ways, throttling, a new
    category on the last day, a record whose evidence needs escaping, and two skipped lines."""
    mismatch_out = {"assertion.aud_environment": "sandbox"}
    mismatch_back = {"presented.issued_environment": "production"}
    api = {"kind": "api_call"}
    lab = {"client": CLIENT_B, "service": "lab-orders"}
    return result(
        rec(9 * HOUR), rec(9 * HOUR + 60), rec(9 * HOUR + 300, "ok"),
        rec(10 * HOUR, "environment_mismatch", env="production", **lab, **mismatch_out),
        rec(10 * HOUR + 90, "ok", **lab),
        rec(DAY + 11 * HOUR), rec(DAY + 11 * HOUR + 120, "ok"),
        rec(DAY + 12 * HOUR, "environment_mismatch", env="sandbox", **api, **lab,
            **mismatch_back),
        rec(DAY + 13 * HOUR, "rate_limited", env="production", **api),
        rec(DAY + 13 * HOUR + 1, "rate_limited", env="production", **api),
        rec(2 * DAY + 8 * HOUR, "environment_mismatch", env="production", **lab,
            **mismatch_out),
        rec(2 * DAY + 9 * HOUR, "audience_mismatch",
            evidence=["assertion.aud=https://sandbox.example.test/oauth/token/",
                      "url=<script>alert(1)</script>&amp;"], also=["silent_failure"]),
        rec(2 * DAY + 10 * HOUR, "missing_access_token", client=CLIENT_C, service="fhir-batch",
            **api, **{"response.error_description": SECRET}),
        rec(2 * DAY + 10 * HOUR + 30, "ok", **{"issued.fp": SECRET}),
        skipped=(("in.jsonl:15", "not JSON"), ("in.jsonl:16", "not an hgobs record")),
    )


def sample_report() -> Report:
    """The report of ``sample_result`` with 1D buckets, stamped ``NOW``."""
    return build_report(sample_result(), bucket="1D", now=NOW)
