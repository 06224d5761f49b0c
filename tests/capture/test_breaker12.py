"""Breaker12: late planning and lazy ``INNER`` wrapping against mixed instrumentation."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

import hgobs
from tests.support.emitted import loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

OK = Reply(200, [("content-type", "application/fhir+json")], b'{"resourceType":"Patient"}')
UNAUTHORIZED = Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')], b"")
BEARER = {"Authorization": "Bearer at-0123456789abcdef"}


@pytest.fixture(scope="module")
def server() -> Iterator[LoopServer]:
    s = LoopServer()
    yield s
    s.stop()


def _lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_client_instrumented_before_global_records_its_refusal_itself(server, telemetry,
                                                                     tmp_path):
    """A client instrumented on its own (client id ``own-client``) before the global
    instrumentation is turned on: once any other client's flow has wrapped ``INNER`` of the
    class, the client's refused read (no flow) must still be recorded by its own wrapper."""
    with httpx.Client() as client:
        hgobs.instrument_client(client, profile=loop_profile(server.origin),
                                client_id="own-client", jsonl_path=tmp_path / "own.jsonl",
                                tracer_provider=telemetry.tracer_provider)
        instrumentor = hgobs.HGAuthInstrumentor()
        instrumentor.instrument(profile=loop_profile(server.origin), client_id="global-client",
                                jsonl_path=tmp_path / "global.jsonl",
                                tracer_provider=telemetry.tracer_provider)
        try:
            with httpx.Client(auth=httpx.BasicAuth("u", "p")) as other:
                server.script.load([OK])
                other.get(f"{server.origin}/fhir/R4/Patient/9")  # a flow: global INNER wrapped
            server.script.load([UNAUTHORIZED])
            assert client.get(f"{server.origin}/fhir/R4/Patient/1",
                              headers=BEARER).status_code == 401
        finally:
            instrumentor.uninstrument()
            hgobs.uninstrument_client(client)
    own = _lines(tmp_path / "own.jsonl")
    glob = _lines(tmp_path / "global.jsonl")
    assert [(r["endpoint.kind"], r["http.status"]) for r in own] == [("api_call", 401)], \
        (own, glob)
    assert glob == []


def test_a_refusal_the_client_config_does_not_know_is_still_recorded_by_the_global_one(
        server, telemetry, tmp_path):
    """Global instrumentation for the loop server's API; a client instrumented over it for
    another provider (a host it does not call). A refused read to the loop server's API goes
    past the client's wrapper (nothing of its own) to the global one, which records it, as
    before late planning: it must not be lost between the two."""
    instrumentor = hgobs.HGAuthInstrumentor()
    instrumentor.instrument(profile=loop_profile(server.origin), client_id="global-client",
                            jsonl_path=tmp_path / "global.jsonl",
                            tracer_provider=telemetry.tracer_provider)
    try:
        with httpx.Client() as client:
            hgobs.instrument_client(client, profile=loop_profile("https://other.example.org"),
                                    client_id="own-client", jsonl_path=tmp_path / "own.jsonl",
                                    tracer_provider=telemetry.tracer_provider)
            server.script.load([UNAUTHORIZED])
            assert client.get(f"{server.origin}/fhir/R4/Patient/1",
                              headers=BEARER).status_code == 401
            hgobs.uninstrument_client(client)
    finally:
        instrumentor.uninstrument()
    glob = _lines(tmp_path / "global.jsonl")
    assert [(r["endpoint.kind"], r["http.status"]) for r in glob] == [("api_call", 401)]
    assert _lines(tmp_path / "own.jsonl") == []
