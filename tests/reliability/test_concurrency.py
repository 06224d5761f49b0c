"""1,000 concurrent requests, from threads and from asyncio tasks, see the same with hgobs.

``tests/capture/test_never_break.py`` runs 200 at once; here 1,000 threads (one ``httpx.Client``
shared by all, as services do) and 1,000 tasks (one ``httpx.AsyncClient``) each send a token
exchange or an API call, all released at the same moment, first without and then with hgobs
(per client and global). Every application-visible result must be identical, hgobs must
swallow no internal error, and each record must carry its own request's facts (no fact crosses
between concurrent requests).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

import hgobs
from hgobs.capture import guard
from hgobs.redaction import Fingerprinter
from tests.reliability import tally
from tests.support.cases import make_jwt
from tests.support.emitted import loop_profile
from tests.support.loopback import Received, Reply
from tests.support.sameness import Outcome
from tests.support.servers import LoopServer

PROMISE = tally.NEVER_BREAK
N = 1_000
FP_KEY = b"concurrency-fingerprint-key-0001"
JSON = ("content-type", "application/json")
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=1.0)
"""1,000 threads share 100 connections (the rest wait in httpx's pool, inside ``send``, so all
1,000 requests are inside hgobs' wrapper at once)."""
ASYNC_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=10,
                           keepalive_expiry=1.0)
"""1,000 tasks share 10 connections: httpcore's async pool hands connections out slowly when
hundreds of connections are open (15 s per run at 100), and the point is 1,000 tasks in
hgobs' wrapper at once, not 1,000 sockets. Idle connections are dropped after 1 s, before the
server's 5 s keep-alive timeout can close one just as it is reused (a ReadError either way)."""
TIMEOUT = httpx.Timeout(60.0)
TLS = ssl.create_default_context()
THREAD_MODES = [pytest.param("instrument_client"), pytest.param("global", marks=pytest.mark.slow)]
TASK_MODES = [pytest.param("instrument_client", marks=pytest.mark.slow), pytest.param("global")]
"""The fast run covers each way of instrumenting once; the slow run both, for both."""


def reply(received: Received) -> Reply:
    """The answer to request number n: exchanges 200/400 alternately, API calls 401 or 200."""
    if received.method == "POST":
        n = int(parse_qs(received.body.decode())["request_no"][0])
        if n % 2:
            return Reply(400, [JSON], json.dumps({"error": "invalid_grant",
                                                  "error_description": f"request {n}"}).encode())
        return Reply(200, [JSON], json.dumps({"access_token": f"at-{n:05d}-issued",
                                              "token_type": "Bearer", "expires_in": 300}).encode())
    n = int(received.target.rsplit("/", 1)[1])
    return Reply(401 if n % 2 else 200, [JSON], json.dumps({"request": n}).encode())


def request(origin: str, n: int) -> dict[str, Any]:
    if n % 3 == 0:
        now = int(time.time())
        token = make_jwt({"alg": "HS256", "typ": "JWT"},
                         {"iss": "client-0001", "sub": "client-0001", "iat": now,
                          "exp": now + 300, "aud": f"{origin}/oauth/token", "jti": f"jti-{n:05d}"})
        return {"method": "POST", "url": f"{origin}/oauth/token",
                "data": {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                         "assertion": token, "request_no": str(n)}}
    return {"method": "GET", "url": f"{origin}/fhir/R4/Patient/{n}",
            "headers": {"Authorization": f"Bearer at-{n:05d}-presented"}}


def check_records(records: list[dict[str, Any]]) -> None:
    """One record per recorded request, each with its own request's facts."""
    fp = Fingerprinter(FP_KEY)
    expected = sum(1 for n in range(N) if n % 3 == 0 or n % 2)
    assert len(records) == expected
    by_jti = {fp(f"jti-{n:05d}"): n for n in range(0, N, 3)}
    by_presented = {fp(f"at-{n:05d}-presented"): n for n in range(N)}
    seen = set()
    for record in records:
        if record["endpoint.kind"] == "token_exchange":
            n = by_jti[record["assertion.jti_fp"]]
            assert record["http.status"] == (400 if n % 2 else 200)
            if not n % 2:
                assert record["issued.fp"] == fp(f"at-{n:05d}-issued")
        else:
            n = by_presented[record["presented.fp"]]
            assert record["http.status"] == 401
        seen.add(n)
    assert len(seen) == expected


