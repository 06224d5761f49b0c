"""Other instrumentations' spans and httpx's log line get hgobs's URL redaction for the profile."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
import requests
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import ProxyTracerProvider

from hgobs import HttpxLogRedactor, instrument_client, resolve_options
from hgobs.capture import foreign
from hgobs.capture.spanredactor import SDK_CALLS_ON_ENDING, ForeignSpanRedactor
from hgobs.capture.urlscope import UrlScope, rewrites
from hgobs.errors import ConfigError
from hgobs.profiles import profile_from_mapping
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

API = "https://api.example.test/fhir"
TOKEN = "https://idp.example.test/oauth/token"
PROFILE = profile_from_mapping({"name": "t", "environments": {"sandbox": {
    "token_urls": [TOKEN], "api_bases": [API]}}})
SEARCH = f"{API}/R4/Patient?family=Plantedname&birthdate=1971-02-03"
READ = f"{API}/R4/Patient/a7Planted9id"
USERINFO = "https://svc:Planted-pw-42@idp.example.test/oauth/token"
PLANTED = ("Plantedname", "1971-02-03", "a7Planted9id", "Planted-pw-42")


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """An SDK provider whose exporter is registered BEFORE hgobs's processor."""
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.add_span_processor(ForeignSpanRedactor(UrlScope([PROFILE])))
    yield provider, exporter
    provider.shutdown()


def _exported(exporter: InMemorySpanExporter) -> str:
    return repr([(s.name, dict(s.attributes or {})) for s in exporter.get_finished_spans()])


# The attribute layouts of OpenTelemetry's HTTP client instrumentations (0.66), all given at
# span start: url.full (stable), http.url (old), both with OTEL_SEMCONV_STABILITY_OPT_IN=http/dup.
LAYOUTS = {
    "httpx-stable": {"http.request.method": "GET", "url.full": SEARCH, "server.address": "x"},
    "httpx-old": {"http.method": "GET", "http.url": SEARCH, "http.host": "x"},
    "requests-dup": {"http.method": "GET", "http.url": SEARCH, "url.full": SEARCH},
    "urllib3-dup": {"http.method": "GET", "http.url": READ, "url.full": READ},
    "aiohttp-stable": {"http.request.method": "GET", "url.full": READ},
    "userinfo-old": {"http.method": "POST", "http.url": USERINFO},
}
EXPECTED = {
    SEARCH: f"{API}/R4/Patient?family&birthdate",
    READ: f"{API}/R4/Patient/{{id}}",
    USERINFO: TOKEN,
}


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=LAYOUTS.keys())
def test_url_attributes_given_at_start_are_redacted(spans, layout):
    """Each URL attribute of an instrumentation's layout comes out redacted; others as given."""
    provider, exporter = spans
    provider.get_tracer("other").start_span("GET", attributes=layout).end()
    (span,) = exporter.get_finished_spans()
    for key, value in layout.items():
        want = EXPECTED[value] if key in ("url.full", "http.url") else value
        assert span.attributes[key] == want


def test_attributes_set_after_start_are_redacted_before_any_exporter(spans):
    """A URL, target, path and query set after start (a response hook) and a URL in the span
    name are rewritten before the exporter registered first gets the span."""
    provider, exporter = spans
    span = provider.get_tracer("other").start_span("GET")
    span.set_attributes({"url.full": READ + "?_id=a7Planted9id", "http.target":
                         "/fhir/R4/Patient/a7Planted9id?_id=x", "url.path": "/fhir/R4/Patient/a7Planted9id",
                         "url.query": "family=Plantedname&given=Ann"})
    span.update_name(f"GET {SEARCH}")
    span.end()
    (done,) = exporter.get_finished_spans()
    if not SDK_CALLS_ON_ENDING:
        pytest.skip("this SDK has no _on_ending: processors registered after hgobs's see it")
    assert dict(done.attributes) == {
        "url.full": f"{API}/R4/Patient/{{id}}?_id", "http.target": "/fhir/R4/Patient/{id}?_id",
        "url.path": "/fhir/R4/Patient/{id}", "url.query": "family&given"}
    assert done.name == f"GET {API}/R4/Patient?family&birthdate"


