"""Instrumented requests leave no memory behind beyond hgobs' bounded caches (tracemalloc).

A mixed workload - token exchanges that succeed and fail, streamed ones, refused and accepted
API calls presenting the tokens just issued, connection errors - runs through an instrumented
``httpx.Client`` with every value unique (so each history table of hgobs fills up to its bound
and then must evict). The transport is ``httpx.MockTransport``: no server shares the process,
so every traced allocation is the client's or hgobs'. Spans go to a processor that drops them,
records to a JSON Lines file on disk, log records to a handler that formats and drops them.

Memory is compared between two windows taken after the caches are full: traced memory after
the second window may exceed that after the first by ``SLACK`` bytes at most (allocator and
interpreter caches), whatever the number of requests. The caches: each history table (bound
``history_entries``), the last token exchange record of each trace (1,000 records) and the
diagnosis' memo of server texts (1,024) and the scrubber's table of clean texts (512), both
filled first with texts of their own (a request in four says a new one). The fast run uses
history tables of 100 entries, 4,000 requests to fill the caches (the last token exchange of 1,000 traces too) and a window of 1,000; the
slow run 100,000 requests with the default tables (10,000 entries), windows at 50,000 and
100,000. A third window that keeps 256 bytes per recorded attempt shows the measure catches
a leak.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import hgobs
import hgobs.sinks.jsonl
from hgobs import scrub
from tests.reliability import tally
from tests.support.cases import make_jwt
from tests.support.emitted import loop_profile

PROMISE = tally.NEVER_BREAK
ORIGIN = "https://idp.example.test"
SLACK = 96 * 1024
"""Bytes the second window may add: interpreter and allocator caches, not per request."""
JSON = {"content-type": "application/json"}


class Drop(SpanExporter):
    """A span exporter that keeps nothing."""

    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class Formatting(logging.Handler):
    """Formats every record (as a real handler would) and keeps nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)


def handler(request: httpx.Request) -> httpx.Response:
    """Token endpoint: 200 with a unique token for even numbers, 400 for odd, a connection
    error for numbers ending in 5; API: 401 for odd numbers, 200 for even."""
    n = int(request.headers["x-n"])
    if request.url.path == "/oauth/token":
        if n % 10 == 5:
            raise httpx.ConnectError("connection refused", request=request)
        if n % 2:
            return httpx.Response(400, headers=JSON, content=json.dumps(
                {"error": "invalid_grant", "error_description": f"assertion {n} expired"}))
        return httpx.Response(200, headers=JSON, content=json.dumps(
            {"access_token": f"at-{n:08d}-issued", "token_type": "Bearer", "expires_in": 60}))
    status = 401 if n % 2 else 200
    return httpx.Response(status, headers={"www-authenticate": 'Bearer error="invalid_token"'})


def one(client: httpx.Client, n: int) -> None:
    """Request number ``n`` of the workload."""
    headers = {"x-n": str(n)}
    if n % 3 == 0:
        headers["Authorization"] = f"Bearer at-{n - 2:08d}-issued"
        client.get(f"{ORIGIN}/fhir/R4/Patient/{n}", headers=headers)
        return
    now = int(time.time())
    token = make_jwt({"alg": "HS256", "typ": "JWT"},
                     {"iss": "client-0001", "sub": "client-0001", "aud": f"{ORIGIN}/oauth/token",
                      "iat": now, "exp": now + 300, "jti": f"jti-{n:08d}"})
    data = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": token}
    try:
        if n % 3 == 1:
            client.post(f"{ORIGIN}/oauth/token", data=data, headers=headers)
        else:
            with client.stream("POST", f"{ORIGIN}/oauth/token", data=data,
                               headers=headers) as response:
                for _ in response.iter_bytes(chunk_size=16):
                    pass
    except httpx.ConnectError:
        pass


