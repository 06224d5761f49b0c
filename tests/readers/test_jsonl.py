"""hgobs JSON Lines reader: an escaped lone surrogate is read as U+FFFD, so a record holding
one is analysed instead of crashing the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hgobs.readers import jsonl
from tests.support.reports import analyze_json

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "attempts.jsonl"
LINES = [json.loads(line) for line in SAMPLES.read_text().splitlines()]
FAILED = next(r for r in LINES if r["outcome"] == "failed")
OK = next(r for r in LINES if r["outcome"] == "ok" and r["endpoint.kind"] == "token_exchange")


def _line(record: dict) -> bytes:
    """``record`` as the standard library writes it: non-ASCII text as ``\\uXXXX`` escapes."""
    return json.dumps(record).encode()


def test_lone_surrogates_in_strings_and_lists_are_read_as_replacement_characters():
    """High and low lone surrogates, in a value and in a list item, become U+FFFD; a pair is
    its character; a backslash written before ``ud800`` is that text."""
    line = _line(dict(FAILED, **{"client.fp": "\ud800", "service.name": "a\udc00b\ud83d\ude00",
                                 "evidence": ["x\udbff", "\\ud800"]}))
    assert b'"\\ud800"' in line
    item = jsonl.parse_line(line, "f:1")
    assert item.reason is None and item.record is not None
    assert item.record["client.fp"] == "\ufffd"
    assert item.record["service.name"] == "a\ufffdb\U0001f600"
    assert item.record["evidence"] == ["x\ufffd", "\\ud800"]
    assert item.record["time"] == FAILED["time"]


@pytest.mark.parametrize("field", ["client.fp", "service.name"])
def test_a_lone_surrogate_is_shown_as_the_replacement_character(tmp_path, field):
    """A failure whose client or service is ``"\\ud800"`` among the samples: no crash, the
    value shown as U+FFFD in the JSON report."""
    path = tmp_path / "surrogate.jsonl"
    path.write_bytes(b"".join(_line(r) + b"\n" for r in [
        *LINES, dict(FAILED, **{field: "\ud800"}), dict(OK, **{field: "\udfff"})]))
    docs = [analyze_json(path)]
    dimension = "client" if field == "client.fp" else "service"
    row = next(b for b in docs[0]["breakdown"][dimension] if b["value"] == "\ufffd")
    assert (row["attempts"], row["ok"], row["failed"]) == (2, 1, 1)
    assert docs[0]["totals"]["read"] == len(LINES) + 2


def test_high_lone_surrogates_alone_are_shown_as_the_replacement_character(tmp_path):
    """Only high lone surrogates in stamped records: shown as U+FFFD, never as NUL."""
    path = tmp_path / "high.jsonl"
    path.write_bytes(b"".join(_line(r) + b"\n" for r in [
        *LINES, *[dict(r, **{"service.name": "x\ud800"}) for r in LINES[:20]]]))
    services = {b["value"]: b["attempts"] for b in analyze_json(path)["breakdown"]["service"]}
    assert services["x\ufffd"] == 20 and "x\x00" not in services


def test_a_line_that_is_no_hgobs_record_says_what_is_missing():
    assert jsonl.parse_line(b'{"time": 1.0}', "f:1").reason == \
        "not an hgobs record (no 'schema' field)"
    assert jsonl.parse_line(b'{"schema": "other/2", "time": 1.0}', "f:2").reason == \
        "not an hgobs record (another schema)"


@pytest.mark.parametrize("field,value", [("form.other_params", [{}]), ("form.other_params", [["a"]]),
                                         ("assertion.ms_claims", [1]),
                                         ("assertion.missing_claims", [None])])
def test_a_list_field_with_items_that_are_no_text_is_dropped_not_a_crash(tmp_path, field, value):
    """A record whose list-of-text field holds a dict, a list, a number or null: the field is
    dropped (as any value of the wrong type is), by the typed, lean and checked decodes alike,
    and the rules never meet it (they raised TypeError)."""
    failed = dict(FAILED, **{field: value})
    line = _line(failed)
    for parse in (jsonl.parse_line, jsonl.parse_lean, jsonl.parse_line_checked):
        item = parse(line, "f:1")
        assert item.record is not None and field not in item.record, parse.__name__
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(b"".join(_line(r) + b"\n" for r in [*LINES, failed]))
    assert analyze_json(path)["totals"]["classified"] == len(LINES) + 1