@pytest.mark.parametrize("url", [
    "https://elsewhere.example.test/fhir/R4/Patient?family=Keep",
    f"{API}/R4/Patient",
    TOKEN,
], ids=["other-host", "no-id-no-query", "plain-token-url"])
def test_urls_outside_scope_or_clean_are_left_alone(spans, url):
    """Spans of other hosts, and profile URLs with nothing to remove, are unchanged."""
    provider, exporter = spans
    provider.get_tracer("other").start_span(f"GET {url}", attributes={"url.full": url,
                                                                      "url.query": "q=1"}).end()
    (span,) = exporter.get_finished_spans()
    assert span.attributes["url.full"] == url
    assert span.name == f"GET {url}"
    assert span.attributes["url.query"] == ("q=1" if url not in (f"{API}/R4/Patient", TOKEN) else "q")


@pytest.mark.parametrize("url", [
    "https://api.example.test/other/Patient/123?family=Plantedname",
    "https://api.example.test//fhir/R4/Patient?family=Plantedname",
    "https://api.example.test./fhir/R4/Patient?family=Plantedname",
    "https://api.example.test:0443/fhir/R4/Patient?family=Plantedname",
    "https://api.example.test/./fhir/R4/Patient?family=Plantedname",
    "https://api.example.test/%66hir/R4/Patient?family=Plantedname",
    "https://u:pw@API.example.test:443/fhir/Patient/M\u00fcller?family=Plantedname",
], ids=["outside-bases", "double-slash", "trailing-dot", "padded-port", "dot-segment",
        "encoded-path", "non-ascii-userinfo"])
def test_every_url_to_a_profile_host_is_redacted_whatever_its_spelling(spans, url):
    """Scope is the profile's hosts: spellings that miss an API base but reach the API (found
    by the adversarial review; a non-ASCII path used to raise inside the scope test and leave
    the span as it was) lose their query values and credentials all the same."""
    provider, exporter = spans
    provider.get_tracer("other").start_span("GET", attributes={"url.full": url}).end()
    (span,) = exporter.get_finished_spans()
    assert "Plantedname" not in span.attributes["url.full"]
    assert "pw@" not in span.attributes["url.full"]

def test_scope_matches_scheme_port_and_case_variants():
    """The host test accepts the spellings Profile.match accepts (http, :443, upper case)."""
    scope = UrlScope([PROFILE])
    assert scope.clean("http://api.example.test/fhir/R4/Patient/9z9") == \
        "http://api.example.test/fhir/R4/Patient/{id}"
    assert scope.clean("https://API.example.test:443/fhir/R4/Patient/9z9") == \
        "https://api.example.test:443/fhir/R4/Patient/{id}"
    assert scope.clean("https://u:p@api.example.test/fhir/R4/Patient/9z9") == \
        "https://api.example.test/fhir/R4/Patient/{id}"
    assert scope.clean("https://api.example.test.evil.test/fhir/R4/Patient/9z9") is None
    assert rewrites(scope, {"url.full": 42, "http.url": None}) == {}


def test_real_httpx_and_requests_spans_are_redacted_with_dup_semconv(monkeypatch):
    """OpenTelemetry's httpx and requests instrumentations against a loopback server, both URL
    attributes on (http/dup): no planted value in any exported span."""
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http/dup")
    from opentelemetry.instrumentation import _semconv

    monkeypatch.setattr(_semconv._OpenTelemetrySemanticConventionStability, "_initialized", False)
    server = LoopServer(lambda received: Reply(401 if "/token" in received.target else 200, [],
                                               b"{}"))
    base = server.origin
    profile = profile_from_mapping({"name": "loop", "environments": {"sandbox": {
        "token_urls": [f"{base}/oauth/token"], "api_bases": [f"{base}/fhir"]}}})
    provider, exporter = TracerProvider(), InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = httpx.Client()
    instrument_client(client, profile=profile, tracer_provider=provider)  # hgobs first
    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)
    RequestsInstrumentor().instrument(tracer_provider=provider)
    try:
        client.get(f"{base}/fhir/R4/Patient?family=Plantedname&birthdate=1971-02-03")
        client.get(f"{base}/fhir/R4/Patient/a7Planted9id")
        requests.get(f"{base}/fhir/R4/Patient/a7Planted9id?name=Plantedname", timeout=5)
        requests.post(base.replace("://", "://svc:Planted-pw-42@") + "/oauth/token",
                      data={"grant_type": "client_credentials"}, timeout=5)
    finally:
        RequestsInstrumentor().uninstrument()
        client.close()
        server.stop()
    text = _exported(exporter)
    assert not [p for p in PLANTED if p in text]
    urls = sorted({s.attributes.get("url.full") for s in exporter.get_finished_spans()} - {None})
    assert urls == [f"{base}/fhir/R4/Patient/{{id}}", f"{base}/fhir/R4/Patient/{{id}}?name",
                    f"{base}/fhir/R4/Patient?family&birthdate", f"{base}/oauth/token"]
    http = [s for s in exporter.get_finished_spans() if s.name in ("GET", "POST")]
    assert len(http) == 4
    assert all(s.attributes["http.url"] == s.attributes["url.full"] for s in http)


