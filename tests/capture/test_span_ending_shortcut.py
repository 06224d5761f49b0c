"""The span processor's ending step gives what ``rewrites`` gives, whatever the attributes.

The ending step redacts a span with one URL attribute and no URL part itself (the usual HTTP
client span, ``ForeignSpanRedactor._ending``) and hands any other to ``rewrites``; both ways
must agree, whichever attributes a span carries and in whatever combination.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from hgobs.capture.spanredactor import SDK_CALLS_ON_ENDING, ForeignSpanRedactor
from hgobs.capture.urlscope import UrlScope, rewrites
from hgobs.profiles import profile_from_mapping

API = "https://api.example.test/fhir"
PROFILE = profile_from_mapping({"name": "t", "environments": {"sandbox": {
    "token_urls": ["https://idp.example.test/oauth/token"], "api_bases": [API]}}})
SCOPE = UrlScope([PROFILE])
PROVIDER = TracerProvider()
EXPORTER = InMemorySpanExporter()
PROVIDER.add_span_processor(ForeignSpanRedactor(UrlScope([PROFILE])))
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))

URLS = st.one_of(
    st.sampled_from([f"{API}/R4/Patient/123", f"{API}/R4/Patient/456", f"{API}/R4/Patient",
                     f"{API}/R4/Patient?family=x", f"{API}/R4/Patient/$everything",
                     f"{API}/R4/Patient/_history/2", "https://idp.example.test/oauth/token",
                     "https://svc:pw@idp.example.test/oauth/token?x=1",
                     "https://elsewhere.example.net/fhir/R4/Patient/9", f"{API}/", "",
                     f"{API}/R4/Patient/a%2Fb", f"{API}/R4/Observation/7/_history/1"]),
    st.builds(lambda tail: f"{API}/{tail}", st.text(alphabet="aZ09/_$.%?=&-", max_size=16)),
    st.integers(0, 9))
PARTS = st.fixed_dictionaries({}, optional={
    "http.target": st.sampled_from(["/fhir/R4/Patient/5", "/fhir/R4/Patient?name=x", ""]),
    "url.path": st.sampled_from(["/fhir/R4/Patient/5", "/fhir"]),
    "url.query": st.sampled_from(["family=x&given=y", ""])})


@settings(max_examples=400, deadline=None)
@given(full=st.none() | URLS, old=st.none() | URLS, same=st.booleans(), parts=PARTS,
       other=st.dictionaries(st.sampled_from(["http.method", "server.port"]),
                             st.sampled_from(["GET", 443]), max_size=2))
def test_the_ending_step_gives_what_rewrites_gives(full, old, same, parts, other):
    if not SDK_CALLS_ON_ENDING:  # older SDKs take rewrites at start and end
        return
    attributes = {**other, **parts}
    if full is not None:
        attributes["url.full"] = full
    if old is not None or (same and full is not None):
        attributes["http.url"] = full if same and full is not None else old
    expected = {**attributes, **rewrites(SCOPE, attributes)}
    EXPORTER.clear()
    PROVIDER.get_tracer("other").start_span("GET", attributes=attributes).end()
    (span,) = EXPORTER.get_finished_spans()
    assert dict(span.attributes) == expected


@settings(max_examples=150, deadline=None)
@given(url=URLS, key=st.sampled_from(["url.full", "http.url"]),
       name=st.sampled_from(["GET", "GET {url}", "HTTP GET"]),
       status=st.sampled_from([None, "failed: {url}"]),
       event=st.sampled_from([None, "Max retries exceeded with url: {url}"]))
def test_the_ending_step_gives_what_the_general_step_gives_names_and_texts_too(
        url, key, name, status, event):
    """With a span name, a status description and an exception event quoting the URL, the
    ending step's span equals what the general step (``_ending_any``) makes of the same span."""
    if not SDK_CALLS_ON_ENDING:
        return
    text = str(url)
    spans = []
    for step in ("_ending", "_ending_any"):
        processor = ForeignSpanRedactor(UrlScope([PROFILE]))
        span = TracerProvider().get_tracer("other").start_span(
            name.format(url=text), attributes={key: url})
        if status is not None:
            span.set_status(StatusCode.ERROR, status.format(url=text))
        if event is not None:
            span.add_event("exception", {"exception.message": event.format(url=text)})
        span.end()
        getattr(processor, step)(span)
        spans.append((span.name, dict(span.attributes), span.status.description,
                      [dict(e.attributes or {}) for e in span.events]))
    assert spans[0] == spans[1]