@contextmanager
def instrumented(mode: str, client: Any, **options: Any) -> Iterator[None]:
    if mode == "instrument_client":
        hgobs.instrument_client(client, **options)
        try:
            yield
        finally:
            hgobs.uninstrument_client(client)
    else:
        instrumentor = hgobs.HGAuthInstrumentor()
        instrumentor.instrument(**options)
        try:
            yield
        finally:
            instrumentor.uninstrument()


@pytest.fixture(scope="module")
def server() -> Iterator[LoopServer]:
    s = LoopServer(reply)
    yield s
    s.stop()


def threads(client: httpx.Client, origin: str) -> list[Outcome]:
    results: list[Outcome | None] = [None] * N
    barrier = threading.Barrier(N)

    def work(n: int) -> None:
        barrier.wait(timeout=60)
        results[n] = Outcome.of(lambda: client.request(**request(origin, n)))

    pool = [threading.Thread(target=work, args=(n,)) for n in range(N)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def options(origin: str, jsonl: Any, telemetry: Any) -> dict[str, Any]:
    return {"profile": loop_profile(origin), "jsonl_path": jsonl, "fingerprint_key": FP_KEY,
            "tracer_provider": telemetry.tracer_provider,
            "meter_provider": telemetry.meter_provider}


def read(path: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("mode", THREAD_MODES)
def test_thousand_threads_see_the_same_and_get_their_own_records(mode, server, telemetry,
                                                                  tmp_path):
    """1,000 threads sharing one client get the same results with hgobs; records are theirs."""
    jsonl = tmp_path / "threads.jsonl"
    with httpx.Client(limits=LIMITS, timeout=TIMEOUT, verify=TLS) as client:
        plain = threads(client, server.origin)
        before = guard.errors_swallowed
        with instrumented(mode, client, **options(server.origin, jsonl, telemetry)):
            hg = threads(client, server.origin)
    tally.tried(PROMISE, "concurrent requests (threads)", 2 * N)
    assert hg == plain
    assert all(o.exc_type is None for o in hg)
    assert guard.errors_swallowed == before
    check_records(read(jsonl))
    assert len(telemetry.ours()) == len(read(jsonl))


@pytest.mark.parametrize("mode", TASK_MODES)
async def test_thousand_tasks_see_the_same_and_get_their_own_records(mode, server, telemetry,
                                                                    tmp_path):
    """1,000 asyncio tasks sharing one client get the same results with hgobs; records are theirs."""
    origin = server.origin

    async def gather(client: httpx.AsyncClient) -> list[Outcome]:
        start = asyncio.Event()

        async def one(n: int) -> Outcome:
            await start.wait()
            return await Outcome.of_async(lambda: client.request(**request(origin, n)))

        tasks = [asyncio.create_task(one(n)) for n in range(N)]
        await asyncio.sleep(0)
        start.set()
        return list(await asyncio.gather(*tasks))

    jsonl = tmp_path / "tasks.jsonl"
    async with httpx.AsyncClient(limits=ASYNC_LIMITS, timeout=TIMEOUT, verify=TLS) as client:
        plain = await gather(client)
        before = guard.errors_swallowed
        with instrumented(mode, client, **options(origin, jsonl, telemetry)):
            hg = await gather(client)
    tally.tried(PROMISE, "concurrent requests (tasks)", 2 * N)
    assert hg == plain
    assert all(o.exc_type is None for o in hg)
    assert guard.errors_swallowed == before
    check_records(read(jsonl))
    assert len(telemetry.ours()) == len(read(jsonl))
