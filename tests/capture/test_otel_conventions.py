"""OpenTelemetry conventions of our spans and metrics: names, ``error.type``, schema URL, exemplars.

Our span is named ``{method}`` when it is the HTTP CLIENT span (no HTTP span was made inside
it) and ``hgobs <endpoint kind>`` otherwise; a failure sets ``error.type`` on it and on the
``hgobs.attempts`` point; the tracer and meter carry the semconv schema URL; metric exemplars
point at our span, not at the application's or the HTTP span that is current.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor, SyncOpenTelemetryTransport
from opentelemetry.sdk.metrics import MeterProvider, TraceBasedExemplarFilter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind

import hgobs
from hgobs.sinks.otel import SCHEMA_URL
from tests.support.cases import make_jwt
from tests.support.emitted import loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

JSON = ("content-type", "application/json")
SUCCESS = Reply(200, [JSON], json.dumps({"access_token": "at-0123456789abcdef",
                                         "token_type": "Bearer", "expires_in": 3600}).encode())
INVALID_GRANT = Reply(400, [JSON], b'{"error": "invalid_grant", "error_description": "expired"}')
REDIRECT = Reply(302, [("location", "/oauth/token")], b"")
UNAUTHORIZED = Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')], b"")
HTTP_KEYS = {"http.request.method", "url.full", "server.address", "server.port"}


@pytest.fixture(scope="module")
def server() -> Iterator[LoopServer]:
    s = LoopServer()
    yield s
    s.stop()


def token_form(origin: str) -> dict[str, str]:
    now = int(time.time())
    return {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": make_jwt(
        {"alg": "HS256", "typ": "JWT"},
        {"iss": "client-0001", "sub": "client-0001", "aud": f"{origin}/oauth/token",
         "iat": now, "exp": now + 300, "jti": f"jti-{time.perf_counter_ns()}"})}


def instrument(client: httpx.Client, server: LoopServer, telemetry: Any,
               meter_provider: Any = None) -> None:
    hgobs.instrument_client(client, profile=loop_profile(server.origin),
                            tracer_provider=telemetry.tracer_provider,
                            meter_provider=meter_provider or telemetry.meter_provider)


# -- span names -------------------------------------------------------------------------------

def test_client_spans_are_named_by_their_method(server, telemetry):
    """hgobs alone: the exchange's CLIENT span is ``POST``, the refused API call's ``GET``."""
    server.script.load([SUCCESS, UNAUTHORIZED])
    with httpx.Client() as c:
        instrument(c, server, telemetry)
        c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
        c.get(f"{server.origin}/fhir/R4/Patient/pat-8842", headers={"Authorization": "Bearer a1"})
    exchange, api = sorted(telemetry.ours(), key=lambda s: s.start_time)
    assert (exchange.kind, exchange.name) == (SpanKind.CLIENT, "POST")
    assert (api.kind, api.name) == (SpanKind.CLIENT, "GET")
    assert "url.template" not in api.attributes  # opt-in in the HTTP semconv: not set


@pytest.mark.parametrize("how", ["keyword", "environment"])
def test_url_template_when_enabled(server, telemetry, monkeypatch, how):
    """With ``url_template`` (keyword or ``HGOBS_URL_TEMPLATE=true``) the CLIENT spans carry
    the redacted path as ``url.template`` and are named ``{method} {url.template}``."""
    server.script.load([SUCCESS, UNAUTHORIZED])
    extra = {"url_template": True} if how == "keyword" else {}
    if how == "environment":
        monkeypatch.setenv("HGOBS_URL_TEMPLATE", "TRUE")
    with httpx.Client() as c:
        hgobs.instrument_client(c, profile=loop_profile(server.origin),
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider, **extra)
        c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
        c.get(f"{server.origin}/fhir/R4/Patient/pat-8842/_history/3?family=Smith",
              headers={"Authorization": "Bearer a1"})
    exchange, api = sorted(telemetry.ours(), key=lambda s: s.start_time)
    assert (exchange.name, exchange.attributes["url.template"]) == ("POST /oauth/token",
                                                                     "/oauth/token")
    assert (api.name, api.attributes["url.template"]) == (
        "GET /fhir/R4/Patient/{id}/_history/{vid}", "/fhir/R4/Patient/{id}/_history/{vid}")


def test_url_template_setting_must_be_true_or_false(monkeypatch):
    """A value of ``HGOBS_URL_TEMPLATE`` other than true/false words is a ConfigError naming it."""
    from hgobs.config import resolve_options
    from hgobs.errors import ConfigError

    assert resolve_options({"HGOBS_URL_TEMPLATE": "off"}).url_template is False
    assert resolve_options({}).url_template is False
    with pytest.raises(ConfigError, match="HGOBS_URL_TEMPLATE"):
        resolve_options({"HGOBS_URL_TEMPLATE": "sometimes"})


def test_unknown_method_is_other_and_the_span_is_named_http(server, telemetry):
    """A method outside RFC 9110/5789: ``_OTHER`` plus the original, span name ``HTTP``."""
    server.script.load([UNAUTHORIZED])
    with httpx.Client() as c:
        instrument(c, server, telemetry)
        c.request("PURGE", f"{server.origin}/fhir/R4/Patient/1",
                  headers={"Authorization": "Bearer a1"})
    (span,) = telemetry.ours()
    assert span.name == "HTTP"
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "PURGE"
    assert span.attributes["hgobs.http.method"] == "PURGE"


def test_span_started_as_client_is_named_internal_when_an_http_span_was_made_inside(
        server, telemetry):
    """An OTel transport the client does not know of: our span keeps the ``hgobs`` name and
    no HTTP attributes, since the HTTP span under it is the CLIENT span of the request."""
    transport = SyncOpenTelemetryTransport(httpx.HTTPTransport(),
                                           tracer_provider=telemetry.tracer_provider)
    server.script.load([SUCCESS])
    with httpx.Client(transport=transport) as c:
        instrument(c, server, telemetry)
        c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    (ours,) = telemetry.ours()
    (http,) = [s for s in telemetry.spans() if s.instrumentation_scope.name != "hgobs"]
    assert http.parent is not None and http.parent.span_id == ours.context.span_id
    assert ours.name == "hgobs token_exchange"
    assert not HTTP_KEYS & set(ours.attributes)


class CoreTransport(httpx.BaseTransport):
    """A transport straight on httpcore, which OpenTelemetry's httpx instrumentation does not
    wrap (it wraps ``httpx.HTTPTransport``)."""

    def __init__(self) -> None:
        self.pool = httpcore.ConnectionPool()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        got = self.pool.request(request.method, str(request.url), headers=request.headers.raw,
                                content=request.read())
        return httpx.Response(got.status, headers=got.headers, content=got.content)

    def close(self) -> None:
        self.pool.close()


def test_span_started_as_internal_is_named_by_method_when_no_http_span_was_made(
        server, telemetry):
    """Global OTel httpx but an unwrapped transport: our span carries the HTTP attributes and
    is named by the method, as the span that stands for the request."""
    HTTPXClientInstrumentor().instrument(tracer_provider=telemetry.tracer_provider)
    try:
        server.script.load([INVALID_GRANT])
        with httpx.Client(transport=CoreTransport()) as c:
            instrument(c, server, telemetry)
            c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    finally:
        HTTPXClientInstrumentor().uninstrument()
    (ours,) = telemetry.spans()
    assert ours.kind is SpanKind.INTERNAL  # chosen at start, when OTel httpx was on
    assert ours.name == "POST"
    assert ours.attributes["http.request.method"] == "POST"
    assert ours.attributes["error.type"] == "400"


# -- error.type -------------------------------------------------------------------------------

def test_error_type_follows_the_http_rule_on_client_spans(server, telemetry):
    """CLIENT span: the status code of an error response; the category id for a failure in a
    response whose status is no error (a redirect not followed); nothing for a success."""
    server.script.load([INVALID_GRANT, REDIRECT, SUCCESS])
    with httpx.Client() as c:
        instrument(c, server, telemetry)
        for _ in range(3):
            c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    refused, redirected, ok = sorted(telemetry.ours(), key=lambda s: s.start_time)
    assert refused.attributes["error.type"] == "400"
    assert redirected.attributes["http.response.status_code"] == 302
    assert redirected.attributes["error.type"] == redirected.attributes["hgobs.category"] \
        == "redirect_dropped_body"
    assert "error.type" not in ok.attributes


@pytest.mark.parametrize("replies", [[INVALID_GRANT], [SUCCESS]], ids=["failed", "ok"])
def test_error_type_on_internal_span_is_the_category(server, telemetry, replies):
    """INTERNAL span (under OTel httpx): ``error.type`` is the category id of a failure, and
    absent for a success; the HTTP child keeps its own ``error.type``."""
    server.script.load(replies)
    with httpx.Client() as c:
        HTTPXClientInstrumentor().instrument_client(c, tracer_provider=telemetry.tracer_provider)
        instrument(c, server, telemetry)
        c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    (ours,) = telemetry.ours()
    assert ours.kind is SpanKind.INTERNAL
    if ours.attributes["hgobs.outcome"] == "failed":
        assert ours.attributes["error.type"] == ours.attributes["hgobs.category"]
    else:
        assert "error.type" not in ours.attributes


# -- schema URL and exemplars -----------------------------------------------------------------

def test_tracer_and_meter_carry_the_schema_url(server, telemetry):
    """Our spans' and metrics' instrumentation scope has the semconv schema URL."""
    server.script.load([INVALID_GRANT])
    with httpx.Client() as c:
        instrument(c, server, telemetry)
        c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    (span,) = telemetry.ours()
    assert span.instrumentation_scope.schema_url == SCHEMA_URL
    data = telemetry.reader.get_metrics_data()
    scopes = [sm.scope for rm in data.resource_metrics for sm in rm.scope_metrics
              if sm.scope.name == "hgobs"]
    assert [s.schema_url for s in scopes] == [SCHEMA_URL]
    assert SCHEMA_URL.startswith("https://opentelemetry.io/schemas/1.")


def test_exemplars_point_at_our_span(server, telemetry):
    """Under an application span and OTel httpx, every exemplar of a counted attempt and of the
    duration histogram carries our span's trace id and span id."""
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader], exemplar_filter=TraceBasedExemplarFilter())
    server.script.load([INVALID_GRANT, UNAUTHORIZED])
    app = telemetry.tracer_provider.get_tracer("app")
    with httpx.Client() as c:
        HTTPXClientInstrumentor().instrument_client(c, tracer_provider=telemetry.tracer_provider)
        instrument(c, server, telemetry, meters)
        with app.start_as_current_span("app work"):
            c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
            c.get(f"{server.origin}/fhir/R4/Patient/1", headers={"Authorization": "Bearer a1"})
    ours = {s.attributes["hgobs.endpoint.kind"]: s.context for s in telemetry.ours()}
    metrics = {m.name: m for rm in reader.get_metrics_data().resource_metrics
               for sm in rm.scope_metrics for m in sm.metrics}
    counted = [p for p in metrics["hgobs.attempts"].data.data_points if p.value]
    assert len(counted) == 2
    for point in counted:
        want = ours[point.attributes["hgobs.endpoint.kind"]]
        assert [(e.trace_id, e.span_id) for e in point.exemplars] == [(want.trace_id,
                                                                       want.span_id)]
    (duration,) = metrics["hgobs.exchange.duration"].data.data_points
    assert [(e.trace_id, e.span_id) for e in duration.exemplars] == [
        (ours["token_exchange"].trace_id, ours["token_exchange"].span_id)]
    meters.shutdown()


def test_metrics_and_jsonl_record_what_the_sampler_drops(server, tmp_path):
    """With a sampler that drops every span, each attempt is still counted and written as a
    JSON Lines record: they are the unsampled record."""
    tracer_provider = TracerProvider(sampler=ALWAYS_OFF)
    exporter = InMemorySpanExporter()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    server.script.load([SUCCESS, INVALID_GRANT, UNAUTHORIZED])
    with httpx.Client() as c:
        hgobs.instrument_client(c, profile=loop_profile(server.origin),
                                jsonl_path=tmp_path / "a.jsonl", tracer_provider=tracer_provider,
                                meter_provider=meters)
        c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
        c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
        c.get(f"{server.origin}/fhir/R4/Patient/1", headers={"Authorization": "Bearer a1"})
        hgobs.uninstrument_client(c)
    assert exporter.get_finished_spans() == ()
    (attempts,) = [m for rm in reader.get_metrics_data().resource_metrics
                   for sm in rm.scope_metrics for m in sm.metrics if m.name == "hgobs.attempts"]
    assert sum(p.value for p in attempts.data.data_points) == 3
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert [json.loads(line)["outcome"] for line in lines] == ["ok", "failed", "failed"]
    tracer_provider.shutdown()
    meters.shutdown()
