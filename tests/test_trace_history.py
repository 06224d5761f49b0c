"""A refused API call after a failed token exchange in the same trace points at that exchange."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest

import hgobs
from hgobs.emulator import ClientRegistration, EmulatorConfig, serve
from hgobs.readers import read_paths
from tests.support.whole import classify

CLIENT = ClientRegistration("5e6f7a8b9c0d1e2f3a4b", "trace-history-secret-0123456789abcdef")
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _stale_assertion(token_url: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": CLIENT.client_id, "sub": CLIENT.client_id, "aud": token_url,
                       "iat": now - 900, "exp": now - 600}, CLIENT.client_secret, algorithm="HS256")


@pytest.fixture(scope="module")
def emulator():
    with serve(EmulatorConfig(clients=(CLIENT,))) as emu:
        yield emu


def _exchange_then_call(emulator, telemetry, tmp_path, bearer: str, same_trace: bool) -> list[dict]:
    jsonl = tmp_path / "attempts.jsonl"
    tracer = telemetry.tracer_provider.get_tracer("app")
    url = f"{emulator.fhir_base('sandbox')}/Patient?family=Rivera"
    with httpx.Client() as client:
        hgobs.instrument_client(client, profile=emulator.profile, client_id=CLIENT.client_id,
                                jsonl_path=jsonl, tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        with tracer.start_as_current_span("job"):
            client.post(emulator.token_url("sandbox"), data={
                "grant_type": GRANT, "assertion": _stale_assertion(emulator.token_url("sandbox"))})
            if same_trace:
                client.get(url, headers={"Authorization": f"Bearer {bearer}"})
        if not same_trace:
            with tracer.start_as_current_span("later-job"):
                client.get(url, headers={"Authorization": f"Bearer {bearer}"})
        hgobs.uninstrument_client(client)
    return [json.loads(line) for line in jsonl.read_text().splitlines()]


def test_unexplained_401_after_failed_exchange_takes_its_category(emulator, telemetry, tmp_path):
    """A 401 that no rule explains, after an expired assertion was refused in the same trace,
    is diagnosed as that exchange's failure and names its span."""
    exchange, call = _exchange_then_call(emulator, telemetry, tmp_path, "at-leftover-0a1b2c3d4e", True)
    assert exchange["category"] == "expired_assertion"
    assert call["trace_id"] == exchange["trace_id"]
    assert call["category"] == "expired_assertion"
    assert call["confidence"] == "likely"
    assert call["presented.exchange_span_id"] == exchange["span_id"]
    assert any(exchange["span_id"] in e for e in call["evidence"])


def test_explained_401_keeps_its_own_category_and_lists_the_exchange(emulator, telemetry, tmp_path):
    """A 401 with its own cause (Bearer undefined) keeps it and lists the failed exchange in also."""
    _, call = _exchange_then_call(emulator, telemetry, tmp_path, "undefined", True)
    assert call["category"] == "missing_access_token"
    assert "expired_assertion" in call["also"]


def test_401_in_another_trace_is_not_linked(emulator, telemetry, tmp_path):
    """Without a shared trace, the failed exchange is not blamed."""
    _, call = _exchange_then_call(emulator, telemetry, tmp_path, "at-leftover-0a1b2c3d4e", False)
    assert call["category"] == "unclassified"
    assert "presented.after_failed_exchange" not in call


def test_offline_analysis_links_the_same_way(emulator, telemetry, tmp_path):
    """Re-read from JSON Lines, the analyzer reaches the same verdict as capture did."""
    _exchange_then_call(emulator, telemetry, tmp_path, "at-leftover-0a1b2c3d4e", True)
    result = classify(read_paths([str(tmp_path / "attempts.jsonl")]), emulator.profile)
    assert [c.record["category"] for c in result.classified] == ["expired_assertion"] * 2
