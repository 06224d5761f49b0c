"""The OpenTelemetry SDK's console exporters: spans (``ConsoleSpanExporter``) and log records
(``ConsoleLogExporter``) of real calls to a loopback provider, read back through detection to
the analyzer's categories."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from hgobs import instrument_client
from hgobs.readers import otelconsole
from tests.readers.applog_kit import EXPECTED, SECRET, categories, format_of, loopback, outcomes, records_text

try:  # the newer name of the same exporter (the same output)
    from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter as ConsoleLogExporter
except ImportError:  # pragma: no cover - older SDKs
    from opentelemetry.sdk._logs.export import ConsoleLogExporter

RESOURCE = Resource.create({"service.name": "billing"})


def _spans(path: Path, with_hgobs: bool) -> object:
    """The four calls made with OpenTelemetry's httpx instrumentation (and hgobs's capture when
    ``with_hgobs``), each span printed by ``ConsoleSpanExporter`` into ``path``."""
    out = io.StringIO()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=out)))
    with loopback() as loop, httpx.Client(timeout=5) as client:
        if with_hgobs:
            instrument_client(client, profile=loop.profile, tracer_provider=provider)
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)
        loop.calls(client)
    path.write_text(out.getvalue())
    return loop.profile


def test_hgobs_spans_printed_by_the_console_exporter_classify(tmp_path):
    """hgobs's spans carry the facts: the four categories, one record per call (the HTTP span
    of each attempt is a skip saying so), service name and trace ids kept."""
    path = tmp_path / "spans.txt"
    profile = _spans(path, with_hgobs=True)
    assert format_of(path) == otelconsole.NAME
    assert categories(path, profile) == EXPECTED
    skipped = [o for _, o in outcomes(path, profile) if o.startswith("skip: ")]
    assert skipped == ["skip: HTTP span of an hgobs attempt already read"] * 4
    text = records_text(path, profile)
    assert "'service.name': 'billing'" in text and SECRET not in text


def test_plain_httpx_spans_give_what_they_show(tmp_path):
    """OpenTelemetry's httpx spans alone show status and URL, not bodies or headers: the 429
    is rate limited and the refused connection (its ``exception`` event) a network failure;
    the refusals that need the body or challenge are unclassified, not guessed."""
    path = tmp_path / "spans.txt"
    profile = _spans(path, with_hgobs=False)
    assert format_of(path) == otelconsole.NAME
    assert categories(path, profile) == ["unclassified", "rate_limited", "unclassified",
                                         "network_failure"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK's LoggingHandler
def test_log_records_printed_by_the_console_exporter_classify(tmp_path):
    """hgobs's log records (the ``hgobs`` logger through OpenTelemetry's ``LoggingHandler``)
    and a service's own log record with ECS-style attributes are both read."""
    out = io.StringIO()
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(ConsoleLogExporter(out=out)))
    handler = LoggingHandler(logger_provider=provider)
    hgobs_logger, app = logging.getLogger("hgobs"), logging.getLogger("test_otelconsole.app")
    for logger in (hgobs_logger, app):
        logger.addHandler(handler)
    try:
        with loopback() as loop, httpx.Client(timeout=5) as client:
            instrument_client(client, profile=loop.profile)
            calls = loop.calls(client)
            app.error("token request refused", extra={
                "url.full": calls[0].url, "http.request.method": "POST",
                "http.response.status_code": calls[0].response.status_code,
                "http.response.body.content": calls[0].response.text})
    finally:
        for logger in (hgobs_logger, app):
            logger.removeHandler(handler)
    path = tmp_path / "logs.txt"
    path.write_text(out.getvalue())
    assert format_of(path) == otelconsole.NAME
    assert categories(path, loop.profile) == [*EXPECTED, "invalid_scope"]


def test_sniff_wants_a_console_span_or_log_record():
    assert otelconsole.sniff(b'{\n    "name": "POST",\n    "context": {},\n    "kind": "SpanKind.CLIENT"')
    assert otelconsole.sniff(b'{\n    "body": "x",\n')
    assert not otelconsole.sniff(b'{\n    "resourceSpans": []\n}\n')
    assert not otelconsole.sniff(b'{"message": "x"}\n')