def test_processor_is_added_once_per_provider_and_never_for_a_proxy(caplog):
    """attach adds one processor per SDK provider; a proxy gets none and one message."""
    foreign.forget()
    provider = TracerProvider()
    other = profile_from_mapping({"name": "o", "environments": {"e": {
        "token_urls": ["https://o.example.test/token"]}}})
    assert foreign.attach(PROFILE, provider) and foreign.attach(other, provider)
    added = [p for p in provider._active_span_processor._span_processors
             if isinstance(p, ForeignSpanRedactor)]
    assert len(added) == 1 and added[0].scope.profiles == (PROFILE, other)
    with caplog.at_level(logging.INFO, logger="hgobs.internal"):
        assert not foreign.attach(PROFILE, ProxyTracerProvider())  # given: never waits
        assert not foreign.pending()
        assert isinstance(trace.get_tracer_provider(), ProxyTracerProvider)
        assert not foreign.attach(PROFILE)  # the global proxy: waits for an SDK provider
        assert foreign.pending()
        foreign.retry()  # still the proxy
    said = [r.getMessage() for r in caplog.records if "no OpenTelemetry SDK" in r.getMessage()]
    assert len(said) == 1 and foreign.pending()
    foreign.forget()
    assert not foreign.pending()


def test_off_switch_is_read_from_the_environment_and_checked():
    """HGOBS_REDACT_SPANS=false turns it off; on by default; a bad value is a ConfigError."""
    assert resolve_options(environ={}).redact_spans is True
    assert resolve_options(environ={"HGOBS_REDACT_SPANS": "false"}).redact_spans is False
    assert resolve_options(environ={"HGOBS_REDACT_SPANS": "Off"}).redact_spans is False
    assert resolve_options(environ={"HGOBS_REDACT_SPANS": "false"},
                           redact_spans=True).redact_spans is True
    with pytest.raises(ConfigError, match="HGOBS_REDACT_SPANS"):
        resolve_options(environ={"HGOBS_REDACT_SPANS": "maybe"})
    provider = TracerProvider()
    instrument_client(httpx.Client(), profile=PROFILE, tracer_provider=provider,
                      redact_spans=False)
    assert not [p for p in provider._active_span_processor._span_processors
                if isinstance(p, ForeignSpanRedactor)]


def test_httpx_log_line_is_redacted(caplog):
    """httpx's INFO 'HTTP Request:' line shows the redacted URL with the filter hgobs adds;
    a filter without a scope redacts every URL."""
    server = LoopServer(lambda received: Reply(200, [], b"{}"))
    base = server.origin
    profile = profile_from_mapping({"name": "loop", "environments": {"sandbox": {
        "token_urls": [f"{base}/oauth/token"], "api_bases": [f"{base}/fhir"]}}})
    client = httpx.Client()
    instrument_client(client, profile=profile, tracer_provider=TracerProvider())
    everything = HttpxLogRedactor()
    try:
        with caplog.at_level(logging.INFO, logger="httpx"):
            client.get(f"{base}/fhir/R4/Patient?family=Plantedname")
            client.get(f"{base}/elsewhere/Patient/a7Planted9id")
            logging.getLogger("httpx").addFilter(everything)
            client.get(f"{base}/elsewhere/Patient/a7Planted9id")
    finally:
        logging.getLogger("httpx").removeFilter(everything)
        client.close()
        server.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    # The profile's host outside its API bases is in scope too (scope is by host).
    assert lines == [f'HTTP Request: GET {base}/fhir/R4/Patient?family "HTTP/1.1 200 OK"',
                     f'HTTP Request: GET {base}/elsewhere/Patient/{{id}} "HTTP/1.1 200 OK"',
                     f'HTTP Request: GET {base}/elsewhere/Patient/{{id}} "HTTP/1.1 200 OK"']


