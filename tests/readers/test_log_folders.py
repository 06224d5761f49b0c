"""What real log folders hold is read by content: rotated and gzipped files, byte order marks,
UTF-16, CR-only line ends, banners, odd times and lines of any length, every line accounted for."""

from __future__ import annotations

import codecs
import gzip
import json
import tracemalloc
from pathlib import Path

import pytest

from hgobs.readers import REGISTRY, ReadContext, read_paths
from hgobs.readers.files import BANNER_BYTES, SNIFF_BYTES
from hgobs.readers.jsonl import MAX_LINE_BYTES
from hgobs.readers.merge import TIME_OUT_OF_RANGE
from tests.support.reports import analyze_json

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "attempts.jsonl"
T0 = 1_764_000_000.0


def record(i: int, **extra: object) -> str:
    """A minimal record ``i`` seconds after ``T0`` (a service name with U+2028 and U+0085)."""
    return json.dumps({"schema": "hgobs.attempt/1", "time": T0 + i, "endpoint.kind": "api_call",
                       "service.name": "a\u2028b\u0085c", **extra}, ensure_ascii=False)


def text(n: int, end: str = "\n") -> str:
    return "".join(record(i) + end for i in range(n))


def read(path: Path) -> list[tuple[str, str | None]]:
    """``(line, reason)`` of every item read from ``path``."""
    return [(i.source.rsplit(":", 1)[1], i.reason) for i in read_paths([str(path)], ReadContext())]


SIX = [(str(n), None) for n in range(1, 7)]


