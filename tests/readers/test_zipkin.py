"""The Zipkin v2 JSON reader: real spans from the shared cases, text tags typed back, bad input."""

from __future__ import annotations

import gzip
import io
import json
import os
from types import SimpleNamespace

import pytest

from hgobs.readers import zipkin
from hgobs.readers.spans import coerce
from tests.support.cases import case_param, load_cases
from tests.support.render_spans import (
    classified,
    context,
    read_all,
    replay_case,
    replay_plain,
    zipkin_spans,
)

CASES = load_cases()
CLASSIFIES = [case_param(c) for c in CASES]
"""Tests of expected.category: a strict xfail for a case whose category or profile is missing."""
CAPTURED = [case_param(c, category=False) for c in CASES]
"""Tests of capture's records: a strict xfail for a case whose profile is missing."""
BY_ID = {c["id"]: c for c in CASES}
MODES = pytest.mark.parametrize("otel_httpx", [False, True], ids=["hgobs-alone", "with-otel-httpx"])
SECRET = "sk-live-DO-NOT-ECHO-4f1c"


def shapes(spans):
    """Flat (exporter POST), per trace (``/api/v2/traces``), pretty, and cut to 128 characters
    per tag as OpenTelemetry's Python exporter does by default."""
    return {"flat": json.dumps(zipkin_spans(spans, None)),
            "traces": json.dumps(zipkin_spans(spans, None, per_trace=True)),
            "pretty": json.dumps(zipkin_spans(spans, None), indent=2),
            "exporter-default": json.dumps(zipkin_spans(spans))}


@MODES
@pytest.mark.parametrize("case", CLASSIFIES)
def test_case_classifies_from_zipkin(case, otel_httpx, pool):
    """The case's spans in every Zipkin shape classify to expected.category."""
    replayed = replay_case(case, pool, otel_httpx)
    for shape, text in shapes(replayed.spans).items():
        records = classified(read_all(zipkin, text, context(replayed, case)), replayed.profile)
        assert records, shape
        assert records[-1]["category"] == case["expected"]["category"], (shape, records[-1])


@MODES
@pytest.mark.parametrize("case", CAPTURED)
def test_our_spans_read_back_as_the_jsonl_records(case, otel_httpx, pool):
    """Each hgobs span, its values all text in Zipkin, reads back typed as its JSON Lines record."""
    replayed = replay_case(case, pool, otel_httpx)
    items = read_all(zipkin, json.dumps(zipkin_spans(replayed.spans, None, per_trace=True)),
                     context(replayed, case))
    expected = {r["span_id"]: {k: v for k, v in r.items() if k != "schema"}
                for r in replayed.records}
    read = {i.record["span_id"]: i.record for i in items
            if i.record and i.record["span_id"] in expected}
    assert read == expected
    assert len(items) == len(replayed.spans)


@pytest.mark.parametrize("case_id", ["hg-rate-limited", "hg-insufficient-scope"])
def test_plain_http_client_spans_classify(case_id, pool):
    """OTel httpx spans of a service without hgobs classify from Zipkin's text tags."""
    case = BY_ID[case_id]
    replayed = replay_plain(case, pool, capture_headers=True)
    items = read_all(zipkin, json.dumps(zipkin_spans(replayed.spans)), context(replayed, case))
    records = classified(items, replayed.profile)
    assert [r["category"] for r in records] == [case["expected"]["category"]]
    assert records[0]["confidence"] == "confirmed"


@pytest.mark.parametrize("type_, text, value", [
    ("int", "401", 401), ("int", "401.0", 401), ("int", "4x", None), ("int", "true", None),
    ("float", "0.25", 0.25), ("float", "30", 30.0), ("float", "nan", None), ("float", "inf", None),
    ("number", "1700000000", 1700000000), ("number", "1.7e12", 1.7e12),
    ("bool", "true", True), ("bool", "False", False), ("bool", "1", None),
    ("list[str]", '["assertion","client_id"]', ["assertion", "client_id"]),
    ("list[str]", "assertion, client_id", ["assertion", "client_id"]),
    ("list[str]", "[]", []), ("list[str]", "", []), ("list[str]", "[1, 2]", ["[1", "2]"]),
    ("str|list[str]", '["https://a/t","https://b/t"]', ["https://a/t", "https://b/t"]),
    ("str|list[str]", "https://a/t", "https://a/t"),
    ("str", "[not, a, list]", "[not, a, list]"), ("str", 7, None),
])
def test_text_tags_take_their_documented_type(type_, text, value):
    """A Zipkin tag's text becomes the schema type of its field; what does not fit is None."""
    assert coerce(type_, text) == value


def test_values_that_do_not_fit_are_dropped_not_fatal():
    """A tag whose text does not fit its field is left out; the rest of the record stays."""
    tags = {"hgobs.time": "1700000000.5", "hgobs.endpoint.kind": "api_call",
            "hgobs.http.status": "four hundred", "hgobs.evidence": "a,b",
            "hgobs.response.body_read": "maybe", "hgobs.not_a_field": "x"}
    span = {"traceId": "a" * 32, "id": "b" * 16, "kind": "CLIENT", "timestamp": 1, "tags": tags,
            "localEndpoint": {"serviceName": "claims-sync"}}
    [item] = read_all(zipkin, json.dumps([span]))
    assert item.record == {"time": 1700000000.5, "endpoint.kind": "api_call",
                           "evidence": ["a", "b"], "service.name": "claims-sync",
                           "trace_id": "a" * 32, "span_id": "b" * 16}


