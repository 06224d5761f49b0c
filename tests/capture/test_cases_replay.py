"""Every shared case, sent by the instrumented client to its real URLs (routed to loopback below
capture), records the expected category, with OpenTelemetry's httpx instrumentation too, and
its spans carry the diagnosis. (Capture alone, and the analysis of its records, are in
``tests/test_cases_all_inputs.py``.)"""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.cases import case_param, load_cases, profile_name, replay_real

CASES = load_cases()


def replay(case, pool, telemetry, tmp_path, otel_httpx: bool):
    return replay_real(case, pool, tmp_path / "attempts.jsonl",
                       tracer_provider=telemetry.tracer_provider,
                       meter_provider=telemetry.meter_provider, otel_httpx=otel_httpx)


@pytest.mark.parametrize("case", [case_param(c, input_name="with-otel-httpx") for c in CASES])
def test_case_classifies_with_otel_httpx(case, pool, telemetry, tmp_path):
    """With OpenTelemetry's httpx instrumentation on the same client, the record of the last
    send carries expected.category, and every record its real URL's host."""
    records, responses = replay(case, pool, telemetry, tmp_path, otel_httpx=True)
    expected = case["expected"]["category"]
    assert responses[-1].status_code == case["exchanges"][-1]["response"]["status"]
    assert records, "no record written"
    hosts = {e["request"]["url"].split("/")[2].split(":")[0] for e in case["exchanges"]}
    assert {r["server.address"] for r in records} <= hosts
    assert {r["profile"] for r in records} == {profile_name(case)}
    if expected == "ok" and len(records) < len(responses):
        # a successful API call is never recorded; everything recorded before it is ok
        assert all(r["category"] == "ok" for r in records)
        return
    last = records[-1]
    assert last["category"] == expected, (last.get("evidence"), last.get("also"))
    httpx_spans = [s for s in telemetry.spans() if s.instrumentation_scope.name != "hgobs"]
    assert httpx_spans and all("127.0.0.1" not in str(s.attributes.get("url.full", ""))
                               for s in httpx_spans if s.attributes.get("url.full"))


@pytest.mark.parametrize("case", [case_param(c, category=False) for c in CASES])
def test_case_span_carries_diagnosis(case, pool, telemetry, tmp_path):
    """Our span has the category and fix, and ERROR status naming the category on failures."""
    records, _ = replay(case, pool, telemetry, tmp_path, otel_httpx=False)
    ours = telemetry.ours()
    assert len(ours) == len(records)
    for span, record in zip(ours, records, strict=True):
        attrs = span.attributes
        assert attrs["hgobs.category"] == record["category"]
        assert attrs["hgobs.endpoint.kind"] == record["endpoint.kind"]
        assert span.kind is SpanKind.CLIENT
        assert attrs["http.request.method"] == record["http.method"]
        assert attrs["url.full"] == record["url"]
        assert "127.0.0.1" not in record["url"]
        if record["category"] == "ok":
            assert span.status.status_code is StatusCode.UNSET
        else:
            assert span.status.status_code is StatusCode.ERROR
            assert span.status.description == record["category"]
            assert attrs["hgobs.fix"]
            assert attrs["http.response.status_code"] == record["http.status"]
