"""Every format shows the JSON report's numbers for the same input, and no secret."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from hgobs.errors import ConfigError
from hgobs.reports import FORMATS, render
from hgobs.reports.json_report import document, iso
from tests.analysis.records import result
from tests.reports.dom import parse
from tests.reports.html_checks import assert_numbers_match, embedded_document
from tests.reports.sample import NOW, SECRET, sample_report
from tests.support.whole import build_report


@pytest.fixture(scope="module")
def report():
    return sample_report()


@pytest.fixture(scope="module")
def doc(report) -> dict[str, Any]:
    return json.loads(render(report, "json"))


def ts(text: str | None) -> str:
    """The JSON time as the text and Markdown reports print it."""
    return "-" if text is None else text.replace("T", " ")


def table_rows(output: str, sep: str) -> list[list[str]]:
    """The cells of every table line of a text (``│``) or Markdown (``|``) report."""
    rows = []
    for line in output.splitlines():
        if line.strip().startswith(sep):
            rows.append([c.strip().strip("`") for c in line.strip().strip(sep).split(sep)])
    return rows


def has_row(rows: list[list[str]], *cells: Any) -> bool:
    """Some row holds ``cells`` in this order (other cells may come between)."""
    want = [str(c) for c in cells]
    for row in rows:
        it = iter(row)
        if all(any(cell == w for cell in it) for w in want):
            return True
    return False


def expected_rows(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows every table format must show, from the JSON report."""
    rows: list[tuple[Any, ...]] = []
    rows += [(c["category"], c["environment"], c["count"], ts(c["first_seen"]),
              ts(c["last_seen"])) for c in doc["categories"]]
    for name in ("environment", "service", "client", "endpoint_kind"):
        rows += [(b["value"], b["attempts"], b["ok"], b["failed"])
                 for b in doc["breakdown"][name]]
    rows += [(ts(r["bucket"]), r["endpoint_kind"], r["attempts"], r["ok"], r["failed"],
              f"{100 * r['rate']:.1f}%" if r["rate_known"] else "unknown")
             for r in doc["failure_rate"]]
    rows += [(r["client"], r["category"], r["buckets"], r["count"]) for r in doc["recurring"]]
    rows += [(r["category"], r["status"], r["current"], r["previous"], r["earlier"])
             for r in doc["changes"] if doc["window"]["compared"]]
    rows += [(r["client"], r["direction"], r["count"]) for r in doc["mismatch"]]
    rows += [(r["client"], ", ".join(r["categories"]), ts(r["failed_at"]),
              "open" if r["open"] else ts(r["recovered_at"]),
              "-" if r["seconds"] is None else f"{r['seconds']:g}", r["failures"])
             for r in doc["recovery"]]
    return rows


def test_json_has_the_versioned_schema_and_every_section(doc):
    """The document names its schema and carries every documented top-level key."""
    assert doc["schema"] == "hgobs.report/1"
    assert list(doc) == ["schema", "generated_at", "read", "options", "window", "totals",
                         "breakdown", "categories", "timeline", "counts", "recurring",
                         "changes", "mismatch", "recovery", "failure_rate", "records",
                         "skipped"]
    assert doc["generated_at"] == "2024-03-08T12:00:00Z"
    assert doc["totals"] == {"read": 16, "classified": 14, "skipped": 2, "attempts": 14,
                             "ok": 4, "failed": 10, "token_exchange": 10, "api_call": 4}
    assert doc["read"] == doc["totals"]["read"]
    assert doc["options"] == {"bucket": "1D", "bucket_seconds": 86400.0, "since": None,
                              "until": None, "recurring_min_buckets": 2}
    assert doc["window"] == {"start": "2024-03-04T00:00:00Z", "end": "2024-03-07T00:00:00Z",
                             "previous_start": "2024-03-01T00:00:00Z",
                             "previous_end": "2024-03-04T00:00:00Z", "compared": False}


