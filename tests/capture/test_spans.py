"""Span structure and metrics: one hgobs span per recorded attempt, in the right place of the trace.

With OpenTelemetry's httpx instrumentation active (per client or global), a token exchange is one
INTERNAL hgobs span whose children are the HTTP CLIENT spans, one per redirect hop; without it,
our span is the CLIENT span and carries the HTTP semantic-convention attributes. A refused API
call is recorded after the fact, as a child of its HTTP span; a successful one is not recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import trustme
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.trace import SpanKind, StatusCode

import hgobs
from tests.support.cases import make_jwt
from tests.support.emitted import Emitted, collect_logs, loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer, closed_port

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JSON = ("content-type", "application/json")
SUCCESS = Reply(200, [JSON], json.dumps({"access_token": "at-0123456789abcdef",
                                         "token_type": "Bearer", "expires_in": 3600}).encode())
INVALID_GRANT = Reply(400, [JSON], b'{"error": "invalid_grant", "error_description": "expired"}')
UNAUTHORIZED = Reply(401, [("www-authenticate", 'Bearer error="invalid_token"')], b"")
SEMCONV_PREFIXES = ("http.", "url.", "server.", "error.", "network.", "user_agent.")
OTEL_MODES = ["otel-client", "otel-global"]


@pytest.fixture(scope="module")
def server() -> Iterator[LoopServer]:
    s = LoopServer(ca=trustme.CA())
    yield s
    s.stop()


def token_form(origin: str, exp_in: int = 300) -> dict[str, str]:
    now = int(time.time())
    return {"grant_type": JWT_BEARER, "assertion": make_jwt(
        {"alg": "HS256", "typ": "JWT"},
        {"iss": "client-0001", "sub": "client-0001", "aud": f"{origin}/oauth/token",
         "iat": now, "exp": now + exp_in, "jti": f"jti-{time.perf_counter_ns()}"})}


@pytest.fixture
def client(request, server, telemetry, tmp_path) -> Iterator[httpx.Client]:
    """An hgobs-recorded client (JSONL in tmp_path); param: none, otel-client or otel-global."""
    otel = getattr(request, "param", "none")
    with httpx.Client(verify=server.tls) as c:
        if otel == "otel-client":
            HTTPXClientInstrumentor().instrument_client(
                c, tracer_provider=telemetry.tracer_provider)
        elif otel == "otel-global":
            HTTPXClientInstrumentor().instrument(tracer_provider=telemetry.tracer_provider)
        hgobs.instrument_client(c, profile=loop_profile(server.origin),
                                jsonl_path=tmp_path / "attempts.jsonl",
                                tracer_provider=telemetry.tracer_provider,
                                meter_provider=telemetry.meter_provider)
        try:
            yield c
        finally:
            hgobs.uninstrument_client(c)
            if otel == "otel-global":
                HTTPXClientInstrumentor().uninstrument()


def http_spans(telemetry: Any) -> list[Any]:
    return [s for s in telemetry.spans() if s.kind is SpanKind.CLIENT]


def semconv_keys(span: Any) -> list[str]:
    return sorted(k for k in span.attributes if k.startswith(SEMCONV_PREFIXES))


def redirects(server: LoopServer, hops: int, final: Reply) -> None:
    server.script.load([Reply(307, [("location", "/oauth/token")])] * hops + [final])


# -- with OpenTelemetry's httpx instrumentation ---------------------------------------------

@pytest.mark.parametrize("hops", [0, 1, 2], ids=["direct", "1-redirect", "2-redirects"])
@pytest.mark.parametrize("client", OTEL_MODES, indirect=True)
def test_exchange_under_otel_httpx_is_internal_parent_of_http_spans(client, hops, server,
                                                                     telemetry):
    """One INTERNAL hgobs span without HTTP attributes; one HTTP CLIENT child per hop."""
    redirects(server, hops, INVALID_GRANT)
    client.post(f"{server.origin}/oauth/token", data=token_form(server.origin),
                follow_redirects=True)
    (ours,) = telemetry.ours()
    assert ours.kind is SpanKind.INTERNAL
    assert ours.name == "hgobs token_exchange"
    assert semconv_keys(ours) == ["error.type"]  # the failure's class, no HTTP attribute
    assert ours.attributes["error.type"] == ours.attributes["hgobs.category"]
    children = http_spans(telemetry)
    assert len(children) == hops + 1, "one HTTP span per hop, no duplicates"
    for child in children:
        assert child.instrumentation_scope.name != "hgobs"
        assert child.parent is not None
        assert child.parent.span_id == ours.context.span_id
        assert child.context.trace_id == ours.context.trace_id
    if hops:
        assert ours.attributes["hgobs.redirect.count"] == hops


@pytest.mark.parametrize("client", OTEL_MODES, indirect=True)
def test_refused_api_call_under_otel_httpx_is_child_of_its_http_span(client, server, telemetry):
    """A refused API call gives one INTERNAL hgobs span whose parent is the HTTP CLIENT span."""
    server.script.load([UNAUTHORIZED])
    client.get(f"{server.origin}/fhir/R4/Patient/123",
               headers={"Authorization": "Bearer at-0123456789abcdef"})
    (ours,) = telemetry.ours()
    (http,) = http_spans(telemetry)
    assert ours.kind is SpanKind.INTERNAL
    assert ours.name == "hgobs api_call"
    assert semconv_keys(ours) == ["error.type"]
    assert ours.attributes["error.type"] == ours.attributes["hgobs.category"]
    assert ours.parent is not None and ours.parent.span_id == http.context.span_id
    assert ours.context.trace_id == http.context.trace_id


@pytest.mark.parametrize("client", OTEL_MODES, indirect=True)
def test_refused_api_call_after_redirect_is_child_of_the_last_hop(client, server, telemetry):
    """After a redirect, the refused API call's hgobs span hangs under the last HTTP span."""
    server.script.load([Reply(302, [("location", "/fhir/R4/Patient/456")]), UNAUTHORIZED])
    client.get(f"{server.origin}/fhir/R4/Patient/123", follow_redirects=True,
               headers={"Authorization": "Bearer at-0123456789abcdef"})
    (ours,) = telemetry.ours()
    hops = sorted(http_spans(telemetry), key=lambda s: s.start_time)
    assert len(hops) == 2
    assert ours.parent is not None and ours.parent.span_id == hops[-1].context.span_id


