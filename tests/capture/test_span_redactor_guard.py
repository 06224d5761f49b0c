"""A failure inside the span redactor's ending step is swallowed, reported once, and fails
closed: the span's URL attributes are replaced whole."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hgobs.capture import guard
from hgobs.capture.spanredactor import SDK_CALLS_ON_ENDING, ForeignSpanRedactor
from hgobs.capture.urlscope import UrlScope
from hgobs.profiles import profile_from_mapping
from hgobs.redaction import PrefixRedactor

API = "https://api.example.test/fhir"
PROFILE = profile_from_mapping({"name": "p", "environments": {"prod": {
    "token_urls": ["https://auth.example.test/oauth/token"], "api_bases": [API]}}})


def _fail(*args: object) -> dict[str, str]:
    raise RuntimeError("planted")


@pytest.mark.parametrize("parts", [{}, {"url.path": "/fhir/R4/Patient/7"}])
def test_a_failing_rewrite_redacts_the_url_whole_and_is_reported_once(monkeypatch, caplog,
                                                                       parts):
    """The span still ends and reaches every exporter, its URL attribute ``[redacted]`` (never
    the URL as given); one warning names the step. Both ways: a span with one URL attribute
    alone (redacted in the ending step itself) and one with URL parts too (``rewrites``),
    whose parts are replaced whole as well."""
    if not SDK_CALLS_ON_ENDING:
        pytest.skip("this SDK has no _on_ending")
    monkeypatch.setattr(guard, "_seen", set())
    monkeypatch.setattr(PrefixRedactor, "redact", _fail)  # the scope below takes it
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(ForeignSpanRedactor(UrlScope([PROFILE])))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    before = guard.errors_swallowed
    with caplog.at_level(logging.WARNING, logger="hgobs.internal"):
        for n in (1, 2):
            provider.get_tracer("other").start_span(
                "GET", attributes={"url.full": f"{API}/R4/Patient/{n}", **parts}).end()
    assert [dict(s.attributes) for s in exporter.get_finished_spans()] == [
        {"url.full": "[redacted]", **dict.fromkeys(parts, "[redacted]")}] * 2
    assert guard.errors_swallowed == before + 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "hgobs.internal"]
    assert len(warnings) == 1 and "redact span (RuntimeError" in warnings[0]


def test_the_ending_step_redacts_an_api_read():
    """Without a fault, the same span's URL loses its id (the step above does run)."""
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(ForeignSpanRedactor(UrlScope([PROFILE])))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("other").start_span("GET", attributes={"url.full": f"{API}/R4/Patient/1"}).end()
    (span,) = exporter.get_finished_spans()
    assert dict(span.attributes) == {"url.full": f"{API}/R4/Patient/{{id}}"}
