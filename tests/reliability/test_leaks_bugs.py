"""Leaks the secret properties once found, fixed in hgobs: one reproduction each, kept as
regression tests (the property tests generate these inputs too)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability import leaks, tally
from tests.support.emitted import Emitted, refused_exchange
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
    return refused_exchange(server, telemetry, tmp_path, description, client_id="client-0001",
                            client_secret=CLIENT_SECRET)


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
