"""Review (review12): a client instrumented before the global instrumentation keeps recording
its own refusals once the global wrapper of ``_send_handling_redirects`` exists."""

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


class _Refreshing(httpx.Auth):
    """Sends the request, and once more with a new token if it is refused."""

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = "Bearer at-first-0123456789"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = "Bearer at-second-0123456789"
            yield request


def test_a_client_instrumented_before_the_global_one_records_its_refusals_itself(
        server, telemetry, tmp_path):
    """The client is instrumented first (its ``send`` wraps the plain method: not ``nested``),
    then globally; once any request with a flow has wrapped ``INNER`` of the class, a refused
    read of the client (no flow, sent unmarked as ``LATER``) passes the class's ``INNER``
    wrapper, which records it with the global recorder; the client's own recorder then skips
    it (``RECORDED``). Before the change the client's own ``INNER`` recorded it."""
    with httpx.Client() as client:
        hgobs.instrument_client(client, profile=loop_profile(server.origin),
                                client_id="own-client", jsonl_path=tmp_path / "own.jsonl",
                                tracer_provider=telemetry.tracer_provider)
        instrumentor = hgobs.HGAuthInstrumentor()
        instrumentor.instrument(profile=loop_profile(server.origin), client_id="global-client",
                                jsonl_path=tmp_path / "global.jsonl",
                                tracer_provider=telemetry.tracer_provider)
        try:
            with httpx.Client() as other:  # any flow anywhere wraps INNER of the class
                server.script.load([OK])
                other.get(f"{server.origin}/fhir/R4/Patient/1", auth=_Refreshing())
            server.script.load([UNAUTHORIZED])
            assert client.get(f"{server.origin}/fhir/R4/Patient/2", headers=BEARER) \
                .status_code == 401
        finally:
            instrumentor.uninstrument()
            hgobs.uninstrument_client(client)
    own = tmp_path / "own.jsonl"
    records = [json.loads(line) for line in own.read_text().splitlines()] if own.exists() else []
    assert [(r["endpoint.kind"], r["http.status"]) for r in records] == [("api_call", 401)]
    glob = tmp_path / "global.jsonl"
    assert not glob.exists() or glob.read_text() == ""
