"""Trace and HAR documents with hostile values: each is read or skipped, never a crash, and
every report format renders (found by an adversarial review)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import hgobs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _analyze(path: Path) -> hgobs.Report:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hgobs.analyze([str(path)])


@pytest.mark.parametrize("reader", ["zipkin", "otlp"])
@pytest.mark.parametrize("fmt", ["json", "text", "html", "csv", "markdown"])
def test_a_lone_surrogate_in_a_span_attribute_renders_as_the_replacement_character(
        tmp_path, reader, fmt):
    """``"sand\\ud800box"`` as a span's environment: every format renders, as U+FFFD."""
    if reader == "zipkin":
        spans = json.loads((EXAMPLES / "zipkin-spans.json").read_text())
        for span in spans:
            span["tags"]["hgobs.environment"] = "sand\ud800box"
        path = tmp_path / "zipkin.json"
        path.write_text(json.dumps(spans))
    else:
        text = (EXAMPLES / "otlp-traces.jsonl").read_text()
        path = tmp_path / "otlp.jsonl"
        path.write_text(text.replace('"stringValue":"sandbox"', '"stringValue":"sand\\ud800box"'))
    out = _analyze(path).render(fmt)
    out.encode("utf-8")
    assert "sand\ufffdbox" in out or fmt == "html"


def test_a_lone_surrogate_in_har_form_params_is_read(tmp_path):
    har = json.loads((EXAMPLES / "browser-export.har").read_text())
    for entry in har["log"]["entries"]:
        entry["request"]["postData"] = {"mimeType": "application/x-www-form-urlencoded",
                                        "params": [{"name": "a", "value": "\ud800"}]}
    path = tmp_path / "x.har"
    path.write_text(json.dumps(har))
    assert _analyze(path).totals["read"] == len(har["log"]["entries"])


def test_jaeger_references_that_are_no_list_are_no_parent(tmp_path):
    doc = json.loads((EXAMPLES / "jaeger-trace.json").read_text())
    for trace in doc["data"]:
        for span in trace["spans"]:
            span["references"] = 7
    path = tmp_path / "j.json"
    path.write_text(json.dumps(doc))
    assert _analyze(path).totals["classified"] >= 1


def test_a_deeply_nested_array_tag_is_no_list_of_strings(tmp_path):
    spans = json.loads((EXAMPLES / "zipkin-spans.json").read_text())
    for span in spans:
        span["tags"]["hgobs.form.other_params"] = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "zipkin.json"
    path.write_text(json.dumps(spans))
    assert _analyze(path).totals["read"] == len(spans)


def test_a_trace_document_newest_first_is_judged_in_time_order(tmp_path):
    """Zipkin spans exported newest first, an hour apart: read oldest first (history is built
    in time order), and no record counts as late."""
    spans = json.loads((EXAMPLES / "zipkin-spans.json").read_text())
    for i, span in enumerate(spans):
        when = 1764000000.0 + (len(spans) - i) * 3600
        span["tags"]["hgobs.time"] = str(when)
        span["timestamp"] = int(when * 1e6)
    path = tmp_path / "zipkin.json"
    path.write_text(json.dumps(spans))
    from hgobs.readers import ReadContext, read_paths

    ctx = ReadContext()
    times = [i.record["time"] for i in read_paths([str(path)], ctx) if i.record is not None]
    assert times == sorted(times) and len(times) >= 2 and ctx.late_records == 0
    report = json.loads(_analyze(path).render("json"))
    assert not (report.get("notices") or {}).get("late_records")
