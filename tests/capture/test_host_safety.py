"""hgobs never blocks or breaks the host: spans end on every path, failing providers, clocks and
options never reach the application, auth-flow retries are recorded, odd text keeps its record.

Every test talks to a real loopback server; the in-memory span exporter and ``OpenSpans`` tell
whether each started span ended.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import io
import json
import logging
import time
import zlib
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

import hgobs
from hgobs.capture import guard
from hgobs.sinks.jsonl import flush_all
from tests.support.cases import make_jwt
from tests.support.emitted import OpenSpans, collect_logs
from tests.support.loopback import Received, Reply
from tests.support.servers import LoopServer

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JSON = ("content-type", "application/json")
FP_KEY = b"host-safety-fingerprint-key-0001"
OLD, NEW = "at-old-0123456789abcdef", "at-new-fedcba9876543210"
GRANT = json.dumps({"error": "invalid_grant", "error_description": "assertion expired"}).encode()


def reply(received: Received) -> Reply:
    """Token endpoint: ``NEW`` for a form POST; API: 401 unless the bearer is ``NEW``; paths
    under ``/oauth/enc/<codings>/token`` answer ``GRANT`` with that ``Content-Encoding``."""
    path = received.target
    if path == "/oauth/token":
        return Reply(200, [JSON], json.dumps({"access_token": NEW, "token_type": "Bearer",
                                              "expires_in": 3600}).encode())
    if path.startswith("/oauth/enc/"):
        codings = path.split("/")[3].split("+")
        body = GRANT
        for coding in codings:
            body = gzip.compress(body) if coding == "gzip" else zlib.compress(body)
        return Reply(400, [JSON, ("content-encoding", ", ".join(codings))], body)
    if path == "/oauth/bomb/token":
        return Reply(400, [JSON, ("content-encoding", "gzip, gzip")], BOMB)
    if path == "/oauth/garbage/token":
        return Reply(400, [JSON, ("content-encoding", "gzip")], b"\x1f\x8bnot gzip at all")
    if path == "/oauth/surrogate/token":
        return Reply(400, [JSON], b'{"error": "invalid_grant", "error_description": '
                                  b'"bad \\ud800 text \\udcff"}')
    if received.headers.get("authorization") == f"Bearer {NEW}":
        return Reply(200, [JSON], b'{"resourceType": "Patient"}')
    return Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')], b"")


BOMB = gzip.compress(gzip.compress(b"\0" * (64 * 1024 * 1024), 9), 9)
"""64 MiB of zeros gzipped twice: a few hundred bytes on the wire."""


@pytest.fixture(scope="module")
def server() -> Iterator[LoopServer]:
    s = LoopServer(reply)
    yield s
    s.stop()


@pytest.fixture
def open_spans(telemetry: Any) -> OpenSpans:
    spans = OpenSpans()
    telemetry.tracer_provider.add_span_processor(spans)
    return spans


def token_form(origin: str, path: str = "/oauth/token") -> dict[str, str]:
    now = int(time.time())
    return {"grant_type": JWT_BEARER, "assertion": make_jwt(
        {"alg": "HS256", "typ": "JWT"},
        {"iss": "client-0001", "sub": "client-0001", "aud": f"{origin}{path}",
         "iat": now, "exp": now + 300, "jti": f"jti-{time.perf_counter_ns()}"})}


def profile(origin: str) -> Any:
    from hgobs.profiles import profile_from_mapping

    paths = ["/oauth/token", "/oauth/enc/gzip+gzip/token", "/oauth/enc/deflate+gzip/token",
             "/oauth/bomb/token", "/oauth/garbage/token", "/oauth/surrogate/token"]
    return profile_from_mapping({"name": "loop", "environments": {"sandbox": {
        "token_urls": [origin + p for p in paths], "api_bases": [f"{origin}/fhir"]}}})


def options(server: LoopServer, telemetry: Any, **extra: Any) -> dict[str, Any]:
    return {"profile": profile(server.origin), "fingerprint_key": FP_KEY,
            "tracer_provider": telemetry.tracer_provider,
            "meter_provider": telemetry.meter_provider, **extra}


def attrs(telemetry: Any) -> list[dict[str, Any]]:
    return [dict(s.attributes or {}) for s in telemetry.ours()]


# -- bounded decompression of a streamed body ---------------------------------------------------

@pytest.mark.parametrize("codings", ["gzip+gzip", "deflate+gzip"])
def test_streamed_body_with_a_coding_chain_is_decoded_layer_by_layer(server, telemetry,
                                                                     codings):
    """A streamed token response encoded twice is read to its error fields (last coding
    undone first, RFC 9110 section 8.4)."""
    path = f"/oauth/enc/{codings}/token"
    with httpx.Client() as client:
        hgobs.instrument_client(client, **options(server, telemetry))
        request = client.build_request("POST", server.origin + path,
                                       data=token_form(server.origin, path))
        with closing(client.send(request, stream=True)) as response:
            assert response.read() == GRANT
    (span,) = attrs(telemetry)
    assert span["hgobs.response.body_read"] is True
    assert span["hgobs.response.error"] == "invalid_grant"


def test_gzip_bomb_chain_is_not_expanded_past_the_limit(server, telemetry, open_spans):
    """``gzip, gzip`` of 64 MiB (a few hundred bytes sent): the application reads the raw bytes
    unchanged, hgobs records "no body" and its span ends; decoding stops at the limit."""
    import tracemalloc

    with httpx.Client() as client:
        hgobs.instrument_client(client, **options(server, telemetry))
        request = client.build_request("POST", f"{server.origin}/oauth/bomb/token",
                                       data=token_form(server.origin, "/oauth/bomb/token"))
        tracemalloc.start()
        try:
            with closing(client.send(request, stream=True)) as response:
                raw = b"".join(response.iter_raw())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert raw == BOMB
    assert peak < 4 * 1024 * 1024  # 64 MiB if decoded whole
    (span,) = attrs(telemetry)
    assert span["hgobs.response.body_read"] is False
    assert span["hgobs.http.status"] == 400
    assert open_spans.open_names() == []


# -- every span ends -------------------------------------------------------------------------------

def test_streamed_body_that_cannot_be_decoded_ends_the_span(server, telemetry, open_spans):
    """``Content-Encoding: gzip`` over bytes that are not gzip: the application's DecodingError
    is its own, and our span ends with the record (no body)."""
    with httpx.Client() as client:
        hgobs.instrument_client(client, **options(server, telemetry))
        request = client.build_request("POST", f"{server.origin}/oauth/garbage/token",
                                       data=token_form(server.origin, "/oauth/garbage/token"))
        with closing(client.send(request, stream=True)) as response, \
                pytest.raises(httpx.DecodingError):
            response.read()
    assert open_spans.open_names() == []
    (span,) = attrs(telemetry)
    assert span["hgobs.response.body_read"] is False


def test_stream_closed_early_or_dropped_unread_ends_the_span(server, telemetry, open_spans):
    """A stream closed after its first byte, and one never read and garbage-collected."""
    with httpx.Client() as client:
        hgobs.instrument_client(client, **options(server, telemetry))
        request = client.build_request("POST", f"{server.origin}/oauth/token",
                                       data=token_form(server.origin))
        with closing(client.send(request, stream=True)) as response:
            next(response.iter_raw(1))
        response = client.send(client.build_request("POST", f"{server.origin}/oauth/token",
                                                    data=token_form(server.origin)), stream=True)
        del response
        gc.collect()
    assert open_spans.open_names() == []
    assert len(telemetry.ours()) == 2


def test_done_raising_still_ends_the_span(server, telemetry, open_spans, monkeypatch):
    """A failure while finishing a streamed record is swallowed; the span still ends."""
    def boom(*args: Any) -> None:
        raise RuntimeError("decoder failure")

    monkeypatch.setattr("hgobs.capture.recorder.decode_bounded", boom)
    before = guard.errors_swallowed
    with httpx.Client() as client:
        hgobs.instrument_client(client, **options(server, telemetry))
        request = client.build_request("POST", f"{server.origin}/oauth/token",
                                       data=token_form(server.origin))
        with closing(client.send(request, stream=True)) as response:
            assert json.loads(response.read())["access_token"] == NEW
    assert guard.errors_swallowed > before
    assert open_spans.open_names() == []


# -- failing clock, providers, options --------------------------------------------------------------

class RaisingProvider:
    """A tracer and meter provider whose every call raises."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("tracer provider down")

    def get_meter(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("meter provider down")


def test_raising_clock_tracer_and_meter_providers_never_reach_the_application(server, tmp_path):
    """The application gets its responses; hgobs still writes its records (system clock)."""
    jsonl = tmp_path / "a.jsonl"

    def clock() -> float:
        raise OSError("clock down")

    with httpx.Client() as client:
        hgobs.instrument_client(client, profile=profile(server.origin), fingerprint_key=FP_KEY,
                                clock=clock, jsonl_path=jsonl,
                                tracer_provider=RaisingProvider(),
                                meter_provider=RaisingProvider())
        assert client.post(f"{server.origin}/oauth/token",
                           data=token_form(server.origin)).status_code == 200
        assert client.get(f"{server.origin}/fhir/Patient/1").status_code == 401
        hgobs.uninstrument_client(client)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["endpoint.kind"] for r in records] == ["token_exchange", "api_call"]
    assert all(abs(r["time"] - time.time()) < 60 for r in records)