def test_global_instrumentors_together_give_one_span_per_role(server, telemetry):
    """Global hgobs + global OTel httpx: one INTERNAL hgobs span over one HTTP CLIENT span."""
    HTTPXClientInstrumentor().instrument(tracer_provider=telemetry.tracer_provider)
    instrumentor = hgobs.HGAuthInstrumentor()
    instrumentor.instrument(profile=loop_profile(server.origin),
                            tracer_provider=telemetry.tracer_provider,
                            meter_provider=telemetry.meter_provider)
    try:
        server.script.load([INVALID_GRANT])
        with httpx.Client(verify=server.tls) as c:
            c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    finally:
        instrumentor.uninstrument()
        HTTPXClientInstrumentor().uninstrument()
    (ours,) = telemetry.ours()
    (http,) = http_spans(telemetry)
    assert ours.kind is SpanKind.INTERNAL
    assert http.parent is not None and http.parent.span_id == ours.context.span_id


class WrappingTransport(httpx.BaseTransport):
    """A transport that delegates to ``httpx.HTTPTransport`` (as retry or cache layers do)."""

    def __init__(self, verify: Any) -> None:
        self.inner = httpx.HTTPTransport(verify=verify)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_wrapping_transport_under_global_otel_gives_no_duplicate_http_span(server, telemetry):
    """A wrapping transport under global OTel httpx still gives exactly one HTTP CLIENT span."""
    HTTPXClientInstrumentor().instrument(tracer_provider=telemetry.tracer_provider)
    try:
        server.script.load([INVALID_GRANT])
        with httpx.Client(transport=WrappingTransport(server.tls)) as c:
            hgobs.instrument_client(c, profile=loop_profile(server.origin),
                                    tracer_provider=telemetry.tracer_provider)
            c.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    finally:
        HTTPXClientInstrumentor().uninstrument()
    (ours,) = telemetry.ours()
    assert len(http_spans(telemetry)) == 1
    assert ours.kind is SpanKind.INTERNAL
    assert ours.name == "hgobs token_exchange"
    assert semconv_keys(ours) == ["error.type"]


# -- hgobs alone ----------------------------------------------------------------------------

def test_exchange_alone_is_the_client_span_with_http_attributes(client, server, telemetry):
    """Without OTel httpx our span is CLIENT and carries the HTTP semconv attributes."""
    server.script.load([INVALID_GRANT])
    client.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    (span,) = telemetry.spans()
    assert span.instrumentation_scope.name == "hgobs"
    assert span.kind is SpanKind.CLIENT
    attrs = span.attributes
    assert attrs["http.request.method"] == "POST"
    assert attrs["url.full"] == f"{server.origin}/oauth/token"
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == server.port
    assert attrs["http.response.status_code"] == 400
    assert attrs["error.type"] == "400"