@contextmanager
def instrumented(tmp: Path, history: int | None) -> Iterator[httpx.Client]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(Drop()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    logger = logging.getLogger("hgobs")
    sink = Formatting()
    saved = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(sink)
    client = httpx.Client(transport=httpx.MockTransport(handler))
    hgobs.instrument_client(client, profile=loop_profile(ORIGIN), jsonl_path=tmp / "a.jsonl",
                            fingerprint_key=b"memory-test-fingerprint-key-0001",
                            history_entries=history, tracer_provider=tracer_provider,
                            meter_provider=meter_provider)
    try:
        yield client
    finally:
        hgobs.uninstrument_client(client)
        client.close()
        logger.removeHandler(sink)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        tracer_provider.shutdown()
        meter_provider.shutdown()


def traced() -> int:
    hgobs.sinks.jsonl.flush_all()  # lines waiting for the JSON Lines writer are not growth
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def growth(tmp: Path, history: int | None, warmup: int, *windows: int,
           leak_in_last: bool = False) -> list[int]:
    """Bytes traced after each window minus before it; ``leak_in_last`` keeps 256 bytes per
    recorded attempt during the last window (a leak the measure must see)."""
    kept: list[bytes] = []
    real = hgobs.sinks.jsonl.JsonlSink.write

    def leaky(self: Any, record: Any, attributes: Any = None) -> None:
        kept.append(bytes(256))
        real(self, record, attributes)

    grew = []
    memo = importlib.import_module("hgobs.profiles.model").server_words
    for i in range(memo.cache_info().maxsize or 0):  # full, whatever the tests before it said
        memo(f"assertion {i:06d} was refused", None, None)  # as long as the texts below
    for i in range(scrub._CLEAN_ENTRIES):  # and the scrubber's table of clean texts
        scrub.scrub_text(f"assertion {i:06d} was refused")
    with instrumented(tmp, history) as client:
        tracemalloc.start()
        try:
            for n in range(1, warmup + 1):
                one(client, n)
            before, sent = traced(), warmup
            for i, size in enumerate(windows):
                with mock.patch.object(hgobs.sinks.jsonl.JsonlSink, "write",
                                       leaky if leak_in_last and i == len(windows) - 1 else real):
                    for n in range(sent + 1, sent + size + 1):
                        one(client, n)
                sent += size
                after = traced()
                grew.append(after - before)
                before = after
        finally:
            tracemalloc.stop()
    tally.tried(PROMISE, "requests under tracemalloc", sent)
    return grew


def test_no_growth_after_the_caches_are_full_and_a_leak_shows(tmp_path):
    """After 4,000 requests (history bound 100), 1,000 more add at most SLACK traced bytes;
    1,000 more keeping 256 bytes per recorded attempt add more (the check can fail)."""
    clean, leaking = growth(tmp_path, 100, 4_000, 1_000, 1_000, leak_in_last=True)
    assert clean < SLACK, f"{clean} bytes more after 1,000 requests"
    assert leaking > SLACK, f"only {leaking} bytes with a leak: a leak would go unseen"


@pytest.mark.slow
def test_hundred_thousand_requests_leave_no_growth(tmp_path):
    """100,000 requests with the default history bound: the last 50,000 add at most SLACK."""
    (grew,) = growth(tmp_path, None, 50_000, 50_000)
    assert grew < SLACK, f"{grew} bytes more after the second 50,000 requests"


def test_a_full_history_table_is_said_once(tmp_path):
    """A history bound far below what the traffic keeps alive (2 entries; each exchange's
    assertion lives 5 minutes): one WARNING on ``hgobs.internal`` naming the option, however
    many entries are dropped."""
    internal = logging.getLogger("hgobs.internal")
    kept: list[logging.LogRecord] = []
    catch = logging.Handler(logging.WARNING)
    catch.emit = kept.append  # type: ignore[method-assign]
    internal.addHandler(catch)
    try:
        with instrumented(tmp_path, 2) as client:
            for n in range(1, 41):
                one(client, n)
    finally:
        internal.removeHandler(catch)
    said = [r.getMessage() for r in kept if "history table is full" in r.getMessage()]
    assert said == ["hgobs: the history table is full (history_entries=2): entries are dropped "
                    "before their horizon, so a reused assertion or a token's age may go "
                    "unseen; raise history_entries"]