@pytest.mark.parametrize("reading", [None, "1764000000", float("nan"), float("inf"), 10**400,
                                     True], ids=["none", "str", "nan", "inf", "huge", "bool"])
def test_a_clock_that_returns_no_time_costs_no_record(server, tmp_path, reading):
    """A clock returning something that is not finite epoch seconds: the record is kept, at
    the system clock's time (before, it was lost to a TypeError or written with a null time)."""
    jsonl = tmp_path / "a.jsonl"
    with httpx.Client() as client:
        hgobs.instrument_client(client, profile=profile(server.origin), fingerprint_key=FP_KEY,
                                clock=lambda: reading, jsonl_path=jsonl)
        client.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
        hgobs.uninstrument_client(client)
    (record,) = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert abs(record["time"] - time.time()) < 60


def test_bad_options_never_raise_from_instrument_client(server, caplog):
    """A bad keyword option leaves the client uninstrumented, with one warning."""
    with httpx.Client() as client, caplog.at_level(logging.WARNING, "hgobs.internal"):
        hgobs.instrument_client(client, profile="/nonexistent/profile.toml")
        assert "send" not in vars(client)
        assert client.post(f"{server.origin}/oauth/token", data={}).status_code == 200
    assert any("not instrumenting this client, bad setting" in r.getMessage()
               for r in caplog.records)


