"""Leaks the secret properties once found, fixed in hgobs: one reproduction each, kept as
regression tests (the property tests generate these inputs too)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

import hgobs
from tests.reliability import leaks, tally
from tests.support.emitted import Emitted, collect_logs, loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

PROMISE = tally.SECRETS
JSON = ("content-type", "application/json")
CLIENT_SECRET = "Xk4pQ9vLm2RtY7wZs3Nb"
SERVER_TOKEN = "azHCFLRBx/qXBwe3S5CRhznc8njmyIj/"
SERVER_EMAIL = "quince.juniper@tamarind-fjord.example.org"


@pytest.fixture(scope="module")
def server() -> Iterator[LoopServer]:
    s = LoopServer()
    yield s
    s.stop()


def exchange(server: LoopServer, telemetry, tmp_path, description: str) -> Emitted:
    """One client_credentials exchange answered 401 with ``description``; what hgobs emitted."""
    server.script.load([Reply(401, [JSON], json.dumps(
        {"error": "invalid_client", "error_description": description}).encode())])
    jsonl = tmp_path / "attempts.jsonl"
    with collect_logs() as logs, httpx.Client() as client:
        hgobs.instrument_client(client, profile=loop_profile(server.origin), jsonl_path=jsonl,
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        client.post(f"{server.origin}/oauth/token",
                    data={"grant_type": "client_credentials", "client_id": "client-0001",
                          "client_secret": CLIENT_SECRET})
        hgobs.uninstrument_client(client)
    return Emitted(telemetry, logs, jsonl)


def test_percent_encoded_secret_in_server_text(server, telemetry, tmp_path):
    """A percent-encoded token or email in a server's error_description is scrubbed whole."""
    from urllib.parse import quote

    tally.tried(PROMISE, "bug reproductions")
    emitted = exchange(server, telemetry, tmp_path,
                       f"token {quote(SERVER_TOKEN, safe='')} of {quote(SERVER_EMAIL)} refused")
    found = leaks.find(emitted.strings(), [SERVER_TOKEN, SERVER_EMAIL.split("@")[0]])
    assert found == [], leaks.report(found)


def test_truncated_echo_of_a_client_secret(server, telemetry, tmp_path):
    """A server echoing the first 12 characters of the client secret has none of them emitted."""
    tally.tried(PROMISE, "bug reproductions")
    emitted = exchange(server, telemetry, tmp_path,
                       f"client_secret {CLIENT_SECRET[:12]}... does not match")
    found = leaks.find(emitted.strings(), [CLIENT_SECRET])
    assert found == [], leaks.report(found)
