"""`opentelemetry-instrument` loads hgobs from its entry point and our span reaches the exporter."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from hgobs.emulator import ClientRegistration, EmulatorConfig, serve

CLIENT = ClientRegistration("0a1b2c3d4e5f60718293", "zero-code-test-secret-0123456789abcdef")

APP = textwrap.dedent('''
    import sys, time
    import httpx, jwt
    token_url, secret, client_id = sys.argv[1], sys.argv[2], sys.argv[3]
    now = int(time.time())
    good = jwt.encode({"iss": client_id, "sub": client_id, "aud": token_url,
                       "iat": now, "exp": now + 300}, secret, algorithm="HS256")
    stale = jwt.encode({"iss": client_id, "sub": client_id, "aud": token_url,
                        "iat": now - 900, "exp": now - 600}, secret, algorithm="HS256")
    with httpx.Client() as client:
        for assertion in (good, stale):
            r = client.post(token_url, data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion, "scope": "patient360"})
            print("status", r.status_code, file=sys.stderr)
''')


def _spans(stdout: str) -> list[dict]:
    """The span objects the console exporter printed (pretty-printed JSON, one per span)."""
    decoder = json.JSONDecoder()
    spans, i = [], 0
    while True:
        start = stdout.find("{", i)
        if start < 0:
            return spans
        try:
            obj, end = decoder.raw_decode(stdout, start)
        except ValueError:
            i = start + 1
            continue
        if isinstance(obj, dict) and "context" in obj and "name" in obj:
            spans.append(obj)
        i = end


def test_entry_point_is_registered():
    """hgobs is registered in the opentelemetry_instrumentor entry point group."""
    eps = {ep.name: ep.value for ep in entry_points(group="opentelemetry_instrumentor")}
    assert eps["hgobs"] == "hgobs.capture.instrumentor:HGAuthInstrumentor"


@pytest.mark.skipif(shutil.which("opentelemetry-instrument") is None and
                    not (Path(sys.executable).parent / "opentelemetry-instrument").exists(),
                    reason="opentelemetry-instrument is installed with the test extra")
def test_opentelemetry_instrument_loads_hgobs(tmp_path):
    """Under opentelemetry-instrument with the console exporter, our spans come out with the
    diagnosis, and OpenTelemetry's httpx CLIENT span is their child."""
    app = tmp_path / "app.py"
    app.write_text(APP)
    with serve(EmulatorConfig(clients=(CLIENT,))) as emu:
        profile = tmp_path / "profile.toml"
        profile.write_text(emu.profile_toml())
        env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none",
               "OTEL_LOGS_EXPORTER": "none", "OTEL_SERVICE_NAME": "zero-code-app",
               "HGOBS_PROFILE": str(profile), "HGOBS_CLIENT_ID": CLIENT.client_id,
               "OTEL_SEMCONV_STABILITY_OPT_IN": "http"}
        exe = shutil.which("opentelemetry-instrument") or str(
            Path(sys.executable).parent / "opentelemetry-instrument")
        proc = subprocess.run(
            [exe, sys.executable, str(app), emu.token_url("sandbox"), CLIENT.client_secret,
             CLIENT.client_id],
            env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert re.findall(r"status (\d+)", proc.stderr) == ["200", "400"]
    spans = _spans(proc.stdout)
    ours = [s for s in spans if s["name"] == "hgobs token_exchange"]
    assert [s["attributes"]["hgobs.category"] for s in ours] == ["ok", "expired_assertion"]
    assert ours[1]["status"]["status_code"] == "ERROR"
    assert ours[1]["status"]["description"] == "expired_assertion"
    assert ours[0]["attributes"]["hgobs.service.name"] == "zero-code-app"
    http_spans = [s for s in spans if s["kind"] == "SpanKind.CLIENT"]
    assert len(http_spans) == 2
    for http_span, our in zip(http_spans, ours, strict=True):
        assert http_span["parent_id"] == our["context"]["span_id"]
        assert our["kind"] == "SpanKind.INTERNAL"
    assert CLIENT.client_secret not in proc.stdout + proc.stderr


def test_bad_hgobs_setting_leaves_other_instrumentations_running(tmp_path):
    """A bad HGOBS_* value under opentelemetry-instrument turns hgobs off with one warning;
    OpenTelemetry's own httpx spans are still exported."""
    app = tmp_path / "app.py"
    app.write_text(APP)
    with serve(EmulatorConfig(clients=(CLIENT,))) as emu:
        env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none",
               "OTEL_LOGS_EXPORTER": "none", "HGOBS_PROFILE": str(tmp_path / "missing.toml"),
               "OTEL_SEMCONV_STABILITY_OPT_IN": "http"}
        exe = shutil.which("opentelemetry-instrument") or str(
            Path(sys.executable).parent / "opentelemetry-instrument")
        proc = subprocess.run(
            [exe, sys.executable, str(app), emu.token_url("sandbox"), CLIENT.client_secret,
             CLIENT.client_id],
            env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "hgobs: not instrumenting, bad setting" in proc.stderr
    assert "Failed to auto initialize" not in proc.stderr
    spans = _spans(proc.stdout)
    assert [s["kind"] for s in spans] == ["SpanKind.CLIENT", "SpanKind.CLIENT"]
    assert not [s for s in spans if s["name"].startswith("hgobs")]


def test_bad_keyword_option_is_logged_and_hgobs_stays_off(caplog):
    """A bad option passed in code never raises into the application: one warning, hgobs off."""
    from hgobs import HGAuthInstrumentor

    with caplog.at_level(logging.WARNING, logger="hgobs.internal"):
        HGAuthInstrumentor().instrument(profile="/nonexistent/profile.toml")
    assert not HGAuthInstrumentor().is_instrumented_by_opentelemetry
    assert [r.getMessage() for r in caplog.records
            if r.getMessage().startswith("hgobs: not instrumenting, bad setting")]
