"""The OTLP JSON reader: real spans and log records from the shared cases, and bad input."""

from __future__ import annotations

import gzip
import io
import json
import os
from types import SimpleNamespace

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from hgobs.profiles import profile_from_mapping
from hgobs.readers import otlp
from hgobs.readers.base import ReadContext
from tests.support.cases import case_param, load_cases, make_jwt
from tests.support.render_spans import (
    classified,
    context,
    otlp_lines,
    otlp_log_lines,
    read_all,
    replay_case,
    replay_plain,
)

CASES = load_cases()
CLASSIFIES = [case_param(c) for c in CASES]
"""Tests of expected.category: a strict xfail for a case whose category or profile is missing."""
CAPTURED = [case_param(c, category=False) for c in CASES]
"""Tests of capture's records: a strict xfail for a case whose profile is missing."""
BY_ID = {c["id"]: c for c in CASES}
MODES = pytest.mark.parametrize("otel_httpx", [False, True], ids=["hgobs-alone", "with-otel-httpx"])
FLAVORS = ("protobuf", "file", "pretty")
SECRET = "sk-live-DO-NOT-ECHO-4f1c"


def _jsonl(records):
    return [{k: v for k, v in r.items() if k != "schema"} for r in records]


@MODES
@pytest.mark.parametrize("case", CLASSIFIES)
def test_case_classifies_from_otlp_spans(case, otel_httpx, pool):
    """The case's spans as OTLP JSON (protobuf JSON, Collector file, pretty) classify to expected."""
    replayed = replay_case(case, pool, otel_httpx)
    for flavor in FLAVORS:
        items = read_all(otlp, otlp_lines(replayed.spans, flavor), context(replayed, case))
        records = classified(items, replayed.profile)
        assert records, flavor
        assert records[-1]["category"] == case["expected"]["category"], (flavor, records[-1])


@MODES
@pytest.mark.parametrize("case", CAPTURED)
def test_our_spans_read_back_as_the_jsonl_records(case, otel_httpx, pool):
    """Each hgobs span reads back as exactly the JSON Lines record of the same attempt."""
    replayed = replay_case(case, pool, otel_httpx)
    items = read_all(otlp, otlp_lines(replayed.spans, "file", per_line=1), context(replayed, case))
    expected = {r["span_id"]: r for r in _jsonl(replayed.records)}
    read = {i.record["span_id"]: i.record for i in items
            if i.record and i.record["span_id"] in expected}
    assert read == expected
    assert len(items) == len(replayed.spans)


@pytest.mark.parametrize("case", CLASSIFIES)
def test_case_classifies_from_otlp_logs(case, pool):
    """Log records of the hgobs logger, exported as OTLP LogsData, classify to expected."""
    replayed = replay_case(case, pool, otel_httpx=False)
    items = read_all(otlp, otlp_log_lines(replayed.logs), context(replayed, case))
    # hgobs's own notes (hgobs.internal: a profile's URLs joining the span redaction, logged
    # once per process, so in whichever case first uses that profile) are log records too:
    # skipped with their reason, never records.
    assert {i.reason for i in items if i.record is None} <= {"log record without hgobs attributes"}
    assert [i.record for i in items if i.record is not None] == _jsonl(replayed.records)
    records = classified(items, replayed.profile)
    assert records[-1]["category"] == case["expected"]["category"]


def test_other_log_records_are_skipped_with_a_reason():
    """A log record without hgobs attributes is an item with a reason, not a record."""
    line = json.dumps({"resourceLogs": [{"scopeLogs": [{"scope": {"name": "app"}, "logRecords": [
        {"timeUnixNano": "1700000000000000000", "body": {"stringValue": "GET /fhir 200"},
         "attributes": [{"key": "http.status", "value": {"intValue": "200"}}]}]}]}]})
    assert [(i.source, i.reason) for i in read_all(otlp, line)] == [
        ("trace.json:1", "log record without hgobs attributes")]


