"""Every shared case, replayed through the instrumented client over loopback, classifies right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.trace import SpanKind, StatusCode

import hgobs
from tests.support.cases import (
    build_origin_map,
    load_cases,
    mapped_profile,
    reply_for,
    request_kwargs,
)

CASES = load_cases()


class Clock:
    """The injectable client clock, set to each exchange's recorded time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def replay(case: dict[str, Any], pool, telemetry, tmp_path: Path, otel_httpx: bool
           ) -> tuple[list[dict[str, Any]], list[httpx.Response]]:
    """Replay ``case``; return the JSON Lines records written and the responses seen."""
    omap = build_origin_map(case, pool)
    profile = mapped_profile(case, omap)
    exchanges = case["exchanges"]
    pool.script.load([reply_for(e["response"], omap) for e in exchanges])
    clock = Clock()
    jsonl = tmp_path / "attempts.jsonl"
    responses = []
    with httpx.Client(verify=pool.ssl_context(), follow_redirects=True) as client:
        if otel_httpx:
            HTTPXClientInstrumentor().instrument_client(
                client, tracer_provider=telemetry.tracer_provider)
        hgobs.instrument_client(
            client, profile=profile, client_id=case["client_id"], clock=clock,
            jsonl_path=jsonl, tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider)
        i = 0
        while i < len(exchanges):
            clock.now = float(exchanges[i]["time"])
            response = client.request(**request_kwargs(exchanges[i]["request"], omap))
            responses.append(response)
            i += 1 + len(response.history)  # a followed redirect consumed the next exchange
        hgobs.uninstrument_client(client)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()] if jsonl.exists() else []
    return records, responses


@pytest.mark.parametrize("otel_httpx", [False, True], ids=["hgobs-alone", "with-otel-httpx"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_classifies_to_expected_category(case, otel_httpx, pool, telemetry, tmp_path):
    """The record of the case's last exchange carries expected.category."""
    records, responses = replay(case, pool, telemetry, tmp_path, otel_httpx)
    expected = case["expected"]["category"]
    assert responses[-1].status_code == case["exchanges"][-1]["response"]["status"]
    last_request = case["exchanges"][-1]["request"]
    if expected == "ok" and responses[-1].status_code < 300 and "/fhir/" in last_request["url"]:
        # a successful API call is never recorded; everything recorded before it is ok
        assert records and all(r["category"] == "ok" for r in records)
        return
    assert records, "no record written"
    last = records[-1]
    assert last["category"] == expected, (last.get("category"), last.get("evidence"), last.get("also"))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
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
        if record["category"] == "ok":
            assert span.status.status_code is StatusCode.UNSET
        else:
            assert span.status.status_code is StatusCode.ERROR
            assert span.status.description == record["category"]
            assert attrs["hgobs.fix"]
            assert attrs["http.response.status_code"] == record["http.status"]
