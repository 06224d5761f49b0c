"""An OTLP exporter that is down or slow never slows a request beyond the SDK's own behaviour.

With the SDK's ``BatchSpanProcessor`` and ``PeriodicExportingMetricReader`` (what
``opentelemetry-instrument`` sets up), export runs on the SDK's worker threads: a request never
waits for it. Measured over the loopback server with token exchanges (each ends one hgobs span
and records metrics): request latencies with the OTLP/HTTP exporters pointed at a closed
127.0.0.1 port, or at a receiver that holds every export for ``STALL`` seconds, against the
same with exporters that succeed at once. No request may take a fraction of the stall, and the
median may not grow beyond noise. With ``SimpleSpanProcessor`` (the SDK exports on the
request's own thread, by design) and a slow exporter, a recorded attempt costs exactly one
export - hgobs ends one span per attempt - and an accepted API call, which hgobs does not
record, costs none.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

import hgobs
from tests.reliability import tally
from tests.support.cases import make_jwt
from tests.support.emitted import loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer, closed_port

PROMISE = tally.NEVER_BREAK
STALL = 2.0
REQUESTS = 150
JSON = ("content-type", "application/json")
ERROR = Reply(400, [JSON], json.dumps({"error": "invalid_grant"}).encode())


class Instant(SpanExporter, MetricExporter):
    """Exporters that succeed at once (the baseline)."""

    def __init__(self) -> None:
        MetricExporter.__init__(self)

    def export(self, batch: Any, **_kwargs: Any) -> Any:
        return (SpanExportResult.SUCCESS if isinstance(batch, (list, tuple))
                else MetricExportResult.SUCCESS)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **_kwargs: Any) -> None:
        return None


class SlowSpans(SpanExporter):
    """A span exporter that takes ``delay`` seconds per export."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.exports = 0

    def export(self, spans: Any) -> SpanExportResult:
        self.exports += 1
        time.sleep(self.delay)
        return SpanExportResult.SUCCESS


class StallingReceiver:
    """An OTLP/HTTP endpoint on 127.0.0.1 that holds each request ``STALL`` seconds."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                time.sleep(STALL)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def providers(kind: str, receiver: StallingReceiver | None = None) -> Iterator[tuple[Any, Any]]:
    """Tracer and meter providers whose exporters are ``instant``, ``down`` or ``slow``."""
    if kind == "instant":
        spans: Any = Instant()
        metrics: Any = Instant()
    else:
        endpoint = (f"http://127.0.0.1:{closed_port()}" if kind == "down"
                    else receiver.endpoint if receiver else "")
        spans = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=1)
        metrics = OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=1)
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(
        spans, schedule_delay_millis=20, max_queue_size=16, max_export_batch_size=16))
    meter_provider = MeterProvider(metric_readers=[
        PeriodicExportingMetricReader(metrics, export_interval_millis=50)])
    try:
        yield tracer_provider, meter_provider
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


def latencies(server: LoopServer, tracer_provider: Any, meter_provider: Any) -> list[float]:
    """Seconds taken by each of ``REQUESTS`` recorded token exchanges."""
    origin = server.origin
    out = []
    with httpx.Client() as client:
        hgobs.instrument_client(client, profile=loop_profile(origin),
                                tracer_provider=tracer_provider, meter_provider=meter_provider)
        for n in range(REQUESTS):
            now = int(time.time())
            token = make_jwt({"alg": "HS256"}, {"iss": "c-1", "sub": "c-1", "iat": now,
                                                "exp": now + 300, "jti": f"j-{n}",
                                                "aud": f"{origin}/oauth/token"})
            server.script.load([ERROR])
            started = time.perf_counter()
            response = client.post(f"{origin}/oauth/token",
                                   data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                         "assertion": token})
            out.append(time.perf_counter() - started)
            assert response.status_code == 400
    tally.tried(PROMISE, "requests with the exporter down or slow", REQUESTS)
    return out


@pytest.fixture(scope="module")
def server() -> Iterator[LoopServer]:
    s = LoopServer()
    yield s
    s.stop()


@pytest.mark.parametrize("kind", ["down", "slow"])
def test_broken_exporter_never_delays_requests(kind, server):
    """With the OTLP exporters down (refused) or slow (stalling 2 s), no request takes 0.5 s
    and the median latency stays within noise of instant exporters."""
    with providers("instant") as (tp, mp):
        baseline = latencies(server, tp, mp)
    receiver = StallingReceiver() if kind == "slow" else None
    try:
        with providers(kind, receiver) as (tp, mp):
            broken = latencies(server, tp, mp)
    finally:
        if receiver is not None:
            receiver.stop()
    assert max(broken) < STALL / 4, f"a request took {max(broken):.3f} s"
    assert statistics.median(broken) < 2 * statistics.median(baseline) + 0.005, (
        statistics.median(broken), statistics.median(baseline))


def test_simple_processor_costs_one_export_per_recorded_attempt(server):
    """With SimpleSpanProcessor (export on the caller's thread, the SDK's design) and an
    exporter taking 0.1 s, a recorded exchange makes exactly one export (at least 0.1 s); an
    accepted API call, which hgobs does not record, makes none and takes no longer."""
    slow = SlowSpans(0.1)
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(slow))
    origin = server.origin
    with httpx.Client() as client:
        hgobs.instrument_client(client, profile=loop_profile(origin),
                                tracer_provider=tracer_provider)
        server.script.load([ERROR])
        started = time.perf_counter()
        client.post(f"{origin}/oauth/token", data={"grant_type": "client_credentials"})
        exchange = time.perf_counter() - started
        exports_after_exchange = slow.exports
        server.script.load([Reply(200, [JSON], b"{}")])
        started = time.perf_counter()
        client.get(f"{origin}/fhir/R4/Patient/1", headers={"Authorization": "Bearer at-1"})
        api = time.perf_counter() - started
    tally.tried(PROMISE, "requests with the exporter down or slow", 2)
    assert exports_after_exchange == slow.exports == 1
    assert 0.1 <= exchange < 0.5, exchange
    assert api < 0.1, api