def test_log_and_span_of_one_attempt_make_one_record(pool):
    """A file holding both the span and the log record of each attempt yields one record each."""
    case = BY_ID["hg-assertion-reuse"]
    replayed = replay_case(case, pool, otel_httpx=False)
    text = otlp_log_lines(replayed.logs, "file") + otlp_lines(replayed.spans, "file")
    items = read_all(otlp, text, context(replayed, case))
    assert len([i for i in items if i.record]) == len(replayed.records)
    assert [i.reason for i in items if i.record is None] == [
        "log record of an hgobs attempt whose span is read"] * len(replayed.logs)


def test_http_spans_of_a_token_exchange_are_accounted_once(pool):
    """HTTP hops under our token exchange span are skipped, even on earlier lines."""
    case = BY_ID["hg-http-redirect"]
    replayed = replay_case(case, pool, otel_httpx=True)
    items = read_all(otlp, otlp_lines(replayed.spans, "protobuf", per_line=1),
                     context(replayed, case))
    assert [i.source for i in items] == ["trace.json:1", "trace.json:2", "trace.json:3"]
    assert [i.reason for i in items[:2]] == ["HTTP span of an hgobs attempt already read"] * 2
    assert items[2].record is not None and items[2].record["redirect.count"] == 1


def test_http_span_parent_of_a_refused_api_call_is_accounted_once(pool):
    """The HTTP span whose child is our api_call span is skipped: one record per attempt."""
    case = BY_ID["hg-insufficient-scope"]
    replayed = replay_case(case, pool, otel_httpx=True)
    items = read_all(otlp, otlp_lines(replayed.spans), context(replayed, case))
    assert [i.source for i in items] == ["trace.json:1#1", "trace.json:1#2"]
    assert items[0].reason == "HTTP span of an hgobs attempt already read"
    assert items[1].record["category"] == "insufficient_scope"


def test_the_same_span_twice_is_read_once(pool):
    """A span exported twice (a retried export) is one record and one skip."""
    case = BY_ID["hg-assertion-reuse"]
    replayed = replay_case(case, pool, otel_httpx=False)
    line = otlp_lines(replayed.spans[:1], "file")
    items = read_all(otlp, line + line, context(replayed, case))
    assert items[0].record is not None
    assert items[1].reason == "span already read (same trace and span id)"
    assert classified(items, replayed.profile)[-1]["category"] == "ok"


@pytest.mark.parametrize("capture_headers", [True, False], ids=["headers", "no-headers"])
@pytest.mark.parametrize("case_id", ["hg-rate-limited", "hg-insufficient-scope"])
def test_plain_http_client_spans_classify(case_id, capture_headers, pool):
    """OTel httpx spans of a service without hgobs still classify (rate limit, scope)."""
    case = BY_ID[case_id]
    replayed = replay_plain(case, pool, capture_headers)
    items = read_all(otlp, otlp_lines(replayed.spans, "file"), context(replayed, case))
    records = classified(items, replayed.profile)
    assert [r["category"] for r in records] == [case["expected"]["category"]]
    record = records[0]
    assert "request.body_kind" not in record
    assert ("presented.kind" in record) is capture_headers
    if case_id == "hg-insufficient-scope":
        assert record["confidence"] == ("confirmed" if capture_headers else "likely")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_plain_http_client_spans_of_every_case_are_accounted(case, pool):
    """Every plain HTTP span of every case is one item; no captured credential leaks into it."""
    replayed = replay_plain(case, pool, capture_headers=True)
    items = read_all(otlp, otlp_lines(replayed.spans, "file", per_line=1), context(replayed, case))
    assert len(items) == len(replayed.spans)
    text = json.dumps([i.record for i in items]) + " ".join(i.reason or "" for i in items)
    credentials = [value.split(" ", 1)[-1] for span in replayed.spans
                   for value in span.attributes.get("http.request.header.authorization", ())]
    assert all(c.strip() not in text for c in credentials if len(c.strip()) > 6)


def _span_file(attributes, kind=SpanKind.CLIENT, name="GET"):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "billing"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("t").start_span(name, kind=kind, attributes=attributes).end()
    return otlp_lines(exporter.get_finished_spans(), "file")


PROFILE = profile_from_mapping({"name": "idp", "environments": {"sandbox": {
    "token_urls": ["https://idp.test/oauth/token"], "api_bases": ["https://api.test/fhir"]}}})