@pytest.mark.parametrize("encoding,bom", [
    ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE)], ids=["utf-8-bom", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_byte_order_mark_and_u2028_in_a_string_give_one_item_per_line(tmp_path, encoding, bom,
                                                                        gz):
    """Six records with U+2028 and U+0085 in a string, after a BOM: six records, lines 1-6,
    the string read as written (the fuzz run once found 7 items for 6 lines)."""
    data = bom + text(6).encode(encoding)
    path = tmp_path / "hgobs.jsonl"
    path.write_bytes(gzip.compress(data) if gz else data)
    assert read(path) == SIX
    first = next(iter(read_paths([str(path)])))
    assert first.record is not None and first.record["service.name"] == "a\u2028b\u0085c"


@pytest.mark.parametrize("end", ["\r", "\r\n"], ids=["cr-only", "crlf"])
def test_cr_and_crlf_line_ends_keep_line_numbers(tmp_path, end):
    """Six records ending in CR alone, or CR LF: six records numbered 1 to 6."""
    path = tmp_path / "mac.jsonl"
    path.write_bytes(text(6, end).encode())
    assert read(path) == SIX


def test_a_banner_longer_than_the_sniffed_head_is_skipped_line_by_line(tmp_path):
    """A Java stack trace of 200 lines (over ``SNIFF_BYTES``) then 3 records: 200 skips naming
    their lines, then the records at lines 201 to 203."""
    banner = "".join(f"\tat com.example.Service.call(Service.java:{n})\n" for n in range(200))
    assert SNIFF_BYTES < len(banner) < BANNER_BYTES
    path = tmp_path / "app-20251125.log"
    path.write_text("Exception in thread main\n" + banner[banner.index("\n") + 1:] + text(3))
    items = read(path)
    assert len(items) == 203
    assert {reason for _, reason in items[:200]} == {
        "a line before the first one in a format hgobs reads (a banner or stack trace?)"}
    assert [line for line, _ in items[:200]] == [str(n) for n in range(1, 201)]
    assert items[200:] == [("201", None), ("202", None), ("203", None)]


def test_a_banner_before_a_text_log_is_skipped_and_the_log_read(tmp_path):
    """A startup banner (6 KB) then the example app log: every banner line a skip (the text
    log reader, lenient, takes the last few as its own lines without an exchange), then the
    example's items as read alone."""
    example = (Path(__file__).resolve().parents[2] / "examples" / "app.log").read_bytes()
    banner = b"".join(b"*** starting worker %d: config loaded, pool warm ***\n" % n
                      for n in range(120))
    path = tmp_path / "app.log"
    path.write_bytes(banner + example)
    ctx = ReadContext()  # one fingerprint key for both reads
    items = list(read_paths([str(path)], ctx))
    assert all(i.record is None and i.reason for i in items[:120])
    assert items[0].reason == items[100].reason != "no HTTP exchange found"
    alone = tmp_path / "alone.log"
    alone.write_bytes(example)
    expected = [(i.reason, i.record) for i in read_paths([str(alone)], ctx)]
    assert [(i.reason, i.record) for i in items[120:]] == expected


def test_a_file_no_reader_knows_names_the_formats_hgobs_reads(tmp_path):
    """A CSV named explicitly: one skip whose reason lists every registered format."""
    path = tmp_path / "export.csv"
    path.write_text("when,status\n2025-11-25,401\n")
    ((line, reason),) = read(path)
    assert line == "1" and reason is not None
    assert all(reader.NAME in reason for reader in REGISTRY)
    assert "2025" not in reason and "status" not in reason


@pytest.mark.parametrize("value", ["-1.5", "1764000000123", "1e300", "NaN", "Infinity",
                                   "-Infinity", "4102444800"])
def test_a_time_out_of_range_is_a_skip_naming_file_and_line(tmp_path, value):
    """Negative, milliseconds, 1e300, not finite, 2100: a skip at its line, never its value."""
    bad = record(1).replace(f'"time": {T0 + 1}', f'"time": {value}')
    assert value in bad
    path = tmp_path / "times.jsonl"
    path.write_text(record(0) + "\n" + bad + "\n" + record(2) + "\n")
    assert read(path) == [("1", None), ("2", TIME_OUT_OF_RANGE), ("3", None)]
    assert value not in TIME_OUT_OF_RANGE


def test_a_line_of_50_mb_inside_gzip_is_skipped_in_bounded_memory(tmp_path):
    """A 50 MB line between two records in a gzip file: skipped with its reason, the records
    read, and the reading never holds more than a few MB."""
    path = tmp_path / "hgobs.jsonl.2.gz"
    with gzip.open(path, "wb") as out:
        out.write((record(0) + "\n").encode())
        out.write(b'{"schema":"hgobs.attempt/1","x":"')
        chunk = b"a" * (1 << 20)
        for _ in range(50):
            out.write(chunk)
        out.write(b'"}\n' + (record(2) + "\n").encode())
    tracemalloc.start()
    try:
        items = read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert items == [("1", None), ("2", f"line longer than {MAX_LINE_BYTES} bytes"), ("3", None)]
    assert peak < 4 * MAX_LINE_BYTES


def test_a_rotated_folder_is_read_whole_by_content(tmp_path):
    """``hgobs.jsonl``, ``.1``, ``.2.gz``, ``-20251125``, ``.3.GZ`` (gzip), a gzip without
    ``.gz``: all read, in time order; a README is left out."""
    folder = tmp_path / "logs"
    folder.mkdir()
    parts = {"hgobs.jsonl": 0, "hgobs.jsonl.1": 10, "hgobs.jsonl.2.gz": 20,
             "hgobs.jsonl-20251125": 30, "HGOBS.JSONL.3.GZ": 40, "hgobs.jsonl.4": 50}
    for name, start in parts.items():
        data = "".join(record(start + i) + "\n" for i in range(3)).encode()
        gz = name.lower().endswith(".gz") or name.endswith(".4")
        (folder / name).write_bytes(gzip.compress(data) if gz else data)
    (folder / "README.md").write_text("# logs\n")
    ignored: list[str] = []
    items = list(read_paths([str(folder)], ReadContext(), ignored))
    assert len(items) == 18 and all(i.reason is None for i in items)
    times = [i.record["time"] for i in items]  # type: ignore[index]
    assert times == sorted(times) == [T0 + s + i for s in range(0, 60, 10) for i in range(3)]
    assert ignored == []  # a README is no log: not even listed


def test_totals_reconcile_on_a_messy_log(tmp_path):
    """BOM, CR LF, a banner, damaged lines, an odd time, blank lines: every non-blank line is
    classified or skipped (``hgobs analyze``: read = classified + skipped)."""
    lines = (["# exported by logshipper 2.1"] * 3 + [record(0), "", "{oops", record(1),
             record(2).replace(f'"time": {T0 + 2}', '"time": -5'), "   ", record(3), "}"])
    path = tmp_path / "messy.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + "\r\n".join(lines).encode() + b"\r\n")
    doc = analyze_json(path)
    non_blank = sum(1 for line in lines if line.strip())
    totals = doc["totals"]
    assert totals["read"] == non_blank == totals["classified"] + totals["skipped"]
    assert (totals["classified"], totals["skipped"]) == (3, 6)


def test_a_rotated_gzip_with_damaged_data_is_one_skip_naming_it(tmp_path):
    """Deflate data damaged in the middle of ``hgobs.jsonl.2.gz`` (``zlib.error``, neither an
    ``OSError`` nor an ``EOFError``): the records before the damage are read, the file gets a
    skip naming it, and the plain file beside it is read whole."""
    import gzip

    from hgobs.readers import ReadContext, read_paths

    body = SAMPLES.read_bytes()
    (tmp_path / "hgobs.jsonl").write_bytes(body)
    blob = gzip.compress(body)
    bad = tmp_path / "hgobs.jsonl.2.gz"
    bad.write_bytes(blob[:200] + bytes(b ^ 0xFF for b in blob[200:260]) + blob[260:])
    items = list(read_paths([str(tmp_path)], ReadContext()))
    records = [i for i in items if i.record is not None]
    skipped = [i for i in items if i.record is None]
    assert len(records) >= len(body.splitlines())
    assert [i.reason for i in skipped if i.source.startswith(str(bad))] in (
        ["cannot open file (damaged gzip data)"], ["file ends early (damaged gzip data)"])


@pytest.mark.parametrize("ending", [b"\r", b"\n", b"\r\n"], ids=["cr", "lf", "crlf"])
def test_a_first_line_longer_than_the_head_is_ended_by_whatever_ends_it(tmp_path, ending):
    """A first record of 7 KB (longer than the sniffed head, so no line break in it), then the
    rest: each line read as one record, for CR-only, LF and CR LF files alike."""
    lines = SAMPLES.read_bytes().split(b"\n")[:20]
    first = json.loads(lines[0])
    first["error.description"] = "x" * 7000
    path = tmp_path / "long-first.jsonl"
    path.write_bytes(ending.join([json.dumps(first).encode(), *lines[1:]]) + ending)
    items = list(read_paths([str(path)], ReadContext()))
    assert [i.reason for i in items] == [None] * 20