def test_refused_api_call_alone_has_redacted_url_full(client, server, telemetry):
    """The CLIENT span of a refused API call has ``url.full`` without query values or ids."""
    server.script.load([UNAUTHORIZED])
    client.get(f"{server.origin}/fhir/R4/Patient/pat-8842/_history/3",
               params={"name": "Rivera", "birthdate": "1970-01-01"},
               headers={"Authorization": "Bearer at-0123456789abcdef"})
    (span,) = telemetry.spans()
    assert span.kind is SpanKind.CLIENT
    assert span.attributes["url.full"] == (
        f"{server.origin}/fhir/R4/Patient/{{id}}/_history/{{vid}}?name&birthdate")
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.response.status_code"] == 401
    assert span.attributes["error.type"] == "401"
    assert span.attributes["server.port"] == server.port


def test_transport_error_alone_sets_error_type_without_status(server, telemetry):
    """A refused connection gives a CLIENT span with ``error.type`` and no status code."""
    origin = f"http://127.0.0.1:{closed_port()}"
    with httpx.Client() as c:
        hgobs.instrument_client(c, profile=loop_profile(origin),
                                tracer_provider=telemetry.tracer_provider)
        with pytest.raises(httpx.ConnectError):
            c.post(f"{origin}/oauth/token", data=token_form(origin))
    (span,) = telemetry.spans()
    assert span.kind is SpanKind.CLIENT
    assert span.attributes["error.type"] == "ConnectError"
    assert "http.response.status_code" not in span.attributes
    assert span.status.status_code is StatusCode.ERROR


@pytest.mark.parametrize("client", ["none", *OTEL_MODES], indirect=True)
def test_successful_api_call_has_no_span_and_no_record(client, server, telemetry, tmp_path):
    """A successful API call gives no hgobs span, metric point, log record or JSON Lines record."""
    server.script.load([Reply(200, [JSON], b'{"resourceType": "Patient"}')])
    with collect_logs() as logs:
        client.get(f"{server.origin}/fhir/R4/Patient/123",
                   headers={"Authorization": "Bearer at-0123456789abcdef"})
    emitted = Emitted(telemetry, logs, tmp_path / "attempts.jsonl")
    assert emitted.spans == []
    # only the zero-valued series every profile combination starts with; nothing counted
    points = [p for m in emitted.metrics for p in m.data.data_points]
    assert points and {m.name for m in emitted.metrics} == {"hgobs.attempts", "hgobs.records.dropped"}
    assert all(p.value == 0 for p in points)
    assert emitted.logs == []
    assert emitted.jsonl_text == ""


# -- status -----------------------------------------------------------------------------------

@pytest.mark.parametrize("client", ["none", *OTEL_MODES], indirect=True)
def test_status_is_error_with_category_on_failure_and_unset_on_success(client, server,
                                                                       telemetry):
    """Failure: status ERROR whose description is the category id; success: status UNSET."""
    server.script.load([SUCCESS, INVALID_GRANT, UNAUTHORIZED])
    client.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    client.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    client.get(f"{server.origin}/fhir/R4/Patient/1", headers={"Authorization": "Bearer at-x1"})
    ok, failed, refused = sorted(telemetry.ours(), key=lambda s: s.start_time)
    assert ok.attributes["hgobs.category"] == "ok"
    assert ok.status.status_code is StatusCode.UNSET
    for span in (failed, refused):
        assert span.attributes["hgobs.outcome"] == "failed"
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == span.attributes["hgobs.category"]
        assert span.status.description in {c.id for c in hgobs.CATALOG}


# -- place in the application's trace -------------------------------------------------------

