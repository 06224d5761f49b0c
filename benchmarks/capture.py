"""Capture overhead: client CPU time per request, without and with instrumentation.

A fast loopback server (a raw asyncio protocol in a child process on 127.0.0.1, answering fixed
bytes on keep-alive connections) serves four scenarios:

- ``api_ok``: an API call with a Bearer access value, answered 200 (a FHIR read of a different
  resource id each time, as a real client makes: the id is redacted from every span's URL);
- ``api_401``: the same call answered 401 with a ``WWW-Authenticate: Bearer`` challenge;
- ``exchange_ok``: a token exchange (form POST with a signed assertion), answered 200 JSON;
- ``exchange_fail``: the same exchange answered 400 ``invalid_grant``.

Three ``httpx.Client`` objects in one process make the requests: one uninstrumented, one with
OpenTelemetry's httpx instrumentation alone, one with that instrumentation and hgobs. Each
instrumented client has its own SDK tracer provider (batch span processor, exporter that drops;
hgobs's span redaction processor is on the second one, as in a service) and both share a meter
provider (in-memory reader). The configurations take
turns in rounds (the order rotating each round) so drift in the machine's speed falls on all
of them; each round times ``requests`` requests of one scenario with ``time.process_time``
(the client process's CPU time, every thread included; the server runs in another process).
Reported: the median over rounds of CPU microseconds per request, and the medians of each
round's own difference and ratio of OpenTelemetry httpx + hgobs against OpenTelemetry httpx
alone (paired rounds, so the shared machine's drift cancels).

Logging is configured as an application would have it (``logging_as_an_app``): a root handler
that formats every record (time, level, logger, message) into a stream that discards it, at
the root's default level WARNING, so each failed attempt's WARNING record on the ``hgobs``
logger is made and formatted, as issue 12 requires, and the figures do not depend on where the
benchmark's standard error goes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

SCENARIOS = ("api_ok", "api_401", "exchange_ok", "exchange_fail")
CONFIGS = ("none", "otel", "otel+hgobs")
CLIENT_ID = "3f9c2a7e1b5d4c08a6e2"
_TOKEN = b'{"access_token":"opaque-benchmark-value-0000000000000000","token_type":"Bearer",' \
         b'"expires_in":3600,"scope":"patient360"}'
_GRANT = b'{"error":"invalid_grant","error_description":"Invalid assertion"}'
_FHIR = b'{"resourceType":"Patient","id":"123"}'


def _response(status: str, body: bytes, ctype: str = "application/json", extra: str = "") -> bytes:
    head = (f"HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {len(body)}\r\n"
            f"date: Mon, 01 Jan 2026 00:00:00 GMT\r\n{extra}\r\n")
    return head.encode() + body


RESPONSES = {
    b"/fhir/R4/Patient/123": _response("200 OK", _FHIR, "application/fhir+json"),
    b"/fhir/R4/Patient/401": _response(
        "401 Unauthorized", b"", extra='www-authenticate: Bearer error="invalid_token"\r\n'),
    b"/oauth/token": _response("200 OK", _TOKEN),
    b"/oauth/bad/token": _response("400 Bad Request", _GRANT),
}


class _Server(asyncio.Protocol):
    """Answers each request on a keep-alive connection with the fixed bytes for its path."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            self.transport.write(self.reply(head.split(b" ", 2)[1]))  # type: ignore[attr-defined]

    def reply(self, path: bytes) -> bytes:
        """The response bytes for a request target."""
        if path.startswith(b"/fhir/R4/Patient/1"):
            path = b"/fhir/R4/Patient/123"
        return RESPONSES.get(path, RESPONSES[b"/fhir/R4/Patient/401"])