class HostileError(Exception):
    """An application exception whose attributes raise when read, and whose text raises."""

    @property
    def response(self) -> Any:
        raise RuntimeError("response attribute raises")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # Python's own look-ups (``__notes__``) expect AttributeError
            raise AttributeError(name)
        raise RuntimeError(f"no {name}")

    def __str__(self) -> str:
        raise RuntimeError("str raises")


@pytest.mark.parametrize("path", ["/oauth/token", "/fhir/Patient/1"])
def test_hostile_exception_is_reraised_as_the_same_object(server, telemetry, path):
    """An event hook's exception reaches the application as the same object, with its own
    traceback (innermost frame the hook) and no context added."""
    raised: list[BaseException] = []

    def hook(response: httpx.Response) -> None:
        error = HostileError()
        raised.append(error)
        raise error

    with httpx.Client(event_hooks={"response": [hook]}) as client:
        hgobs.instrument_client(client, **options(server, telemetry))
        with pytest.raises(HostileError) as info:
            client.post(server.origin + path, data=token_form(server.origin))
    assert info.value is raised[0]
    assert info.value.__context__ is None and info.value.__cause__ is None
    tb = info.value.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_code.co_name == "hook"
    if path == "/oauth/token":  # the exchange is still recorded, as failed with that error
        assert [a.get("hgobs.error.type") for a in attrs(telemetry)] == ["HostileError"]