def test_stable_semconv_span_with_captured_headers_classifies():
    """A stable-semconv HTTP span with captured headers is judged on them (assertion as token)."""
    assertion = make_jwt({"alg": "HS256"}, {"iss": "c1", "sub": "c1", "aud":
                         "https://idp.test/oauth/token", "exp": 2_000_000_000, "jti": "j"})
    text = _span_file({
        "http.request.method": "GET", "url.full": "https://api.test/fhir/R4/Patient/9",
        "http.response.status_code": 401,
        "http.request.header.authorization": [f"Bearer {assertion}"],
        "http.response.header.www-authenticate": ['Bearer error="invalid_token"']})
    items = read_all(otlp, text, ReadContext(profile=PROFILE))
    record = classified(items, PROFILE)[0]
    assert record["category"] == "assertion_as_access_token"
    assert record["service.name"] == "billing" and record["challenge.error"] == "invalid_token"
    assert assertion not in json.dumps(record)


def test_sanitized_credential_header_is_unknown_not_a_placeholder():
    """A ``[REDACTED]`` authorization header says nothing about what was presented."""
    text = _span_file({"http.method": "GET", "http.url": "https://api.test/fhir/R4/Patient",
                       "http.status_code": 401,
                       "http.request.header.authorization": ["[REDACTED]"]})
    record = classified(read_all(otlp, text, ReadContext(profile=PROFILE)), PROFILE)[0]
    assert not any(k.startswith("presented.") for k in record)
    assert record["category"] != "missing_access_token"


@pytest.mark.parametrize("kind, attributes, reason", [
    (SpanKind.INTERNAL, {"db.system": "postgresql"}, "not an HTTP client span"),
    (SpanKind.SERVER, {"http.request.method": "GET", "url.path": "/"}, "not an HTTP client span"),
    (SpanKind.CLIENT, {"http.request.method": "GET"}, "HTTP client span without a URL"),
    (SpanKind.CLIENT, {"http.request.method": "GET", "url.full": "https://elsewhere.test/x",
                       "http.response.status_code": 200},
     "not an auth attempt (no token URL or API base of the profile)"),
], ids=["internal", "server", "no-url", "other-host"])
def test_other_spans_are_skipped_with_a_reason(kind, attributes, reason):
    """Spans that are not auth attempts are items with a reason, not silently dropped."""
    items = read_all(otlp, _span_file(attributes, kind), ReadContext(profile=PROFILE))
    assert [(i.source, i.reason) for i in items] == [("trace.json:1", reason)]


def test_url_is_put_together_from_its_parts():
    """Without url.full, scheme + server.address + port + url.path make the URL."""
    text = _span_file({"http.request.method": "GET", "url.scheme": "https", "server.address":
                       "api.test", "server.port": 443, "url.path": "/fhir/R4/Patient",
                       "url.query": "name=x", "http.response.status_code": 429})
    record = classified(read_all(otlp, text, ReadContext(profile=PROFILE)), PROFILE)[0]
    assert record["url"] == "https://api.test/fhir/R4/Patient?name"
    assert record["category"] == "rate_limited"


# -- bad input -------------------------------------------------------------------------------------

@pytest.fixture
def good(pool):
    """(one-span-per-line OTLP text, read context, number of spans) of a two-exchange case."""
    case = BY_ID["hg-assertion-reuse"]
    replayed = replay_case(case, pool, otel_httpx=False)
    return SimpleNamespace(text=otlp_lines(replayed.spans, "file", per_line=1),
                           ctx=context(replayed, case), n=len(replayed.spans))


def _reasons_clean(items):
    assert all(SECRET not in (i.reason or "") for i in items)


def test_empty_file_yields_nothing():
    """An empty (or blank) file is no items and no error."""
    assert read_all(otlp, b"") == [] and read_all(otlp, b"\n  \n") == []