def test_processor_never_raises_on_odd_spans(spans):
    """Non-string URL values, an empty name and a non-URL '://' name pass through unchanged."""
    provider, exporter = spans
    tracer = provider.get_tracer("other")
    tracer.start_span("", attributes={"url.full": 7, "http.url": ["a"]}).end()
    tracer.start_span("see ://nothing", attributes={"url.full": "not a url"}).end()
    assert [(s.name, dict(s.attributes)) for s in exporter.get_finished_spans()] == [
        ("", {"url.full": 7, "http.url": ("a",)}),
        ("see ://nothing", {"url.full": "not a url"})]


def test_without_on_ending_start_and_end_hooks_do_the_rewrite(monkeypatch):
    """With an SDK that has no _on_ending, on_start rewrites what is given at start and on_end
    what came later, for processors registered after hgobs's."""
    from hgobs.capture import spanredactor

    monkeypatch.setattr(spanredactor, "SDK_CALLS_ON_ENDING", False)
    monkeypatch.setattr(ForeignSpanRedactor, "_on_ending", lambda self, span: None)  # not called
    provider = TracerProvider()
    provider.add_span_processor(ForeignSpanRedactor(UrlScope([PROFILE])))
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("other").start_span("GET", attributes={"http.url": SEARCH})
    assert span.attributes["http.url"] == EXPECTED[SEARCH]  # rewritten at start already
    span.set_attribute("url.full", READ)
    span.end()
    (done,) = exporter.get_finished_spans()
    assert dict(done.attributes) == {"http.url": EXPECTED[SEARCH], "url.full": EXPECTED[READ]}


def test_redacting_a_url_without_query_again_changes_nothing():
    """Redacting a redacted URL without a query changes nothing (no memo needed: each span is
    rewritten once; see test_older_sdk_does_not_redact_twice)."""
    scope = UrlScope([PROFILE])
    for url in (READ, USERINFO.partition("?")[0], f"{API}/R4/Patient/7/_history/3"):
        once = scope.redacted(url)
        assert once is not None and scope.redacted(once) == once
        assert scope.clean(once) is None


def test_scope_holds_everything_profile_match_holds():
    """UrlScope.covers (its prefix and host-name shortcuts included) covers every URL that
    Profile.match matches, and exactly the URLs to a profile host."""
    profile = profile_from_mapping({"name": "p", "environments": {
        "a": {"token_urls": ["https://idp.example.test/oauth/token"],
              "api_bases": ["https://api.example.test/fhir", "http://127.0.0.1:8080/x/fhir/"]},
        "b": {"token_urls": ["http://[::1]:9000/token"], "api_bases": ["https://root.example.test"]}}})
    scope = UrlScope([profile])
    hosts = ["api.example.test", "API.Example.TEST", "idp.example.test", "127.0.0.1:8080",
             "127.0.0.1", "[::1]:9000", "root.example.test", "root.example.test:443",
             "u:p@api.example.test", "api.example.test.evil.test", "evil.test"]
    paths = ["", "/", "/fhir", "/fhir/", "/fhir/R4/Patient/1?x=1", "/fhirx/R4", "/x/fhir/R4",
             "/oauth/token", "/oauth/token?a=b", "/token", "/token#f", "/other"]
    checked = 0
    for scheme in ("http", "https"):
        for host in hosts:
            for path in paths:
                url = f"{scheme}://{host}{path}"
                if profile.match(url)[0] is not None:
                    assert scope.covers(url), url
                ours = "evil" not in host
                assert scope.covers(url) == ours, url
                checked += 1
    assert checked == 264