def test_json_values_are_plain_json(doc, report):
    """Times are ISO text ending in Z, unknown values null, counts integers."""
    assert doc == document(report)
    assert all(isinstance(r["count"], int) for r in doc["counts"])
    assert {r["direction"] for r in doc["mismatch"]} == {"sandbox->production",
                                                         "production->sandbox"}
    # A: 300 s, 120 s, then D+13h -> 2D+10h+30s; B: 90 s, then open; C: open.
    assert [r["seconds"] for r in doc["recovery"]] == [300.0, 90.0, 120.0, None, 75630.0, None]
    assert [r["rate"] for r in doc["failure_rate"] if not r["rate_known"]] == [None] * 2  # API calls, days 1 and 2
    assert iso(None) is None and doc["records"][0]["time"].endswith("Z")


def test_text_shows_the_json_numbers(doc, report):
    """The totals line and every table row of the text report match the JSON report."""
    out = render(report, "text")
    t = doc["totals"]
    assert (f"{t['read']} records read, {t['classified']} classified ({t['ok']} ok, "
            f"{t['failed']} failed), {t['skipped']} skipped") in out
    rows = table_rows(out, "│")
    for expected in expected_rows(doc):
        assert has_row(rows, *expected), expected
    for skipped in doc["skipped"]:
        assert f"{skipped['source']}: {skipped['reason']}" in out


def test_markdown_shows_the_json_numbers(doc, report):
    """Every table row of the Markdown report matches the JSON report."""
    out = render(report, "markdown")
    assert out.startswith("# hgobs auth failure report\n")
    rows = table_rows(out, "|")
    for expected in expected_rows(doc):
        assert has_row(rows, *expected), expected
    for b in doc["breakdown"]["category"]:
        assert has_row(rows, b["value"], b["attempts"], b["ok"], b["failed"])


def test_csv_is_the_counts_table(doc, report):
    """One row per (bucket, category, environment, service, client, endpoint kind)."""
    out = render(report, "csv")
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0] == "bucket,category,environment,service,client,endpoint_kind,count"
    assert parsed == [{k: str(v) for k, v in row.items()} for row in doc["counts"]]
    assert sum(int(r["count"]) for r in parsed) == doc["totals"]["attempts"]


def test_html_shows_the_json_numbers(doc, report):
    """Cards, tables, drill-down and chart values carry the JSON numbers as attributes."""
    out = render(report, "html")
    root = parse(out)
    assert embedded_document(root) == doc
    assert_numbers_match(root, doc)


def test_html_is_self_contained_and_escapes_record_text(report):
    """No external resource, a CSP that forbids fetching, evidence text escaped."""
    out = render(report, "html")
    root = parse(out)
    assert not root.find_all(src=True)
    assert not [n for n in root.find_all(href=True) if not n.attrs["href"].startswith("#")]
    csp = root.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert "default-src 'none'" in csp and "connect-src" not in csp
    assert "script-src" not in csp  # no script runs: charts are inline SVG
    scripts = root.find_all("script")
    assert [s.attrs for s in scripts] == [{"type": "application/json", "id": "hgobs-report-data"}]
    assert "<script>alert(1)</script>" not in out
    assert "url=&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_contains_a_secret(report, fmt):
    """Fields a report does not show (here token-shaped values) never reach any format."""
    out = render(report, fmt)
    assert SECRET not in out
    assert not re.search(r"eyJ[A-Za-z0-9_-]{8,}", out)