@pytest.mark.parametrize("client", ["none", *OTEL_MODES], indirect=True)
def test_spans_join_the_application_trace(client, server, telemetry):
    """Under an application span, the exchange span is its child and so is the API chain."""
    tracer = telemetry.tracer_provider.get_tracer("app")
    server.script.load([INVALID_GRANT, UNAUTHORIZED])
    with tracer.start_as_current_span("app work") as app:
        client.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
        client.get(f"{server.origin}/fhir/R4/Patient/1", headers={"Authorization": "Bearer a1"})
    app_ctx = app.get_span_context()
    by_id = {s.context.span_id: s for s in telemetry.spans()}
    for span in telemetry.ours():
        assert span.context.trace_id == app_ctx.trace_id
        chain = span
        while chain.parent is not None and chain.parent.span_id in by_id:
            chain = by_id[chain.parent.span_id]
        assert chain.context.span_id == app_ctx.span_id
    exchange = next(s for s in telemetry.ours()
                    if s.attributes["hgobs.endpoint.kind"] == "token_exchange")
    assert exchange.parent is not None and exchange.parent.span_id == app_ctx.span_id


def test_streamed_exchange_under_otel_ends_after_its_http_span(server, telemetry):
    """A streamed exchange under OTel httpx: our INTERNAL span ends at close, after its child."""
    server.script.load([INVALID_GRANT])
    with httpx.Client(verify=server.tls) as c:
        HTTPXClientInstrumentor().instrument_client(c, tracer_provider=telemetry.tracer_provider)
        hgobs.instrument_client(c, profile=loop_profile(server.origin),
                                tracer_provider=telemetry.tracer_provider)
        with c.stream("POST", f"{server.origin}/oauth/token",
                      data=token_form(server.origin)) as response:
            assert telemetry.ours() == []
            response.read()
    (ours,) = telemetry.ours()
    (http,) = http_spans(telemetry)
    assert http.parent is not None and http.parent.span_id == ours.context.span_id
    assert ours.end_time >= http.end_time
    assert ours.attributes["hgobs.response.error"] == "invalid_grant"


# -- token exchanges made while another request is being sent ---------------------------------

def test_exchange_from_inside_an_auth_flow_is_recorded(server, telemetry):
    """A token exchange a custom ``httpx.Auth`` makes with its own client gets its own span."""
    with httpx.Client(verify=server.tls) as token_client, \
            httpx.Client(verify=server.tls) as api_client:
        for c in (token_client, api_client):
            hgobs.instrument_client(c, profile=loop_profile(server.origin),
                                    tracer_provider=telemetry.tracer_provider)

        class FetchingAuth(httpx.Auth):
            def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
                got = token_client.post(f"{server.origin}/oauth/token",
                                        data=token_form(server.origin))
                request.headers["Authorization"] = f"Bearer {got.json()['access_token']}"
                yield request

        server.script.load([SUCCESS, UNAUTHORIZED])
        api_client.get(f"{server.origin}/fhir/R4/Patient/1", auth=FetchingAuth())
    assert sorted((s.attributes["hgobs.endpoint.kind"], s.name) for s in telemetry.ours()) \
        == [("api_call", "GET"), ("token_exchange", "POST")]


def test_exchange_yielded_by_an_auth_flow_is_recorded(server, telemetry):
    """A token request yielded by an ``httpx.Auth`` flow (the httpx docs' pattern) is recorded."""

    class RefreshingAuth(httpx.Auth):
        requires_response_body = True

        def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
            got = yield httpx.Request("POST", f"{server.origin}/oauth/token",
                                      data=token_form(server.origin))
            request.headers["Authorization"] = f"Bearer {got.json()['access_token']}"
            yield request

    with httpx.Client(verify=server.tls) as c:
        hgobs.instrument_client(c, profile=loop_profile(server.origin),
                                tracer_provider=telemetry.tracer_provider)
        server.script.load([SUCCESS, UNAUTHORIZED])
        c.get(f"{server.origin}/fhir/R4/Patient/1", auth=RefreshingAuth())
    assert sorted((s.attributes["hgobs.endpoint.kind"], s.name) for s in telemetry.ours()) \
        == [("api_call", "GET"), ("token_exchange", "POST")]


# -- metrics ----------------------------------------------------------------------------------

def _metrics(telemetry: Any) -> dict[str, Any]:
    return {m.name: m for m in Emitted(telemetry).metrics}