# -- bad input -------------------------------------------------------------------------------------

@pytest.fixture
def good(pool):
    """(pretty per-trace Zipkin text, read context, span count) of a two-attempt case."""
    case = BY_ID["hg-assertion-reuse"]
    replayed = replay_case(case, pool, otel_httpx=True)
    return SimpleNamespace(text=json.dumps(zipkin_spans(replayed.spans, None, per_trace=True),
                                           indent=2),
                           ctx=context(replayed, case), n=len(replayed.spans))


def test_empty_file_yields_nothing():
    """An empty (or blank) file, or an empty array, is no items and no error."""
    assert read_all(zipkin, b"") == read_all(zipkin, b"\n") == read_all(zipkin, b"[]") == []


def test_truncated_file_keeps_every_span_before_the_cut(good):
    """Cut anywhere: spans before the cut read, a span cut in two is a skip, one item names the cut."""
    text, ctx, n = good.text, good.ctx, good.n
    ours = [i.record for i in read_all(zipkin, text, ctx) if i.record and "category" in i.record]
    cut_spans = 0
    for cut in range(1, len(text) - 1, max(1, len(text) // 101)):
        items = read_all(zipkin, text[:cut], ctx)
        assert items and items[-1].reason == "JSON ends early (truncated file?)", cut
        assert len(items) <= n + 1, cut
        read = [i.record for i in items if i.record and "category" in i.record]
        assert read == ours[:len(read)], cut
        cut_spans += sum(i.reason == "span cut off where the JSON breaks" for i in items)
    assert cut_spans


def test_bad_lines_among_good_documents(good):
    """One array per line: a bad line is skipped (its cut span too); the lines around it read."""
    text, ctx, n = good.text, good.ctx, good.n
    traces = json.loads(text)
    lines = [json.dumps(traces[0]), "[{broken " + SECRET, '{"hello": 1}', json.dumps(traces[1])]
    items = read_all(zipkin, "\n".join(lines) + "\n", ctx)
    assert [(i.source, i.reason) for i in items if i.source.startswith("trace.json:")] == [
        ("trace.json:2", "not valid JSON (Expecting property name enclosed in double quotes, "
                         "column 3)"),
        ("trace.json:3", "not a Zipkin span document")]
    spans = [i for i in items if i.source.startswith("trace.json#")]
    assert [i.reason for i in spans].count("span cut off where the JSON breaks") == 1
    assert len(spans) == n + 1
    assert all(SECRET not in (i.reason or "") for i in items)


def test_binary_junk_is_skipped_without_quoting_it():
    """Random bytes: skips that do not quote the input, and no crash."""
    items = read_all(zipkin, SECRET.encode() + bytes(range(256)) * 5)
    assert items and all(i.record is None and SECRET not in i.reason for i in items)
    assert items[-1].reason.startswith("not UTF-8 from byte")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig", "utf-32-le"])
def test_other_unicode_encodings_read_the_same(good, encoding):
    """UTF-16/32 (with or without a byte order mark) and UTF-8 with a BOM read like UTF-8."""
    text, ctx = good.text, good.ctx
    assert read_all(zipkin, text.encode(encoding), ctx) == read_all(zipkin, text, ctx)


def test_ten_megabyte_line_reads_every_span(good):
    """A 10 MB single-line array reads every span in it, numbered across the file."""
    text, ctx = good.text, good.ctx
    span = json.loads(text)[0][0]
    copies = 10_000_000 // len(json.dumps(span)) + 1
    line = json.dumps([span] * copies)
    assert len(line) > 10_000_000
    items = read_all(zipkin, line, ctx)
    assert len(items) == copies and items[-1].source == f"trace.json#{copies}"


def test_sniff_knows_zipkin_json(good):
    """sniff is true for Zipkin's shapes (and UTF-16) and false for other formats."""
    text = good.text
    traces = json.loads(text)
    for shape in (text, json.dumps(traces), json.dumps(traces[0]), text.encode("utf-16")):
        assert zipkin.sniff((shape if isinstance(shape, bytes) else shape.encode())[:4096], "x")
    for other in (b'{"resourceSpans": []}', b'{"data": [{"traceID": "1"}]}', b"[]", b"",
                  b'[{"traceID": "1", "spans": []}]', b"\x00junk"):
        assert not zipkin.sniff(other, "x")


def test_truncated_gzip_reads_what_was_decompressed(good):
    """A cut ``.gz``: what precedes the cut reads, then one item says the file ends early."""
    padding = json.dumps({"padding": os.urandom(100_000).hex()})  # random: the cut lands here
    data = gzip.compress((good.text + "\n" + padding + "\n").encode())
    stream = gzip.GzipFile(fileobj=io.BytesIO(data[: len(data) * 9 // 10]))
    items = list(zipkin.read(stream, "trace.json.gz", good.ctx))
    assert [i.record for i in items[:-1]] == [i.record for i in read_all(zipkin, good.text, good.ctx)]
    assert items[-1].reason == "file ends early (EOFError): the rest is not read"