@pytest.mark.parametrize("bad", [{"fingerprint_key": "short"}, {"profile": "/nonexistent.toml"},
                                 {"redact_spans": "maybe"}], ids=["key", "profile", "switch"])
def test_a_bad_setting_leaves_capture_off_but_other_spans_redacted(bad, caplog):
    """A bad option turns hgobs's capture off, never the redaction of other instrumentations'
    spans: a typo must not expose search values (Health Gorilla's URLs when the profile itself
    is what failed to load)."""
    import hgobs

    provider, exporter = TracerProvider(), InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = hgobs.HGAuthInstrumentor()
    with caplog.at_level(logging.WARNING, "hgobs.internal"):
        instrumentor.instrument(tracer_provider=provider, **bad)
    try:
        assert not instrumentor.is_instrumented_by_opentelemetry
        assert any("bad setting" in r.getMessage() for r in caplog.records)
        url = "https://api.healthgorilla.com/fhir/R4/Patient?family=Plantedname"
        with provider.get_tracer("other").start_as_current_span(
                "GET", kind=trace.SpanKind.CLIENT, attributes={"url.full": url}):
            pass
        (span,) = exporter.get_finished_spans()
        assert span.attributes["url.full"] == "https://api.healthgorilla.com/fhir/R4/Patient?family"
    finally:
        instrumentor.uninstrument()


def test_unknown_keyword_options_are_named_in_a_warning(caplog):
    """A misspelt option (``jsonl=``) is named on ``hgobs.internal``; the others apply."""
    with caplog.at_level(logging.WARNING, "hgobs.internal"), httpx.Client() as client:
        instrument_client(client, profile=PROFILE, jsonl="x.jsonl", clientid="abc",
                          tracer_provider=TracerProvider())
        assert client._hgobs_recorder is not None  # type: ignore[attr-defined]
    said = [r.getMessage() for r in caplog.records if "unknown option" in r.getMessage()]
    assert len(said) == 1 and "clientid, jsonl" in said[0]


def test_exception_event_and_status_of_a_redacted_span_lose_the_query(spans):
    """A failed request's exception event and status description quote the URL (requests'
    'Max retries exceeded with url: /fhir/R4/Patient?family=...'): on a span whose URL was
    redacted they are scrubbed too (found by the adversarial review)."""
    provider, exporter = spans
    span = provider.get_tracer("other").start_span(
        "GET", attributes={"url.full": f"{SEARCH}"})
    message = "Max retries exceeded with url: /fhir/R4/Patient?family=Plantedname (refused)"
    span.record_exception(ConnectionError(message))
    span.set_status(trace.Status(trace.StatusCode.ERROR, message))
    span.end()
    (done,) = exporter.get_finished_spans()
    text = repr(done.status.description) + repr([dict(e.attributes) for e in done.events])
    assert "Plantedname" not in text
    assert "/fhir/R4/Patient?family" in done.status.description


def test_token_urls_as_written_redact_as_redact_url():
    """A profile's token URLs as it writes them (the form made once per profile) redact as
    ``redact_url`` redacts them; variants of them still take the general way."""
    from hgobs.profiles import profile_from_mapping
    from hgobs.redaction import redact_url

    urls = ["https://auth.example.test/oauth/token", "http://127.0.0.1:8080/a/Patient/x/token",
            "https://u:p@auth.example.test/oauth2/token", "https://auth.example.test/t?x=1"]
    profile = profile_from_mapping({"name": "t", "environments": {"sandbox": {
        "token_urls": urls, "api_bases": ["https://api.example.test/fhir"]}}})
    scope = UrlScope([profile])
    for url in urls:
        assert scope.redacted(url) == redact_url(url), url
    assert scope.redacted("https://u:p@auth.example.test/oauth2/token") == \
        "https://auth.example.test/oauth2/token"
    assert scope.redacted("https://AUTH.example.test/oauth/token?q=1") == \
        "https://auth.example.test/oauth/token?q"
    assert scope.redacted("https://other.example.test/oauth/token") is None