def test_attempts_counter_has_exactly_the_bounded_attribute_keys(client, server, telemetry):
    """Every ``hgobs.attempts`` point has exactly outcome, category, environment, endpoint kind,
    profile, and on failures ``error.type``, the category id."""
    server.script.load([SUCCESS, INVALID_GRANT, UNAUTHORIZED])
    client.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    client.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    client.get(f"{server.origin}/fhir/R4/Patient/1", headers={"Authorization": "Bearer at-x1"})
    attempts = _metrics(telemetry)["hgobs.attempts"]
    points = list(attempts.data.data_points)
    assert sum(p.value for p in points) == 3
    assert attempts.data.is_monotonic
    for p in points:
        failed = p.attributes["hgobs.outcome"] == "failed"
        assert set(p.attributes) == COUNTER_KEYS | ({"error.type"} if failed else set())
        if failed:
            assert p.attributes["error.type"] == p.attributes["hgobs.category"]
    assert {p.attributes["hgobs.endpoint.kind"] for p in points} == {"token_exchange",
                                                                     "api_call"}
    assert {p.attributes["hgobs.environment"] for p in points} == {"sandbox"}
    assert {p.attributes["hgobs.profile"] for p in points} == {"loop"}


def _two_exchanges(client: httpx.Client, server: LoopServer) -> None:
    """One successful exchange with an assertion valid 300 s, one refused with one expired 120 s."""
    server.script.load([SUCCESS, INVALID_GRANT])
    client.post(f"{server.origin}/oauth/token", data=token_form(server.origin, exp_in=300))
    client.post(f"{server.origin}/oauth/token", data=token_form(server.origin, exp_in=-120))


COUNTER_KEYS = {"hgobs.outcome", "hgobs.category", "hgobs.environment", "hgobs.endpoint.kind",
                "hgobs.profile"}


def test_duration_histogram_is_in_seconds_with_second_sized_buckets(client, server, telemetry):
    """``hgobs.exchange.duration`` is in s, with buckets from milliseconds to tens of seconds."""
    _two_exchanges(client, server)
    duration = _metrics(telemetry)["hgobs.exchange.duration"]
    assert duration.unit == "s"
    points = list(duration.data.data_points)
    assert sum(p.count for p in points) == 2
    for point in points:
        bounds = list(point.explicit_bounds)
        assert bounds == sorted(bounds)
        assert bounds[0] <= 0.01, "sub-10 ms resolution"
        assert sum(1 for b in bounds if b < 1) >= 5, "most buckets below one second"
        assert 5 <= bounds[-1] <= 120, "tops out at tens of seconds, not at 10000 (milliseconds)"
        assert 0 < point.max < 5
        assert set(point.attributes) <= COUNTER_KEYS


def test_expiry_histogram_is_in_seconds_with_second_sized_buckets(client, server, telemetry):
    """``hgobs.assertion.expiry`` is in s, buckets from expired (the first, <= 0) to an hour and more."""
    _two_exchanges(client, server)
    expiry = _metrics(telemetry)["hgobs.assertion.expiry"]
    assert expiry.unit == "s"
    points = list(expiry.data.data_points)
    assert points
    for point in points:
        bounds = list(point.explicit_bounds)
        assert bounds == sorted(bounds)
        assert bounds[0] == 0, "expired assertions are recorded as 0, in the first bucket"
        assert any(30 <= b <= 300 for b in bounds), "minutes-scale buckets for short assertions"
        assert 3600 <= bounds[-1] <= 7 * 86400
        assert set(point.attributes) <= COUNTER_KEYS
    assert max(p.max for p in points) == pytest.approx(300, abs=5)


def test_expiry_histogram_counts_expired_assertions(client, server, telemetry):
    """An expired assertion counts in ``hgobs.assertion.expiry``, as 0 in the first bucket."""
    _two_exchanges(client, server)
    points = list(_metrics(telemetry)["hgobs.assertion.expiry"].data.data_points)
    assert sum(p.count for p in points) == 2
    assert sum(p.bucket_counts[0] for p in points) == 1  # the expired one, recorded as 0
    assert min(p.min for p in points) == 0


def test_no_span_is_left_current_after_a_request(client, server, telemetry):
    """After an instrumented exchange returns, the current span is what it was before."""
    server.script.load([INVALID_GRANT])
    before = trace.get_current_span()
    client.post(f"{server.origin}/oauth/token", data=token_form(server.origin))
    assert trace.get_current_span() is before


def test_attempt_counter_starts_at_zero_for_every_profile_series(client, server, telemetry):
    """Before any attempt, hgobs.attempts has a 0 series per (category, environment, kind)."""
    from hgobs.diagnosis.catalog import CATEGORIES

    points = list(_metrics(telemetry)["hgobs.attempts"].data.data_points)
    keys = {(p.attributes["hgobs.category"], p.attributes["hgobs.endpoint.kind"]) for p in points}
    assert ("ok", "token_exchange") in keys
    assert {c for c, _ in keys} == {"ok", *CATEGORIES}
    assert all(p.value == 0 for p in points)
