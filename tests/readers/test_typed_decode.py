"""The JSON Lines reader's typed decode reads every line to the item its general path gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.generate import Spec, jsonl_line, records
from hgobs.readers.jsonl import parse_line, parse_line_checked

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "attempts.jsonl"
BASE = {"schema": "hgobs.attempt/1", "time": 1764000000.5, "endpoint.kind": "api_call"}
ODD = {
    "int-time": dict(BASE, time=1764000000),
    "explicit-null": dict(BASE, environment=None, **{"http.status": None}),
    "unknown-keys": dict(BASE, extra={"a": [1, 2]}, other="x"),
    "int-in-float-field": dict(BASE, duration_s=2),
    "float-in-int-field": dict(BASE, **{"http.status": 401.0}),
    "bool-in-float-field": dict(BASE, duration_s=True),
    "bool-in-int-field": dict(BASE, **{"http.status": True}),
    "str-in-bool-field": dict(BASE, **{"assertion.iss_is_client": "yes"}),
    "list-of-mixed": dict(BASE, evidence=["a", 1, None, {"b": 2}]),
    "str-or-list": dict(BASE, also="x"),
    "big-int": dict(BASE, **{"http.status": 2**70}),
    "nested-deep": dict(BASE, evidence=[[[[["deep"]]]]]),
    "time-string": dict(BASE, time="1764000000"),
    "time-bool": dict(BASE, time=True),
    "time-null": dict(BASE, time=None),
    "no-time": {k: v for k, v in BASE.items() if k != "time"},
    "other-kind": dict(BASE, **{"endpoint.kind": "other"}),
    "kind-list": dict(BASE, **{"endpoint.kind": []}),
    "other-schema": dict(BASE, schema="other/1"),
    "no-schema": {k: v for k, v in BASE.items() if k != "schema"},
    "surrogate": dict(BASE, environment="\ud800"),
    "u2028": dict(BASE, environment="a\u2028b"),
}


def _same(line: bytes) -> None:
    fast, checked = parse_line(line, "f:1"), parse_line_checked(line, "f:1")
    assert (fast.reason, fast.record) == (checked.reason, checked.record)
    if fast.record is not None:
        assert [type(v) for v in fast.record.values()] == [
            type(checked.record[k]) for k in fast.record]  # type: ignore[index]


def test_sample_and_generated_lines_read_alike():
    """The samples and 3,000 generated records: the same records, value types included."""
    lines = [line for line in SAMPLES.read_bytes().split(b"\n") if line.strip()]
    lines += [jsonl_line(r).rstrip(b"\n") for r in records(Spec(3000, days=0.1))]
    for line in lines:
        _same(line)


@pytest.mark.parametrize("name", list(ODD))
def test_odd_values_read_alike(name):
    """Each odd value (wrong types, nulls, unknown keys, odd times): the same item."""
    _same(json.dumps(ODD[name]).encode())


@pytest.mark.parametrize("text", [b'{"schema":"hgobs.attempt/1","time":NaN,"endpoint.kind":"api_call"}',
                                  b'{"schema":"hgobs.attempt/1","time":1,"time":2,"endpoint.kind":"api_call"}',
                                  b'\xef\xbb\xbf{"schema":"hgobs.attempt/1"}', b"[1]", b"{", b"\xff"],
                         ids=["nan", "duplicate-key", "bom", "array", "cut", "not-utf8"])
def test_text_the_typed_decode_refuses_reads_alike(text):
    """NaN, a duplicate key, a BOM, not an object, cut, not UTF-8: the same item."""
    _same(text)