def test_unknown_format_is_a_config_error(report):
    """render names the accepted formats when given another one."""
    assert FORMATS == ("text", "json", "markdown", "csv", "html")
    with pytest.raises(ConfigError, match="text, json, markdown, csv, html"):
        render(report, "pdf")


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_input_renders_in_every_format(fmt):
    """No records at all: every format still renders, the HTML with no chart drawn."""
    empty = build_report(result(skipped=(("in.jsonl:1", "not JSON"),)), now=NOW)
    out = render(empty, fmt)
    assert out.endswith("\n") or fmt == "html"
    if fmt == "html":
        assert "<svg" not in out and "hgobs-report-data" in out
        assert "Nothing is failing now" in out
    if fmt == "text":
        assert "hgobs report: 1 record read, 0 classified (0 ok, 0 failed), 1 skipped" in out


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", None])
def test_time_columns_are_written_as_iso_writes_each_time(zone):
    import random

    import pandas as pd

    from hgobs.reports.json_report import _iso_column

    rng = random.Random(3)
    times = [pd.Timestamp("2026-01-01T00:00:00Z"), pd.NaT,
             pd.Timestamp("1970-01-01T00:00:00.0000005Z"),  # rounds half to even: 0 us
             pd.Timestamp("1969-12-31T23:59:59.9999995Z"),  # rounds up to the next second
             pd.Timestamp("1960-05-05T01:02:03.000001Z"),
             pd.Timestamp("1677-09-22T00:12:43.145224192Z")]
    times += [pd.Timestamp(rng.randint(-2**62, 2**62), unit="ns", tz="UTC") for _ in range(500)]
    times += [pd.Timestamp(rng.randint(0, 2**31), unit="s", tz="UTC") for _ in range(500)]
    column = pd.Series(times, dtype="datetime64[ns, UTC]")
    column = column.dt.tz_localize(None) if zone is None else column.dt.tz_convert(zone)
    written = _iso_column(column)
    assert written == [iso(t) for t in column]
    assert written[:4] == ["2026-01-01T00:00:00Z", None, "1970-01-01T00:00:00Z",
                           "1970-01-01T00:00:00Z"]
    assert written[4] == "1960-05-05T01:02:03.000001Z"


def test_a_client_that_is_no_fingerprint_is_scrubbed_in_every_format(tmp_path):
    """A JSON Lines record not written by hgobs whose ``client.fp`` holds an e-mail address and
    a FHIR search: no format shows either; a real fingerprint is shown as it is."""
    import json

    from tests.support.reports import analyze_json

    lines = (Path(__file__).resolve().parents[2] / "samples" / "attempts.jsonl").read_text()
    records = [json.loads(line) for line in lines.splitlines()]
    kept = next(r["client.fp"] for r in records if r.get("client.fp"))
    records[0]["client.fp"] = "jane.doe@example.org https://h/fhir/Patient?family=Smithson"
    path = tmp_path / "foreign.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    doc = analyze_json(path)
    text = json.dumps(doc)
    assert "jane.doe@example.org" not in text and "Smithson" not in text
    assert kept in text
    from click.testing import CliRunner

    from hgobs.cli import cli
    for fmt in ("text", "markdown", "csv", "html"):
        out = CliRunner().invoke(cli, ["analyze", "--format", fmt, str(path)]).stdout
        assert "jane.doe@example.org" not in out and "Smithson" not in out, fmt


def test_changes_are_shown_only_against_an_earlier_window(report, doc):
    """Without --since every category would be 'new': the JSON says so (``compared``) and the
    text, Markdown and HTML reports show no changes table; with --since they show it."""
    from datetime import datetime, timezone

    from hgobs.reports.text import NO_EARLIER_WINDOW
    from tests.reports.sample import NOW, sample_result
    from tests.support.whole import build_report

    assert doc["window"]["compared"] is False and doc["changes"]  # rows, not for show
    assert NO_EARLIER_WINDOW in render(report, "text", width=200)
    assert NO_EARLIER_WINDOW.capitalize() in render(report, "markdown")
    assert "No earlier window to compare with" in render(report, "html")
    since = datetime(2024, 3, 5, tzinfo=timezone.utc)
    later = build_report(sample_result(), bucket="1D", since=since, now=NOW)
    later_doc = json.loads(render(later, "json"))
    assert later_doc["window"]["compared"] is True
    text = render(later, "text", width=200)
    assert NO_EARLIER_WINDOW not in text
    rows = table_rows(text, "│")
    assert later_doc["changes"]
    for r in later_doc["changes"]:
        assert has_row(rows, r["category"], r["status"], r["current"], r["previous"])
