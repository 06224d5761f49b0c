"""Each shortcut capture takes for speed gives exactly what the general way gives."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from hgobs.capture import parentage
from hgobs.facts.record import scrub_keys
from hgobs.schema import ATTRIBUTE_PREFIX, scalar_attributes
from hgobs.scrub import scrub_text
from hgobs.sinks.otel import METRIC_ATTRIBUTES, Metrics, record_attributes

SECRET = "Zq8vN3kR7wT1yP5s"
BRACKETED = "ab[redacted]cd9"


@pytest.mark.parametrize("text", [
    f"echo {SECRET[:9]} and {SECRET}", "already [redacted] here", f"x{BRACKETED}y [redacted]",
])
def test_scrubbing_with_each_known_secret_once_removes_the_same(text):
    """Dropping repeated and short known secrets leaves the scrubbed text as it was."""
    known = [SECRET, "short", BRACKETED, SECRET, "redacted", BRACKETED, SECRET]
    assert scrub_keys(known) == (SECRET, BRACKETED, "redacted", BRACKETED)
    assert scrub_text(text, scrub_keys(known)) == scrub_text(text, known)


def test_record_attributes_are_the_schema_scalars_with_the_prefix():
    """One-pass span attributes equal ``scalar_attributes`` with ``hgobs.`` keys."""
    record = {"http.status": 400, "url": "https://a.example.org/t", "dropped": None,
              "evidence": ["a", 1, None], "request.is_form": True, "duration_s": 0.25}
    assert record_attributes(record) == {ATTRIBUTE_PREFIX + k: v
                                         for k, v in scalar_attributes(record).items()}


def test_metric_attribute_sets_are_made_as_before():
    """The cached metric attribute sets hold the record's values under ``hgobs.`` keys."""
    values = ("failed", "clock_skew", "sandbox", "token_exchange", "epic")
    attrs, base = Metrics._attributes(values)
    assert attrs == {**{ATTRIBUTE_PREFIX + k: v for k, v in zip(METRIC_ATTRIBUTES, values, strict=True)},
                     "error.type": "clock_skew"}
    assert attrs["hgobs.profile"] == "epic"
    assert base == {"hgobs.environment": "sandbox", "hgobs.outcome": "failed",
                    "hgobs.profile": "epic"}


def _request_with_context(textmap) -> tuple[httpx.Request, trace.SpanContext]:
    span = TracerProvider().get_tracer("t").start_span("http")
    request = httpx.Request("POST", "https://a.example.org/token")
    textmap.inject(request.headers, context=trace.set_span_in_context(span))
    request.headers["tracestate"] = "vendor=value"
    request.headers["baggage"] = "k=v"
    return request, span.get_span_context()


@pytest.mark.parametrize("textmap", [
    CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()]),
    TraceContextTextMapPropagator(),
    CompositePropagator([W3CBaggagePropagator()]),
    CompositePropagator([TraceContextTextMapPropagator(), type("Mine", (W3CBaggagePropagator,), {})()]),
], ids=["default", "tracecontext", "baggage-only", "custom-part"])
def test_http_span_context_matches_the_global_propagator(textmap, monkeypatch):
    """The HTTP span read from the headers is the one the global propagator extracts."""
    monkeypatch.setattr(propagate, "_HTTP_TEXT_FORMAT", textmap)
    request, injected = _request_with_context(CompositePropagator(
        [TraceContextTextMapPropagator(), W3CBaggagePropagator()]))
    expected = trace.get_current_span(propagate.extract(request.headers)).get_span_context()
    got = parentage.http_span_context(request)
    if expected.is_valid:
        assert got == expected and got.trace_id == injected.trace_id
        assert got.trace_state == expected.trace_state
    else:
        assert got is None


def test_http_dates_read_again_give_the_same_seconds():
    """A repeated or alternating Date header is read as when parsed afresh."""
    from email.utils import parsedate_to_datetime

    from hgobs.facts.exchange import http_date

    dates = ["Thu, 01 Jan 2026 00:00:07 GMT", "Thu, 01 Jan 2026 00:00:08 GMT", "garbage"]
    for value in dates * 3:
        expected = None if value == "garbage" else parsedate_to_datetime(value).timestamp()
        assert http_date(value) == expected


@pytest.mark.parametrize("url", ["https://a.example.org/token",
                                 "https://a.example.org/token?client_secret=s3cr3t-value&x="])
def test_echoable_values_are_the_query_values_and_unusual_headers(url):
    """Query values (a blank one's name: a value in the name position) and non-protocol header
    values are the echoables."""
    from hgobs.facts.record import _echoable_values

    request = httpx.Request("POST", url, headers={"X-Api-Key": "k-123456789", "Accept": "*/*"})
    expected = [v or k for k, v in request.url.params.multi_items()] + ["k-123456789"]
    assert _echoable_values(str(request.url), request.headers) == expected


def _child_by_extraction(request: httpx.Request, own: trace.SpanContext) -> bool:
    child = trace.get_current_span(propagate.extract(request.headers)).get_span_context()
    return child.is_valid and child.trace_id == own.trace_id and child.span_id != own.span_id