def test_bad_lines_among_good_ones(good):
    """Bad lines are one skip each with their line; the good lines around them still read."""
    text, ctx = good.text, good.ctx
    lines = text.splitlines()
    bad = ["{not json " + SECRET, "[1, 2]", '{"resourceMetrics": []}', '{"schema": "x"}',
           '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
           '{"resourceSpans": []}']
    items = read_all(otlp, "\n".join([lines[0], *bad, lines[1]]) + "\n", ctx)
    assert [i.source for i in items] == [f"trace.json:{k}" for k in range(1, 9)]
    assert [i.reason for i in items[1:7]] == [
        "not JSON (Expecting property name enclosed in double quotes, column 2)",
        "not a JSON object", "OTLP metrics, not spans or log records",
        "not OTLP JSON (no resourceSpans or resourceLogs)",
        "span without a valid traceId and spanId", "no spans or log records"]
    assert items[0].record and items[7].record
    _reasons_clean(items)


def test_truncated_file_reads_what_precedes_the_cut(good):
    """A file cut inside its last line reads the lines before it and names the cut."""
    text, ctx, n = good.text, good.ctx, good.n
    items = read_all(otlp, text[: len(text) - 100], ctx)
    assert items[0].record is not None
    assert items[-1].reason == "JSON ends early (line cut off?)"
    assert len(items) == n


