"""No planted search value, resource id or password in any exported span, whoever made it.

A subprocess app makes a token exchange and FHIR calls to the emulator with httpx and with
requests, both instrumented by OpenTelemetry (``OTEL_SEMCONV_STABILITY_OPT_IN=http/dup``: both
``url.full`` and ``http.url``), and exports OTLP/HTTP to a loopback receiver. Every exported
byte is searched for the planted values; hgobs's own records must be the same with and without
the redaction of other spans.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hgobs.emulator import ClientRegistration, EmulatorConfig, serve
from tests.export.receiver import OtlpReceiver
from tests.export.test_otlp_export import instrument_exe

CLIENT = ClientRegistration("4b8e1f0a2c6d9e3b7a51", "foreign-test-only-secret-0123456789abcdef01234")
PLANTED = ("Plantedfamily", "1969-07-20", "a7Planted9id", "Planted-pw-42")
NO_PROVIDER = "no OpenTelemetry SDK tracer provider yet"

APP = textwrap.dedent('''
    """A token exchange, then FHIR calls with planted values, with httpx and requests."""
    import sys, time
    import httpx, jwt, requests

    token_url, fhir_base, secret, client_id, mode = sys.argv[1:6]
    provider = None
    if mode != "zero-code":
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.requests import RequestsInstrumentor
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from hgobs import HGAuthInstrumentor

        def sdk():
            global provider
            provider = TracerProvider()
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            trace.set_tracer_provider(provider)

        if mode == "hgobs-first":  # before any SDK provider: attached at the first request
            HGAuthInstrumentor().instrument()
            sdk()
            HTTPXClientInstrumentor().instrument()
            RequestsInstrumentor().instrument()
        else:
            sdk()
            HTTPXClientInstrumentor().instrument()
            RequestsInstrumentor().instrument()
            HGAuthInstrumentor().instrument()
    now = int(time.time())
    assertion = jwt.encode({"iss": client_id, "sub": client_id, "aud": token_url, "iat": now,
                            "exp": now + 300}, secret, algorithm="HS256")
    with httpx.Client() as client:
        r = client.post(token_url, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion, "scope": "patient360"})
        bearer = {"Authorization": "Bearer " + r.json()["access_token"]}
        client.get(fhir_base + "/Patient", params={"family": "Plantedfamily",
                                                   "birthdate": "1969-07-20"}, headers=bearer)
        client.get(fhir_base + "/Patient/a7Planted9id", headers=bearer)
        client.get(fhir_base + "/Patient/a7Planted9id")  # refused: hgobs records it
    requests.get(fhir_base + "/Patient/a7Planted9id", params={"name": "Plantedfamily"},
                 headers=bearer, timeout=10)
    requests.get(fhir_base.replace("://", "://svc:Planted-pw-42@") + "/metadata", timeout=10)
    if provider is not None:
        provider.shutdown()
''')


def _run(tmp_path: Path, receiver: OtlpReceiver, mode: str, **extra: str
         ) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """Run the app; (process, the hgobs JSON Lines records it wrote)."""
    app = tmp_path / "app.py"
    app.write_text(APP)
    jsonl = tmp_path / f"{mode}-{len(extra)}.jsonl"
    with serve(EmulatorConfig(clients=(CLIENT,))) as emu:
        profile = tmp_path / "profile.toml"
        profile.write_text(emu.profile_toml())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HGOBS_"))}
        env.update({
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none", "OTEL_SEMCONV_STABILITY_OPT_IN": "http/dup",
            "OTEL_SERVICE_NAME": "foreign-app", "HGOBS_PROFILE": str(profile),
            "HGOBS_CLIENT_ID": CLIENT.client_id, "HGOBS_JSONL_PATH": str(jsonl), **extra,
        })
        cmd = [sys.executable]
        if mode == "zero-code":
            exe = instrument_exe()
            assert exe is not None
            cmd = [exe, sys.executable]
        proc = subprocess.run(
            [*cmd, str(app), emu.token_url("sandbox"), emu.fhir_base("sandbox"),
             CLIENT.client_secret, CLIENT.client_id, mode],
            env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    return proc, records


def _http_urls(receiver: OtlpReceiver) -> list[str]:
    return sorted({s["attributes"]["url.full"] for s in receiver.spans()
                   if s["scope"] != "hgobs" and "url.full" in s["attributes"]})


VOLATILE = ("time", "duration_s", "trace_id", "span_id", "server.date", "clock.offset_s",
            "assertion.iat", "assertion.exp", "assertion.seconds_to_expiry", "presented.age_s",
            "presented.exchange_span_id", "diagnosis.profile")
"""Record fields that differ from run to run (times, ids, the emulator's port, which is in the
profile whose digest ``diagnosis.profile`` carries); fingerprints
are keyed per process, so they are compared as present or absent."""


def _stable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """hgobs's records without what differs run to run."""
    out = []
    for record in records:
        origin = record["url"].split("/sandbox/", 1)[0]
        out.append({k: (v.replace(origin, "ORIGIN") if isinstance(v, str) else v)
                    if not k.endswith("fp") else bool(v)
                    for k, v in record.items() if k not in VOLATILE})
    return out


def test_zero_code_spans_carry_no_planted_value_and_hgobs_records_are_unchanged(tmp_path,
                                                                              receiver):
    """Under opentelemetry-instrument (httpx, requests, hgobs), no exported byte holds a
    planted value; with HGOBS_REDACT_SPANS=false they are there, and hgobs's records match."""
    proc, records = _run(tmp_path, receiver, "zero-code")
    raw = receiver.raw()
    assert receiver.requests("/v1/traces"), proc.stderr
    assert [p for p in PLANTED if p.encode() in raw] == []
    urls = _http_urls(receiver)
    assert [u.split("/sandbox/", 1)[1] for u in urls] == [
        "fhir/R4/Patient/{id}", "fhir/R4/Patient/{id}?name", "fhir/R4/Patient?family&birthdate",
        "fhir/R4/metadata", "oauth/token"]
    assert all(s["attributes"]["http.url"] == s["attributes"]["url.full"]
               for s in receiver.spans() if s["scope"] != "hgobs" and "url.full" in s["attributes"])
    assert NO_PROVIDER not in proc.stderr

    off = OtlpReceiver()
    try:
        _, records_off = _run(tmp_path, off, "zero-code", HGOBS_REDACT_SPANS="false")
        raw_off = off.raw()
    finally:
        off.stop()
    # OpenTelemetry's instrumentations replace user info themselves (REDACTED:REDACTED@host)
    assert [p for p in PLANTED if p.encode() in raw_off] == list(PLANTED[:3])
    assert _stable(records) == _stable(records_off)
    assert [r["category"] for r in records] == ["ok", "missing_access_token"]


@pytest.mark.parametrize("mode", ["hgobs-first", "otel-first"])
def test_either_instrumentation_order_redacts(tmp_path, receiver, mode):
    """Instrumented in code, hgobs before the SDK provider exists (it says so once, then
    attaches at its first request) or after OpenTelemetry's instrumentations: same result."""
    proc, records = _run(tmp_path, receiver, mode)
    assert [p for p in PLANTED if p.encode() in receiver.raw()] == []
    assert len(_http_urls(receiver)) == 5
    assert proc.stderr.count(NO_PROVIDER) == (1 if mode == "hgobs-first" else 0)
    assert [r["category"] for r in records] == ["ok", "missing_access_token"]