def serve(port: int, protocol: type[asyncio.Protocol] | None = None) -> None:
    """Run the loopback server (``protocol``, default ``_Server``) on 127.0.0.1:``port`` until
    killed (the child process)."""
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(protocol or _Server, "127.0.0.1", port)
        print("ready", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(module: str = "benchmarks.capture") -> Iterator[str]:
    """The loopback server of ``module`` (its ``serve(port)``) in a child process; yields its
    base URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", f"from {module} import serve; serve({port})"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("the benchmark server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


class _DropExporter:
    """A span exporter that drops everything (the cost of exporting is not ours to measure)."""

    def export(self, spans: object) -> object:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing buffered."""
        return True


def clients(base: str) -> tuple[dict[str, httpx.Client], Callable[[], None]]:
    """The three clients by configuration name, and a function that closes everything."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from hgobs import instrument_client
    from hgobs.profiles import profile_from_mapping

    # One tracer provider per instrumented configuration: hgobs adds its span redaction
    # processor (docs/redaction.md) to the provider it records with, and OTel httpx alone must
    # be measured without it.
    providers = {name: TracerProvider() for name in ("otel", "otel+hgobs")}
    for provider in providers.values():
        provider.add_span_processor(BatchSpanProcessor(_DropExporter()))  # type: ignore[arg-type]
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    profile = profile_from_mapping({"name": "bench", "environments": {"sandbox": {
        "token_urls": [f"{base}/oauth/token", f"{base}/oauth/bad/token"],
        "api_bases": [f"{base}/fhir"]}}})
    made = {name: httpx.Client() for name in CONFIGS}
    for name in ("otel", "otel+hgobs"):
        HTTPXClientInstrumentor.instrument_client(made[name], tracer_provider=providers[name],
                                                  meter_provider=meter_provider)
    instrument_client(made["otel+hgobs"], client_id=CLIENT_ID, profile=profile,
                      tracer_provider=providers["otel+hgobs"], meter_provider=meter_provider,
                      fingerprint_key="benchmark-fingerprint-key-0123456789")

    def close() -> None:
        for client in made.values():
            client.close()
        for provider in providers.values():
            provider.shutdown()
        meter_provider.shutdown()

    return made, close


def _assertions(base: str, n: int = 256) -> list[str]:
    import jwt

    now = int(time.time())
    return [jwt.encode({"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": f"{base}/oauth/token",
                        "iat": now, "exp": now + 300, "jti": f"bench-{i}"},
                       "benchmark-client-secret-0123456789abcdef", algorithm="HS256")
            for i in range(n)]


def request_maker(scenario: str, base: str) -> Callable[[httpx.Client, int], httpx.Response]:
    """A function ``(client, i) -> response`` making request ``i`` of ``scenario``."""
    bearer = {"authorization": "Bearer opaque-benchmark-value-0000000000000000"}
    if scenario == "api_ok":
        ids = itertools.count(100_000)  # never the same URL twice in a run
        return lambda client, i: client.get(f"{base}/fhir/R4/Patient/{next(ids)}", headers=bearer)
    if scenario == "api_401":
        url = f"{base}/fhir/R4/Patient/401"
        return lambda client, i: client.get(url, headers=bearer)
    url = f"{base}/oauth/token" if scenario == "exchange_ok" else f"{base}/oauth/bad/token"
    pool = _assertions(base)
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    return lambda client, i: client.post(
        url, data={"grant_type": grant, "assertion": pool[i % len(pool)]})


@dataclass(frozen=True)
class ScenarioResult:
    """CPU microseconds per request of each configuration for one scenario, per round."""

    scenario: str
    samples: dict[str, list[float]]
    rounds: int
    requests: int

    @property
    def us(self) -> dict[str, float]:
        """Median over rounds per configuration."""
        return {name: statistics.median(v) for name, v in self.samples.items()}

    @property
    def added_us(self) -> float:
        """Microseconds hgobs adds to OpenTelemetry httpx alone: median of the rounds'
        differences."""
        return statistics.median(h - o for h, o in zip(self.samples["otel+hgobs"],
                                                       self.samples["otel"], strict=True))

    @property
    def ratio(self) -> float:
        """(OTel httpx + hgobs) / OTel httpx alone: median of the rounds' ratios."""
        return statistics.median(h / o for h, o in zip(self.samples["otel+hgobs"],
                                                       self.samples["otel"], strict=True))


@contextmanager
def logging_as_an_app() -> Iterator[None]:
    """A root handler formatting every record into a discarding stream (see module doc), the
    root at WARNING; the root's handlers and level restored after."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    with open(os.devnull, "w", encoding="utf-8") as sink:
        handler = logging.StreamHandler(sink)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.handlers[:] = [handler]
        root.setLevel(logging.WARNING)
        try:
            yield
        finally:
            root.handlers[:] = handlers
            root.setLevel(level)


def run(rounds: int = 15, requests: int = 200, warmup: int = 50) -> list[ScenarioResult]:
    """Measure every scenario (see module doc); ``requests`` per configuration per round."""
    results = []
    with server() as base, logging_as_an_app():
        made, close = clients(base)
        try:
            for scenario in SCENARIOS:
                make = request_maker(scenario, base)
                for client in made.values():
                    for i in range(warmup):
                        make(client, i).read()
                samples: dict[str, list[float]] = {name: [] for name in CONFIGS}
                for r in range(rounds):
                    order = CONFIGS[r % 3:] + CONFIGS[:r % 3]
                    for name in order:
                        client = made[name]
                        start = time.process_time()
                        for i in range(requests):
                            make(client, i).read()
                        samples[name].append((time.process_time() - start) / requests * 1e6)
                results.append(ScenarioResult(scenario, samples, rounds, requests))
        finally:
            close()
    return results


if __name__ == "__main__":  # ``python -m benchmarks.capture [ROUNDS]``: this part alone
    from benchmarks.report import _capture as capture_table

    print("\n".join(capture_table(run(rounds=int(sys.argv[1]) if len(sys.argv) > 1 else 101,
                                       requests=100, warmup=200))))
