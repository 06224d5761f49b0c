"""The Jaeger JSON reader: real spans from the shared cases in Jaeger's shapes, and bad input."""

from __future__ import annotations

import gzip
import io
import json
import os
from types import SimpleNamespace

import pytest

from hgobs.readers import jaeger
from tests.support.cases import case_param, load_cases
from tests.support.render_spans import (
    classified,
    context,
    jaeger_document,
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
SECRET = "sk-live-DO-NOT-ECHO-4f1c"


def shapes(doc):
    """The same traces as the API answer, pretty-printed, a bare array, one trace per line."""
    return {"api": json.dumps(doc), "pretty": json.dumps(doc, indent=2),
            "array": json.dumps(doc["data"]),
            "lines": "".join(json.dumps(trace) + "\n" for trace in doc["data"])}


@MODES
@pytest.mark.parametrize("case", CLASSIFIES)
def test_case_classifies_from_jaeger(case, otel_httpx, pool):
    """The case's spans in every Jaeger shape classify to expected.category."""
    replayed = replay_case(case, pool, otel_httpx)
    for shape, text in shapes(jaeger_document(replayed.spans)).items():
        records = classified(read_all(jaeger, text, context(replayed, case)), replayed.profile)
        assert records, shape
        assert records[-1]["category"] == case["expected"]["category"], (shape, records[-1])


@MODES
@pytest.mark.parametrize("case", CAPTURED)
def test_our_spans_read_back_as_the_jsonl_records(case, otel_httpx, pool):
    """Each hgobs span reads back, typed from Jaeger tags, as its JSON Lines record."""
    replayed = replay_case(case, pool, otel_httpx)
    items = read_all(jaeger, json.dumps(jaeger_document(replayed.spans)), context(replayed, case))
    expected = {r["span_id"]: {k: v for k, v in r.items() if k != "schema"}
                for r in replayed.records}
    read = {i.record["span_id"]: i.record for i in items
            if i.record and i.record["span_id"] in expected}
    assert read == expected
    assert [i.source for i in items] == [f"trace.json#{n}" for n in range(1, len(items) + 1)]
    assert len(items) == len(replayed.spans)


def test_http_spans_of_a_token_exchange_are_accounted_once(pool):
    """The HTTP hops under our token exchange span are skips, so one attempt is one record."""
    case = BY_ID["hg-http-redirect"]
    replayed = replay_case(case, pool, otel_httpx=True)
    items = read_all(jaeger, json.dumps(jaeger_document(replayed.spans)), context(replayed, case))
    assert [i.reason for i in items] == ["HTTP span of an hgobs attempt already read"] * 2 + [None]


@pytest.mark.parametrize("case_id", ["hg-rate-limited", "hg-insufficient-scope"])
def test_plain_http_client_spans_classify(case_id, pool):
    """OTel httpx spans of a service without hgobs classify from Jaeger tags."""
    case = BY_ID[case_id]
    replayed = replay_plain(case, pool, capture_headers=True)
    items = read_all(jaeger, json.dumps(jaeger_document(replayed.spans)), context(replayed, case))
    assert [r["category"] for r in classified(items, replayed.profile)] == [
        case["expected"]["category"]]


def _span(**extra):
    span = {"traceID": "abc", "spanID": "1f", "operationName": "GET", "references": [],
            "startTime": 1_700_000_000_000_000, "duration": 1500, "processID": "p1",
            "tags": [{"key": "span.kind", "type": "string", "value": "client"},
                     {"key": "http.method", "type": "string", "value": "GET"},
                     {"key": "http.url", "type": "string",
                      "value": "https://api.healthgorilla.com/fhir/R4/Patient"},
                     {"key": "http.status_code", "type": "int64", "value": 429}]}
    span.update(extra)
    return span


def test_short_ids_units_and_process_are_read():
    """Ids without leading zeros are padded; µs become seconds; the process names the service."""
    doc = {"data": [{"traceID": "abc", "spans": [_span()],
                     "processes": {"p1": {"serviceName": "claims-sync", "tags": []}}}]}
    record = read_all(jaeger, json.dumps(doc))[0].record
    assert record["trace_id"] == "abc".zfill(32) and record["span_id"] == "1f".zfill(16)
    assert record["time"] == 1_700_000_000.0 and record["duration_s"] == 0.0015
    assert record["service.name"] == "claims-sync" and record["http.status"] == 429


def test_older_inline_process_and_parent_field_are_read():
    """An inline ``process`` and ``parentSpanID`` (older exports) are understood."""
    span = _span(process={"serviceName": "legacy"}, parentSpanID="77", processID=None)
    record = read_all(jaeger, json.dumps([{"traceID": "abc", "spans": [span]}]))[0].record
    assert record["service.name"] == "legacy"


# -- bad input -------------------------------------------------------------------------------------

@pytest.fixture
def good(pool):
    """(Jaeger API answer text, read context, span count) of a case with two traces."""
    case = BY_ID["hg-assertion-reuse"]
    replayed = replay_case(case, pool, otel_httpx=True)
    doc = jaeger_document(replayed.spans)
    assert len(doc["data"]) == 2
    return SimpleNamespace(text=json.dumps(doc, indent=2), ctx=context(replayed, case),
                           n=len(replayed.spans))


def test_empty_file_yields_nothing():
    """An empty (or blank) file is no items and no error."""
    assert read_all(jaeger, b"") == [] and read_all(jaeger, b"  \n") == []


def test_truncated_file_keeps_every_span_before_the_cut(good):
    """Cut anywhere, a download reads the spans before the cut, then one item naming the cut."""
    text, ctx, n = good.text, good.ctx, good.n
    ours = [i.record for i in read_all(jaeger, text, ctx) if i.record and "category" in i.record]
    for cut in range(1, len(text) - 1, max(1, len(text) // 97)):
        items = read_all(jaeger, text[:cut], ctx)
        assert items and items[-1].reason == "JSON ends early (truncated file?)", cut
        assert len(items) <= n + 1, cut
        read = [i.record for i in items if i.record and "category" in i.record]  # our spans
        assert read == ours[:len(read)], cut


def test_bad_lines_among_good_documents(good):
    """With one document per line, a bad line is one skip; the documents around it read."""
    text, ctx, n = good.text, good.ctx, good.n
    traces = json.loads(text)["data"]
    lines = [json.dumps(traces[0]), "{broken " + SECRET, '{"hello": 1}',
             '{"data": null, "errors": [{}]}', json.dumps(traces[1])]
    items = read_all(jaeger, "\n".join(lines) + "\n", ctx)
    skipped = [(i.source, i.reason) for i in items if i.source.startswith("trace.json:")]
    assert skipped == [
        ("trace.json:2", "not valid JSON (Expecting property name enclosed in double quotes, "
                         "column 2)"),
        ("trace.json:3", "not a Jaeger trace document"),
        ("trace.json:4", "Jaeger answer without traces (1 errors)")]
    assert len([i for i in items if i.source.startswith("trace.json#")]) == n
    assert all(SECRET not in (i.reason or "") for i in items)


def test_binary_junk_is_skipped_without_quoting_it():
    """Random bytes are two skips (not JSON; not UTF-8 from byte N) that never quote them."""
    items = read_all(jaeger, SECRET.encode() + bytes(range(1, 256)) * 3)
    assert [(i.source, i.reason) for i in items] == [
        ("trace.json:1", "not valid JSON (Expecting value, column 1)"),
        ("trace.json:2", f"not UTF-8 from byte {len(SECRET) + 127} on: the rest is not read")]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig", "utf-32"])
def test_other_unicode_encodings_read_the_same(good, encoding):
    """UTF-16/32 (with or without a byte order mark) and UTF-8 with a BOM read like UTF-8."""
    text, ctx = good.text, good.ctx
    assert read_all(jaeger, text.encode(encoding), ctx) == read_all(jaeger, text, ctx)


def test_bytes_that_are_not_utf8_end_the_readable_part(good):
    """A Latin-1 byte in the second trace: the first trace reads, then one item names the byte."""
    text, ctx = good.text, good.ctx
    data = text.encode()
    at = data.index(b'"traceID"', data.index(b'"processes"'))  # inside the second trace
    items = read_all(jaeger, data[:at] + b'"caf\xe9", ' + data[at:], ctx)
    assert items[-1].reason == f"not UTF-8 from byte {at + 4} on: the rest is not read"
    assert any(i.record for i in items[:-1])


def test_ten_megabyte_line_reads_every_span(good):
    """A 10 MB single-line answer reads every span in it."""
    text, ctx = good.text, good.ctx
    doc = json.loads(text)
    trace = doc["data"][0]
    copies = 10_000_000 // len(json.dumps(trace)) + 1
    doc["data"] = [trace] * copies
    line = json.dumps(doc)
    assert len(line) > 10_000_000
    items = read_all(jaeger, line, ctx)
    assert len(items) == copies * len(trace["spans"])
    assert items[-1].source == f"trace.json#{len(items)}"


def test_file_over_the_limit_reads_its_start(good, monkeypatch):
    """Past MAX_DOCUMENT_BYTES, the start is read and one item says the rest is not."""
    text, ctx = good.text, good.ctx
    monkeypatch.setattr(jaeger, "MAX_DOCUMENT_BYTES", len(text) // 2)
    items = read_all(jaeger, text, ctx)
    assert items[-1].reason == f"file longer than {len(text) // 2} bytes: the rest is not read"
    assert any(i.record for i in items)


def test_sniff_knows_jaeger_json(good):
    """sniff is true for Jaeger's shapes (and UTF-16) and false for other formats."""
    text = good.text
    for shape in shapes(json.loads(text)).values():
        assert jaeger.sniff(shape.encode()[:4096], "x")
    assert jaeger.sniff(text.encode("utf-16")[:4096], "x")
    for other in (b'{"resourceSpans": []}', b'[{"traceId": "1", "id": "2"}]', b"",
                  b'{"schema": "hgobs.attempt/1"}', b"\x00junk"):
        assert not jaeger.sniff(other, "x")


def test_truncated_gzip_reads_what_was_decompressed(good):
    """A cut ``.gz``: what precedes the cut reads, then one item says the file ends early."""
    padding = json.dumps({"padding": os.urandom(100_000).hex()})  # random: the cut lands here
    data = gzip.compress((good.text + "\n" + padding + "\n").encode())
    stream = gzip.GzipFile(fileobj=io.BytesIO(data[: len(data) * 9 // 10]))
    items = list(jaeger.read(stream, "trace.json.gz", good.ctx))
    assert [i.record for i in items[:-1]] == [i.record for i in read_all(jaeger, good.text, good.ctx)]
    assert items[-1].reason == "file ends early (EOFError): the rest is not read"