def test_truncated_pretty_object_is_one_skip(pool):
    """A pretty-printed object cut before its closing brace is one skip at its first line."""
    case = BY_ID["hg-success"]
    replayed = replay_case(case, pool, otel_httpx=False)
    text = otlp_lines(replayed.spans, "pretty")
    items = read_all(otlp, text[: len(text) // 2], context(replayed, case))
    assert [(i.source, i.reason) for i in items] == [
        ("trace.json:1", "JSON ends early (truncated file?)")]


def test_binary_junk_is_skipped_without_quoting_it(good):
    """Random bytes and NULs among good lines are skips; good lines still read."""
    text, ctx = good.text, good.ctx
    first, second = text.encode().splitlines()
    junk = bytes(range(256)) + SECRET.encode() + b"\x00\xff\xfe"  # two lines: 0x0a is in it
    items = read_all(otlp, b"\n".join([first, junk, second]), ctx)
    assert [i.record is not None for i in items] == [True, False, False, True]
    assert [i.reason for i in items[1:3]] == ["not UTF-8 JSON (NUL bytes)"] * 2
    _reasons_clean(items)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig", "utf-32"])
def test_other_unicode_encodings_read_the_same(good, encoding):
    """UTF-16/32 (with or without a byte order mark) and UTF-8 with a BOM read like UTF-8."""
    text, ctx = good.text, good.ctx
    expected = read_all(otlp, text, ctx)
    assert read_all(otlp, text.encode(encoding), ctx) == expected


def test_latin1_bytes_are_named_not_quoted(good):
    """A line with bytes that are not UTF-8 is a skip naming the byte offset."""
    text, ctx = good.text, good.ctx
    data = text.encode() + '{"resourceSpans": "caf\xe9"}\n'.encode("latin-1")
    items = read_all(otlp, data, ctx)
    assert items[-1].reason == "not UTF-8 (byte 22)"


def test_ten_megabyte_line_of_spans_reads_every_span(good):
    """One 10 MB TracesData line reads every span on it, numbered with #k."""
    text, ctx = good.text, good.ctx
    obj = json.loads(text.splitlines()[0])
    span = obj["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    copies = 10_000_000 // len(json.dumps(span)) + 1
    obj["resourceSpans"][0]["scopeSpans"][0]["spans"] = [span] * copies
    line = json.dumps(obj)
    assert len(line) > 10_000_000
    items = read_all(otlp, line + "\n", ctx)
    assert len(items) == copies and items[-1].source == f"trace.json:1#{copies}"
    assert items[0].record and {i.reason for i in items[1:]} == {
        "span already read (same trace and span id)"}


def test_ten_megabyte_junk_line_is_one_skip(good):
    """A 10 MB line that is not JSON is one skip; the next line still reads."""
    text, ctx, n = good.text, good.ctx, good.n
    items = read_all(otlp, "x" * 10_000_000 + "\n" + text, ctx)
    assert items[0].reason.startswith("not JSON") and len(items) == 1 + n


def test_line_over_the_limit_is_skipped_and_reading_goes_on(monkeypatch):
    """A line longer than MAX_LINE_BYTES is skipped by its number; later lines read."""
    monkeypatch.setattr(otlp, "MAX_LINE_BYTES", 1000)
    short = json.dumps({"resourceSpans": []})
    items = read_all(otlp, "\n".join([short, "y" * 5000, short]) + "\n")
    assert [(i.source, i.reason) for i in items] == [
        ("trace.json:1", "no spans or log records"),
        ("trace.json:2", "line longer than 1000 bytes"),
        ("trace.json:3", "no spans or log records")]


def test_stream_that_cannot_seek_reads_the_same(good):
    """A pipe (no seek) is read like a file."""
    text, ctx = good.text, good.ctx

    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self._inner.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    stream = io.BufferedReader(Pipe(text.encode()))
    assert not stream.seekable()
    assert list(otlp.read(stream, "trace.json", ctx)) == read_all(otlp, text, ctx)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_sniff_knows_otlp_json(good, flavor, pool):
    """sniff is true for every OTLP flavor (and UTF-16) and false for other formats."""
    case = BY_ID["hg-success"]
    text = otlp_lines(replay_case(case, pool, otel_httpx=False).spans, flavor)
    assert otlp.sniff(text.encode()[:4096], "x")
    assert otlp.sniff(text.encode("utf-16")[:4096], "x")
    assert otlp.sniff(b'  {\n "resourceLogs": []}', "x")
    for other in (b'{"schema": "hgobs.attempt/1", "time": 1}', b'{"data": [{"traceID": "1"}]}',
                  b'[{"traceId": "1"}]', b"", b"\x00\x01junk"):
        assert not otlp.sniff(other, "x")


def test_truncated_gzip_reads_what_was_decompressed(good):
    """A cut ``.gz``: what precedes the cut reads, then one item says the file ends early."""
    padding = json.dumps({"padding": os.urandom(100_000).hex()})  # random: the cut lands here
    data = gzip.compress((good.text + "\n" + padding + "\n").encode())
    stream = gzip.GzipFile(fileobj=io.BytesIO(data[: len(data) * 9 // 10]))
    items = list(otlp.read(stream, "trace.json.gz", good.ctx))
    assert [i.record for i in items[:-1]] == [i.record for i in read_all(otlp, good.text, good.ctx)]
    assert items[-1].reason == "file ends early (EOFError): the rest is not read"


def _any_value_by_the_book(value):
    """``AnyValue`` read field by field in ``_VALUE_KINDS`` order (no shortcut)."""
    from hgobs.readers import otlp_values

    return otlp_values.any_value_by_kind(value) if isinstance(value, dict) else None


def test_attribute_values_read_by_the_shortcut_equal_the_field_by_field_reading():
    """``attributes`` and ``any_value`` shortcut the one-field ``AnyValue``; on odd values
    (snake_case names, nulls, wrong types, unknown fields, several fields) they read the
    same as going through every kind in order."""
    import random

    from hgobs.readers.otlp_values import any_value, attributes

    rng = random.Random(4)
    names = ["stringValue", "string_value", "boolValue", "bool_value", "intValue", "int_value",
             "doubleValue", "double_value", "arrayValue", "kvlistValue", "bytesValue",
             "bytes_value", "otherValue"]
    items = [None, "x", "", "true", "false", "12", "1.5", "NaN", "-Infinity", "AAEC", "!!",
             True, False, 0, 7, 2.5, 3.0, [], {}, {"values": [{"stringValue": "a"}]},
             {"values": [{"key": "k", "value": {"intValue": "3"}}]}]
    for _ in range(3000):
        value = {rng.choice(names): rng.choice(items) for _ in range(rng.choice([0, 1, 1, 1, 2]))}
        if rng.random() < 0.05:
            value = rng.choice([None, "text", 5, []])
        expected = repr(_any_value_by_the_book(value))  # repr: NaN reads as NaN
        assert repr(any_value(value)) == expected, value
        got = attributes([{"key": "k", "value": value}, {"key": 5, "value": value}, "junk"])
        assert list(got) == ["k"] and repr(got["k"]) == expected, value
