"""HTTP/2, transport retries, application retries and huge bodies look the same with hgobs.

HTTP/2 runs against a real loopback HTTP/2 server (``H2Server``: TLS and ALPN ``h2``) with
``httpx.Client(http2=True)`` and ``AsyncClient(http2=True)``; the result the application sees
(status, HTTP version, headers, body bytes, history) must equal the plain client's, and hgobs
must record the attempt. ``httpx.HTTPTransport(retries=...)`` retries a refused connection
below hgobs (one attempt, one ``ConnectError``); an application transport that retries 503s
sends the server the same requests either way. Bodies of 16 MiB, read whole or streamed in
small chunks, read the same while hgobs copies at most 64 KiB.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import hgobs
from hgobs.capture import guard
from hgobs.sinks.jsonl import flush_all
from tests.reliability import tally
from tests.support.cases import make_jwt
from tests.support.emitted import loop_profile
from tests.support.loopback import Reply
from tests.support.sameness import Outcome
from tests.support.servers import H2Server, LoopServer, closed_port

PROMISE = tally.NEVER_BREAK
JSON = ("content-type", "application/json")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
BIG = 16 * 1024 * 1024


def form(origin: str, jti: str = "jti-0001") -> dict[str, str]:
    now = int(time.time())
    return {"grant_type": JWT_BEARER, "assertion": make_jwt(
        {"alg": "HS256", "typ": "JWT"},
        {"iss": "client-0001", "sub": "client-0001", "aud": f"{origin}/oauth/token", "iat": now,
         "exp": now + 300, "jti": jti})}


@pytest.fixture(scope="module")
def h2() -> Iterator[H2Server]:
    server = H2Server()
    yield server
    server.stop()


ERROR = Reply(400, [JSON], json.dumps({"error": "invalid_grant",
                                       "error_description": "assertion expired"}).encode())
H2_CASES = {
    "token-200": [Reply(200, [JSON], json.dumps({"access_token": "at-0123456789abcdef",
                                                 "token_type": "Bearer",
                                                 "expires_in": 3600}).encode())],
    "token-400": [ERROR],
    "token-400-non-utf8": [Reply(400, [JSON], b'{"error": "\xff\xfe\x80"}')],
    "token-307-followed": [Reply(307, [("location", "/oauth/token")]), ERROR],
    "token-200-16MiB": [Reply(200, [JSON], b'{"access_token": "at-1", "pad": "'
                              + b"x" * BIG + b'"}')],
    "api-401": [Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')])],
}


def call(client: httpx.Client, origin: str, case: str, streamed: bool) -> Outcome:
    if case.startswith("api"):
        args: dict[str, Any] = {"method": "GET", "url": f"{origin}/fhir/R4/Patient/1",
                                "headers": {"Authorization": "Bearer at-0123456789abcdef"}}
    else:
        args = {"method": "POST", "url": f"{origin}/oauth/token", "data": form(origin),
                "follow_redirects": True}
    if not streamed:
        return Outcome.of(lambda: client.request(**args))
    with client.stream(**args) as response:
        body = b"".join(response.iter_bytes(chunk_size=4096))
    return Outcome.of_response(response, body)


async def acall(client: httpx.AsyncClient, origin: str, case: str, streamed: bool) -> Outcome:
    if case.startswith("api"):
        args: dict[str, Any] = {"method": "GET", "url": f"{origin}/fhir/R4/Patient/1",
                                "headers": {"Authorization": "Bearer at-0123456789abcdef"}}
    else:
        args = {"method": "POST", "url": f"{origin}/oauth/token", "data": form(origin),
                "follow_redirects": True}
    if not streamed:
        return await Outcome.of_async(lambda: client.request(**args))
    async with client.stream(**args) as response:
        body = b"".join([c async for c in response.aiter_bytes(chunk_size=4096)])
    return Outcome.of_response(response, body)


def options(origin: str, telemetry: Any, jsonl: Path | None = None) -> dict[str, Any]:
    return {"profile": loop_profile(origin), "jsonl_path": jsonl,
            "tracer_provider": telemetry.tracer_provider,
            "meter_provider": telemetry.meter_provider}


@pytest.mark.parametrize("streamed", [False, True], ids=["read", "streamed"])
@pytest.mark.parametrize("case", sorted(H2_CASES))
def test_http2_sync_result_is_identical(case, streamed, h2, telemetry):
    """Over HTTP/2, a sync client sees the same with hgobs, and hgobs records the attempt."""
    h2.script.load(list(H2_CASES[case]))
    with httpx.Client(http2=True, verify=h2.tls) as client:
        plain = call(client, h2.origin, case, streamed)
    h2.script.load(list(H2_CASES[case]))
    before = guard.errors_swallowed
    with httpx.Client(http2=True, verify=h2.tls) as client:
        hgobs.instrument_client(client, **options(h2.origin, telemetry))
        hg = call(client, h2.origin, case, streamed)
    tally.tried(PROMISE, "HTTP/2 requests", 2)
    assert plain.http_version == "HTTP/2"
    assert hg == plain
    assert guard.errors_swallowed == before
    assert len(telemetry.ours()) == 1


@pytest.mark.parametrize("streamed", [False, True], ids=["read", "streamed"])
@pytest.mark.parametrize("case", sorted(H2_CASES))
async def test_http2_async_result_is_identical(case, streamed, h2, telemetry):
    """Over HTTP/2, an async client sees the same with hgobs, and hgobs records the attempt."""
    h2.script.load(list(H2_CASES[case]))
    async with httpx.AsyncClient(http2=True, verify=h2.tls) as client:
        plain = await acall(client, h2.origin, case, streamed)
    h2.script.load(list(H2_CASES[case]))
    before = guard.errors_swallowed
    async with httpx.AsyncClient(http2=True, verify=h2.tls) as client:
        hgobs.instrument_client(client, **options(h2.origin, telemetry))
        hg = await acall(client, h2.origin, case, streamed)
    tally.tried(PROMISE, "HTTP/2 requests", 2)
    assert plain.http_version == "HTTP/2"
    assert hg == plain
    assert guard.errors_swallowed == before
    assert len(telemetry.ours()) == 1


def test_big_token_body_is_copied_at_most_64KiB(h2, telemetry):
    """A 16 MiB streamed token response reads whole while hgobs keeps no body facts of it."""
    h2.script.load(list(H2_CASES["token-200-16MiB"]))
    with httpx.Client(http2=True, verify=h2.tls) as client:
        hgobs.instrument_client(client, **options(h2.origin, telemetry))
        outcome = call(client, h2.origin, "token-200-16MiB", streamed=True)
    assert outcome.body is not None and len(outcome.body) > BIG
    (span,) = telemetry.ours()
    assert span.attributes["hgobs.response.body_read"] is False


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_transport_retries_stay_below_hgobs(asynchronous, telemetry, tmp_path):
    """HTTPTransport(retries=2) to a refused port raises the same ConnectError with hgobs, which
    records one attempt for the whole retried request."""
    origin = f"http://127.0.0.1:{closed_port()}"
    jsonl = tmp_path / "retries.jsonl"

    def run(instrument: bool) -> Outcome:
        if asynchronous:
            async def go() -> Outcome:
                async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(retries=2)) as c:
                    if instrument:
                        hgobs.instrument_client(c, **options(origin, telemetry, jsonl))
                    return await Outcome.of_async(
                        lambda: c.post(f"{origin}/oauth/token", data=form(origin)))
            return asyncio.run(go())
        with httpx.Client(transport=httpx.HTTPTransport(retries=2)) as c:
            if instrument:
                hgobs.instrument_client(c, **options(origin, telemetry, jsonl))
            return Outcome.of(lambda: c.post(f"{origin}/oauth/token", data=form(origin)))

    plain, hg = run(False), run(True)
    tally.tried(PROMISE, "retried requests", 2)
    assert plain.exc_type is httpx.ConnectError
    assert hg == plain
    flush_all()  # the JSON Lines sink writes on its own thread
    records = [json.loads(x) for x in jsonl.read_text().splitlines()]
    assert [r["error.type"] for r in records] == ["ConnectError"]


class RetryOn503(httpx.HTTPTransport):
    """An application's own retrying transport: up to 3 more tries while the answer is 503."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(3):
            response = super().handle_request(request)
            if response.status_code != 503:
                return response
            response.read()
            response.close()
        return super().handle_request(request)


def test_application_retry_transport_sends_the_same_requests(telemetry, tmp_path):
    """A transport that retries 503s sends the server the same requests with hgobs, and the
    application gets the same final answer, recorded once."""
    server = LoopServer()
    replies = [Reply(503, [], b"busy"), Reply(503, [], b"busy"), ERROR]
    jsonl = tmp_path / "app-retries.jsonl"
    data = form(server.origin)  # one assertion for both runs (its iat is the clock's second)
    try:
        outcomes, received = [], []
        for instrument in (False, True):
            server.script.load(list(replies))
            with httpx.Client(transport=RetryOn503()) as client:
                if instrument:
                    hgobs.instrument_client(client, **options(server.origin, telemetry, jsonl))
                outcomes.append(Outcome.of(lambda c=client: c.post(
                    f"{server.origin}/oauth/token", data=data)))
            received.append([(r.method, r.target, r.body) for r in server.script.received])
    finally:
        server.stop()
    tally.tried(PROMISE, "retried requests", 2)
    assert outcomes[0].status == 400
    assert outcomes[1] == outcomes[0]
    assert received[1] == received[0] and len(received[0]) == 3
    flush_all()
    assert [json.loads(x)["http.status"] for x in jsonl.read_text().splitlines()] == [400]