# -- httpx.Auth flows that retry on 401 ------------------------------------------------------------

class RefreshOn401(httpx.Auth):
    """Sends the cached bearer; on 401 fetches a new one with a yielded token request and
    sends the same request object again (the httpx documentation's refresh pattern)."""

    requires_response_body = True

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.token = OLD

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:
            got = yield httpx.Request("POST", f"{self.origin}/oauth/token",
                                      data=token_form(self.origin))
            self.token = got.json()["access_token"]
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request


def _check_retry_records(telemetry: Any) -> None:
    from hgobs.redaction import Fingerprinter

    spans = sorted(attrs(telemetry), key=lambda a: a["hgobs.endpoint.kind"])
    assert [(a["hgobs.endpoint.kind"], a["hgobs.http.status"]) for a in spans] == \
        [("api_call", 401), ("token_exchange", 200)]
    assert spans[0]["hgobs.presented.fp"] == Fingerprinter(FP_KEY)(OLD)


def test_refused_attempt_of_a_refreshing_auth_flow_is_recorded(server, telemetry):
    """The 401 an ``httpx.Auth`` flow retries after a refresh is recorded once, with the
    credential it was sent with; the token request too; the application gets the 200."""
    with httpx.Client() as client:
        hgobs.instrument_client(client, **options(server, telemetry))
        response = client.get(f"{server.origin}/fhir/Patient/1", auth=RefreshOn401(server.origin))
    assert response.status_code == 200
    _check_retry_records(telemetry)


def test_refused_attempt_of_a_refreshing_auth_flow_is_recorded_async(server, telemetry):
    """The async twin, with global and per-client instrumentation together (still once)."""
    async def run() -> int:
        async with httpx.AsyncClient() as client:
            hgobs.instrument_client(client, **options(server, telemetry))
            response = await client.get(f"{server.origin}/fhir/Patient/1",
                                        auth=RefreshOn401(server.origin))
            return response.status_code

    instrumentor = hgobs.HGAuthInstrumentor()
    instrumentor.instrument(**options(server, telemetry))
    try:
        assert asyncio.run(run()) == 200
    finally:
        instrumentor.uninstrument()
    _check_retry_records(telemetry)


# -- text that is not valid Unicode --------------------------------------------------------------

def test_lone_surrogates_never_cost_a_record(server, telemetry, tmp_path):
    """An error description with lone surrogates (JSON ``\\ud800``) reaches the JSON Lines
    file, the OTLP encoding of the span and a UTF-8 log handler, as U+FFFD."""
    jsonl = tmp_path / "a.jsonl"
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    handler = logging.StreamHandler(stream)
    handler.emit = lambda record: stream.write(json.dumps(  # type: ignore[method-assign]
        {k: v for k, v in record.__dict__.items() if k.startswith("hgobs.")},
        ensure_ascii=False) + "\n")
    with httpx.Client() as client, collect_logs() as logs:
        logging.getLogger("hgobs").addHandler(handler)
        try:
            hgobs.instrument_client(client, **options(server, telemetry, jsonl_path=jsonl))
            client.post(f"{server.origin}/oauth/surrogate/token",
                        data=token_form(server.origin, "/oauth/surrogate/token"))
            flush_all()
            stream.flush()
        finally:
            logging.getLogger("hgobs").removeHandler(handler)
    want = "bad \ufffd text \ufffd"
    (record,) = [json.loads(line) for line in jsonl.read_bytes().decode("utf-8").splitlines()]
    assert record["response.error_description"] == want
    (span,) = telemetry.ours()
    assert span.attributes["hgobs.response.error_description"] == want
    encoded = encode_spans([span]).SerializeToString()
    assert want.encode("utf-8") in encoded
    logged = stream.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]
    assert json.loads(logged)["hgobs.response.error_description"] == want
    assert len(logs.records) == 1