def _traceparents(own: trace.SpanContext) -> list[str]:
    ours, other = trace.format_trace_id(own.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736"
    span, zero_trace, zero_span = "00f067aa0ba902b7", "0" * 32, "0" * 16
    own_span = trace.format_span_id(own.span_id)
    return [
        f"00-{ours}-{span}-01", f"00-{ours}-{span}-00", f"00-{ours}-{own_span}-01",
        f"00-{other}-{span}-01", f"00-{zero_trace}-{span}-01", f"00-{ours}-{zero_span}-01",
        f"00-{ours.upper()}-{span}-01", f" 00-{ours}-{span}-01", f"00-{ours}-{span}-01 ",
        f"00-{ours}-{span}-01-extra", f"01-{ours}-{span}-01-extra", f"ff-{ours}-{span}-01",
        f"01-{ours}-{span}-01", f"00-{ours}-{span}-1", f"00-{ours}-{span}-0g", f"00-{ours}{span}-01",
        f"00-{ours}-{span}-01, 00-{other}-{span}-01", "", "garbage",
    ]


@pytest.mark.parametrize("tracestate", [None, "vendor=value", "not a tracestate"])
def test_http_child_read_from_the_header_text_matches_the_extraction(tracestate):
    """The HTTP child span found by comparing header text is the one extraction finds."""
    span = TracerProvider().get_tracer("t").start_span("ours")
    own = span.get_span_context()
    invalid = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
    for traceparent in _traceparents(own):
        headers = {"traceparent": traceparent}
        if tracestate is not None:
            headers["tracestate"] = tracestate
        request = httpx.Request("POST", "https://a.example.org/token", headers=headers)
        assert parentage.has_http_child(request, span) == _child_by_extraction(request, own), \
            traceparent
        assert parentage.has_http_child(request, invalid) is False
    assert parentage.has_http_child(httpx.Request("GET", "https://a.example.org/"), span) is False


@pytest.mark.parametrize("headers", [
    [("Host", "a.example.org"), ("Accept", "*/*"), ("TRACEPARENT", "00-x"), ("Content-Type", "a/b")],
    [("Accept", "*/*"), ("X-Api-Key", "k-1"), ("x-api-key", "k-2"), ("Accept", "text/html")],
    [("Accept", "caf\u00e9".encode("latin-1")), ("X-Note", "\u00e9t\u00e9".encode())],
    [("Accept", ""), ("X-Empty", "")],
], ids=["plain", "repeated", "encodings", "empty"])
def test_echoable_header_values_are_the_unusual_ones_as_items_gives_them(headers):
    """Header echoables equal the non-protocol values of ``headers.items()``."""
    from hgobs.facts.record import _PLAIN_HEADERS, _echoable_values

    request = httpx.Request("POST", "https://a.example.org/token", headers=headers)
    expected = [v for k, v in request.headers.items() if k.lower() not in _PLAIN_HEADERS and v]
    assert _echoable_values(str(request.url), request.headers) == expected


@pytest.mark.parametrize("headers", [
    [("Date", "Thu, 01 Jan 2026 00:00:07 GMT"), ("Content-Type", "application/json")],
    [("WWW-Authenticate", 'Bearer error="a"'), ("www-authenticate", "Basic"), ("Retry-After", "5")],
    [("Location", "/x"), ("X-Other", "y"), ("content-type", "text/plain; charset=\u00e9".encode())],
    [],
], ids=["usual", "repeated", "encodings", "none"])
def test_response_headers_read_in_one_pass_are_what_get_gives(headers):
    """Each header the record reads has the value ``headers.get`` gives, or is absent."""
    from hgobs.capture.record import response_headers
    from hgobs.facts.record import RESPONSE_HEADERS

    got = response_headers(httpx.Headers(headers))
    for name in RESPONSE_HEADERS:
        assert got.get(name) == httpx.Headers(headers).get(name)


@pytest.mark.parametrize("limit", [None, 10], ids=["default", "ten-attributes"])
def test_span_attributes_set_in_one_call_are_those_set_in_two(limit):
    """Record and HTTP attributes set together leave the span as setting them one after the
    other did: same attributes, order, values and dropped count, also when the limit cuts."""
    from opentelemetry.sdk.trace import SpanLimits

    from hgobs.sinks.otel import finish_span, semconv_attributes

    record = {"http.method": "POST", "url": "https://a.example.org:8443/oauth/token?scope",
              "url.scheme": "https", "server.address": "a.example.org", "http.status": 400,
              "evidence": ["a=1", "b"], "outcome": "failed", "category": "clock_skew",
              "request.is_form": True, "clock.offset_s": -3.5, "time": 1.0, "x.other": None}
    tracer = TracerProvider(span_limits=SpanLimits(max_span_attributes=limit)).get_tracer("t")
    one, two = tracer.start_span("one"), tracer.start_span("two")
    finish_span(one, record, http_attributes=True)
    two.set_attributes(record_attributes(record))
    two.set_attributes(semconv_attributes(record, record["url"]))
    assert list(one.attributes.items()) == list(two.attributes.items())
    assert one.dropped_attributes == two.dropped_attributes
    assert ("server.port", 8443) in one.attributes.items()


@pytest.mark.parametrize("url", [
    "https://a.example.org/oauth/token", "https://A.Example.org:8443/oauth/token",
    "http://[::1]:8080/token", "https://a.example.org/fhir/R4/Patient/123?name=x",
    "https://user:pw@a.example.org/token", "https://a.example.org/token#frag",
])
def test_url_facts_remembered_are_those_read_afresh(url):
    """Redacted URL, scheme and host of a request URL are the same read again."""
    from urllib.parse import urlsplit

    from hgobs.facts.record import _url_facts
    from hgobs.redaction import redact_url

    expected = (redact_url(url), urlsplit(url).scheme, urlsplit(url).hostname)
    assert _url_facts(url) == _url_facts(url) == expected
