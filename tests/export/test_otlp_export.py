"""Spans and metrics reach an OTLP/HTTP receiver through the standard exporter, set up by env vars only.

A subprocess app makes a good token exchange, one with an expired assertion and a FHIR read
without a token against the emulator. The exporter is configured by ``OTEL_*`` variables alone
(endpoint ``http://127.0.0.1:<port>``, protocol ``http/protobuf``); a loopback receiver in the
test decodes the protobuf requests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hgobs.emulator import ClientRegistration, EmulatorConfig, serve
from tests.export.receiver import OtlpReceiver

CLIENT = ClientRegistration("6d2f0a9c8e1b4d7a3c5e", "export-test-only-secret-0123456789abcdef0123456789")
RUN_TIMEOUT_S = 60
SPAN_KIND_INTERNAL, SPAN_KIND_CLIENT = 1, 3
STATUS_ERROR = 2

APP = textwrap.dedent('''
    """Two token exchanges and two FHIR reads; with --sdk it sets up the SDK from env vars itself."""
    import sys, time
    import httpx, jwt

    token_url, fhir_base, secret, client_id = sys.argv[1:5]
    provider = None
    if "--sdk" in sys.argv:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from hgobs import HGAuthInstrumentor
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        HGAuthInstrumentor().instrument()
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": token_url}
    good = jwt.encode({**claims, "iat": now, "exp": now + 300}, secret, algorithm="HS256")
    stale = jwt.encode({**claims, "iat": now - 900, "exp": now - 600}, secret, algorithm="HS256")
    print("secret-text", good, stale, file=sys.stderr)
    with httpx.Client() as client:
        for assertion in (good, stale):
            r = client.post(token_url, data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion, "scope": "patient360"})
            if r.status_code == 200:
                access = r.json()["access_token"]
                print("secret-text", access, file=sys.stderr)
                read = client.get(fhir_base + "/Patient/example",
                                  headers={"Authorization": "Bearer " + access})
                print("read", read.status_code, file=sys.stderr)
        print("read", client.get(fhir_base + "/Patient/example").status_code, file=sys.stderr)
    if provider is not None:
        provider.shutdown()
''')


def _run(cmd: list[str], tmp_path: Path, receiver: OtlpReceiver, extra_env: dict[str, str],
         *flags: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the app against a fresh emulator with the OTLP env vars; (process, client secret)."""
    app = tmp_path / "app.py"
    app.write_text(APP)
    with serve(EmulatorConfig(clients=(CLIENT,))) as emu:
        profile = tmp_path / "profile.toml"
        profile.write_text(emu.profile_toml())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HGOBS_"))}
        env.update({
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_SERVICE_NAME": "export-app",
            "HGOBS_PROFILE": str(profile),
            "HGOBS_CLIENT_ID": CLIENT.client_id,
            **extra_env,
        })
        proc = subprocess.run(
            [*cmd, str(app), emu.token_url("sandbox"), emu.fhir_base("sandbox"),
             CLIENT.client_secret, CLIENT.client_id, *flags],
            env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    return proc, CLIENT.client_secret


def _ours(receiver: OtlpReceiver) -> list[dict[str, Any]]:
    return [s for s in receiver.spans() if s["scope"] == "hgobs"]


def _secrets(proc: subprocess.CompletedProcess[str], secret: str) -> list[str]:
    """The client secret and every assertion and access token the app printed."""
    values = [secret]
    for line in proc.stderr.splitlines():
        if line.startswith("secret-text "):
            values += line.split()[1:]
    return values


def _check_attempts(spans: list[dict[str, Any]]) -> None:
    by_category = {s["attributes"]["hgobs.category"]: s for s in spans}
    assert sorted(by_category) == ["expired_assertion", "missing_access_token", "ok"]
    ok, stale = by_category["ok"], by_category["expired_assertion"]
    refused = by_category["missing_access_token"]
    assert ok["attributes"]["hgobs.endpoint.kind"] == "token_exchange"
    assert stale["attributes"]["hgobs.endpoint.kind"] == "token_exchange"
    assert refused["attributes"]["hgobs.endpoint.kind"] == "api_call"
    for span in spans:  # the HTTP CLIENT span is named by its method; an INTERNAL one by its kind
        kind = span["attributes"]["hgobs.endpoint.kind"]
        assert span["name"] == (span["attributes"]["http.request.method"]
                                if span["kind"] == SPAN_KIND_CLIENT else f"hgobs {kind}")
    for span in spans:
        attrs = span["attributes"]
        assert attrs["hgobs.environment"] == "sandbox"
        assert attrs["hgobs.outcome"] == ("ok" if span is ok else "failed")
        assert attrs["hgobs.service.name"] == "export-app"
        assert span["resource"]["service.name"] == "export-app"
        assert attrs["hgobs.trace_id"] == span["trace_id"]
        assert attrs["hgobs.span_id"] == span["span_id"]
    assert stale["status_code"] == STATUS_ERROR
    assert stale["status_message"] == "expired_assertion"
    assert stale["attributes"]["hgobs.fix"]
    assert isinstance(stale["attributes"]["hgobs.evidence"], list)
    assert stale["attributes"]["hgobs.assertion.seconds_to_expiry"] < 0


def test_sdk_exporter_configured_by_env_sends_our_spans(tmp_path, receiver):
    """With OTLPSpanExporter() set up by OTEL_* env vars only, our spans arrive as OTLP/HTTP protobuf with hgobs.* attributes and no secret."""
    proc, secret = _run([sys.executable], tmp_path, receiver, {}, "--sdk")
    assert receiver.requests("/v1/traces"), proc.stderr
    assert all(r.content_type == "application/x-protobuf" for r in receiver.received)
    assert proc.stderr.count("read 200") == 1 and proc.stderr.count("read 401") == 1
    spans = _ours(receiver)
    _check_attempts(spans)
    for span in spans:
        assert span["kind"] == SPAN_KIND_CLIENT
        assert span["attributes"]["http.request.method"] in {"GET", "POST"}
    raw = receiver.raw()
    for value in _secrets(proc, secret):
        assert value.encode() not in raw


def instrument_exe() -> str | None:
    local = Path(sys.executable).parent / "opentelemetry-instrument"
    return str(local) if local.exists() else shutil.which("opentelemetry-instrument")


@pytest.mark.skipif(instrument_exe() is None,
                    reason="opentelemetry-instrument is installed with the test extra")
def test_zero_code_otlp_sends_spans_and_metrics(tmp_path, receiver):
    """Under opentelemetry-instrument with OTLP over http/protobuf, our spans (parents of the httpx spans) and metrics arrive."""
    exe = instrument_exe()
    assert exe is not None
    proc, secret = _run([exe, sys.executable], tmp_path, receiver, {
        "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "none", "OTEL_SEMCONV_STABILITY_OPT_IN": "http",
    })
    spans = _ours(receiver)
    _check_attempts(spans)
    exchanges = {s["span_id"]: s for s in spans
                 if s["attributes"]["hgobs.endpoint.kind"] == "token_exchange"}
    assert all(s["kind"] == SPAN_KIND_INTERNAL for s in exchanges.values())
    http_children = [s for s in receiver.spans()
                     if s["kind"] == SPAN_KIND_CLIENT and s["parent_span_id"] in exchanges]
    assert len(http_children) == len(exchanges) == 2

    metrics = {m["name"]: m for m in receiver.metrics() if m["scope"] == "hgobs"}
    assert metrics["hgobs.attempts"]["unit"] == "{attempt}"
    assert metrics["hgobs.exchange.duration"]["unit"] == "s"
    assert metrics["hgobs.assertion.expiry"]["unit"] == "s"
    counted = {(p["attributes"]["hgobs.category"], p["attributes"]["hgobs.endpoint.kind"]): p["value"]
               for p in metrics["hgobs.attempts"]["points"] if p["value"]}  # not the 0 series
    assert counted == {("ok", "token_exchange"): 1, ("expired_assertion", "token_exchange"): 1,
                       ("missing_access_token", "api_call"): 1}
    for point in metrics["hgobs.attempts"]["points"]:
        failed = point["attributes"]["hgobs.outcome"] == "failed"
        assert set(point["attributes"]) == {"hgobs.outcome", "hgobs.category", "hgobs.environment",
                                            "hgobs.endpoint.kind", "hgobs.profile",
                                            *(["error.type"] * failed)}
    durations = metrics["hgobs.exchange.duration"]["points"]
    assert sum(p["count"] for p in durations) == 2
    assert all(set(p["attributes"]) == {"hgobs.environment", "hgobs.outcome", "hgobs.profile"}
               for p in durations)
    raw = receiver.raw()
    for value in _secrets(proc, secret):
        assert value.encode() not in raw
