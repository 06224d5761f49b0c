"""Zero code: opentelemetry-instrument with OTEL_METRICS_EXPORTER=prometheus exposes the hgobs series."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hgobs.emulator import ClientRegistration, EmulatorConfig, serve
from tests.dashboards.prom import free_port
from tests.export.test_otlp_export import RUN_TIMEOUT_S, instrument_exe

CLIENT = ClientRegistration("1e5c7a3f9b2d0c4e6a8f", "prometheus-export-test-secret-0123456789abcdef0123")

APP = textwrap.dedent('''
    """One good and one expired token exchange, then print our own /metrics page."""
    import sys, time, urllib.request
    import httpx, jwt

    token_url, secret, client_id, port = sys.argv[1:5]
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": token_url}
    with httpx.Client() as client:
        for iat in (now, now - 900):
            assertion = jwt.encode({**claims, "iat": iat, "exp": iat + 300}, secret, algorithm="HS256")
            client.post(token_url, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                         "assertion": assertion})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        print(r.read().decode())
''')


@pytest.mark.skipif(instrument_exe() is None,
                    reason="opentelemetry-instrument is installed with the test extra")
def test_zero_code_prometheus_exporter_serves_hgobs_series(tmp_path):
    """The auto-configured Prometheus exporter serves hgobs_attempts_total and the _seconds histograms the dashboards query."""
    app = tmp_path / "app.py"
    app.write_text(APP)
    port = free_port()
    exe = instrument_exe()
    assert exe is not None
    with serve(EmulatorConfig(clients=(CLIENT,))) as emu:
        profile = tmp_path / "profile.toml"
        profile.write_text(emu.profile_toml())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "HGOBS_"))}
        env.update({"OTEL_METRICS_EXPORTER": "prometheus", "OTEL_TRACES_EXPORTER": "none",
                    "OTEL_LOGS_EXPORTER": "none", "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
                    "OTEL_EXPORTER_PROMETHEUS_PORT": str(port), "OTEL_SERVICE_NAME": "prom-app",
                    "HGOBS_PROFILE": str(profile), "HGOBS_CLIENT_ID": CLIENT.client_id})
        proc = subprocess.run(
            [exe, sys.executable, str(app), emu.token_url("sandbox"), CLIENT.client_secret,
             CLIENT.client_id, str(port)],
            env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    samples = {}
    for family in text_string_to_metric_families(proc.stdout):
        for s in family.samples:
            if s.name.startswith("hgobs_"):
                samples.setdefault(s.name, []).append(s)
    assert {s.labels["hgobs_category"]: s.value for s in samples["hgobs_attempts_total"] if s.value} == {
        "ok": 1.0, "expired_assertion": 1.0}
    assert {"hgobs_exchange_duration_seconds_bucket", "hgobs_exchange_duration_seconds_count",
            "hgobs_exchange_duration_seconds_sum", "hgobs_assertion_expiry_seconds_bucket"} <= set(samples)
    assert not any(name.endswith("_attempt_total") for name in samples)
    assert sum(s.value for s in samples["hgobs_exchange_duration_seconds_count"]) == 2
    assert CLIENT.client_secret not in proc.stdout
