"""Reading inputs: a file's format is detected from its first line that is not blank, however
many blank lines come before it, and line numbers count every line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from hgobs.readers import SNIFF_BYTES, ReadContext, read_paths
from tests.support.reports import analyze_json, without_sources

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "attempts.jsonl"


def _records(n: int) -> bytes:
    return b"".join(SAMPLES.read_bytes().splitlines(keepends=True)[:n])


BLANK = b"\n" * 3000 + b"  \t \r\n" * 500 + b" " * 2000 + b"\n"
"""More blank lines (empty, spaces and tabs, CRLF) than the first ``SNIFF_BYTES`` hold."""


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_records_after_more_blank_lines_than_the_sniffed_head_are_read(tmp_path, gz):
    """3,501 blank lines (7 KB), then 3 records: the 3 records, numbered from line 3,502."""
    assert len(BLANK) > SNIFF_BYTES and not BLANK.strip()
    data = BLANK + _records(3)
    path = tmp_path / ("blank.jsonl.gz" if gz else "blank.jsonl")
    path.write_bytes(gzip.compress(data) if gz else data)
    items = list(read_paths([str(path)], ReadContext()))
    assert [i.reason for i in items] == [None, None, None]
    assert [i.source for i in items] == [f"{path}:{n}" for n in (3502, 3503, 3504)]
    expected = [json.loads(line) for line in _records(3).splitlines()]
    assert [i.record["time"] for i in items] == [r["time"] for r in expected]  # type: ignore[index]
    assert [i.record.get("assertion.fp") for i in items] == [  # type: ignore[union-attr]
        r.get("assertion.fp") for r in expected]


def test_the_report_counts_the_records_after_the_blank_lines(tmp_path):
    """``hgobs analyze``: the 20 records after the blank lines, none skipped."""
    path = tmp_path / "blank.jsonl"
    path.write_bytes(BLANK + _records(20))
    totals = analyze_json(path)["totals"]
    assert (totals["read"], totals["skipped"]) == (20, 0)


def test_a_file_of_blank_lines_alone_holds_no_record(tmp_path):
    """Blank lines to the end: no item, and no read past the file's end."""
    path = tmp_path / "blank.jsonl"
    path.write_bytes(BLANK * 20)
    assert list(read_paths([str(path)], ReadContext())) == []


def test_records_after_a_few_blank_lines_are_json_lines(tmp_path):
    """Two blank lines, then records: read as hgobs JSON Lines (not an unknown format) by
    both engines, numbered from line 3."""
    path = tmp_path / "few.jsonl"
    path.write_bytes(b"\n \n" + _records(20))
    items = list(read_paths([str(path)], ReadContext()))
    assert [i.reason for i in items] == [None] * 20
    assert items[0].source == f"{path}:3"
    totals = analyze_json(path)["totals"]
    assert (totals["read"], totals["skipped"]) == (20, 0)


@pytest.mark.parametrize("first", [b"garbage line", b'rd","category":"ok"}',
                                   b'{"level": "info", "msg": "log rotated"}'],
                         ids=["garbage", "cut-record", "other-json"])
def test_a_damaged_first_line_costs_that_line_only(tmp_path, first):
    """A JSON Lines log whose first line is damaged (garbage, the end of a record cut by
    rotation or ``tail -c``): the log is still read, that line skipped with its reason, named
    or found in a folder."""
    folder = tmp_path / "logs"
    folder.mkdir()
    path = folder / "cut.jsonl"
    path.write_bytes(first + b"\n" + _records(54))
    for target in (path, folder):
        doc = analyze_json(target)
        assert (doc["totals"]["read"], doc["totals"]["classified"], doc["totals"]["skipped"]) \
            == (55, 54, 1)
        assert doc["skipped"][0]["source"] == f"{path}:1"


def test_gzipped_standard_input_is_read_like_the_file(tmp_path):
    """``gzip -c log | hgobs analyze -``: decompressed, the same report as the file."""
    piped = without_sources(analyze_json("-", input=gzip.compress(SAMPLES.read_bytes())))
    assert piped == without_sources(analyze_json(SAMPLES))
    assert piped["totals"]["read"] == len(SAMPLES.read_bytes().splitlines())


@pytest.mark.parametrize("example", ["app.log", "otlp-traces.jsonl"])
def test_a_log_of_another_format_that_quotes_a_record_keeps_its_format(tmp_path, example):
    """A text log or OTLP export with a line that quotes an hgobs record (a collector tailing
    the capture file, a debug print) is still read as its own format: its attempts count."""
    source = Path(__file__).resolve().parents[2] / "examples" / example
    quoted = SAMPLES.read_bytes().splitlines()[0]
    lines = source.read_bytes().splitlines(keepends=True)
    path = tmp_path / example
    path.write_bytes(lines[0] + b'{"note": "quoted", "record": ' + json.dumps(
        quoted.decode()).encode() + b"}\n" + b"".join(lines[1:]))
    expected = analyze_json(source, env={"HGOBS_FINGERPRINT_KEY": "k" * 16})["totals"]
    got = analyze_json(path, env={"HGOBS_FINGERPRINT_KEY": "k" * 16})["totals"]
    # The quoted record's own exchange may count once: its token URL (the emulator's, on
    # loopback) is one the generic profile recognises.
    assert expected["attempts"] > 0
    assert got["attempts"] in (expected["attempts"], expected["attempts"] + 1)


def test_gzipped_otlp_on_standard_input_is_read_like_the_file():
    """A gzip stream over a pipe cannot seek back: the OTLP reader copies it instead of
    losing every record."""
    import os
    import subprocess
    import sys

    example = Path(__file__).resolve().parents[2] / "examples" / "otlp-traces.jsonl"
    env = {"HGOBS_FINGERPRINT_KEY": "k" * 16}
    done = subprocess.run([sys.executable, "-m", "hgobs.cli", "analyze", "--format", "json",
                           "-"], input=gzip.compress(example.read_bytes()),
                          capture_output=True, env={**os.environ, **env}, check=True)
    piped = json.loads(done.stdout)
    assert piped["totals"] == analyze_json(example, env=env)["totals"]
    assert piped["totals"]["attempts"] == 4


def test_a_pipe_named_as_a_path_is_read_once(tmp_path):
    """A named pipe (as ``<(zcat log.gz)`` or ``/dev/stdin`` give) is read as it comes, not
    globbed forever nor sniffed twice; gzip inside it is undone."""
    import os
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(gzip.compress(_records(54))))
    writer.start()
    try:
        doc = analyze_json(fifo)
    finally:
        writer.join(timeout=10)
    assert doc["totals"]["read"] == 54 and doc["totals"]["skipped"] == 0


def test_a_file_reached_twice_is_read_once(tmp_path):
    """A folder and a file in it, the same file twice, and a symbolic link to it: each file's
    records once (so no copy looks like a reused assertion), the later paths listed."""
    folder = tmp_path / "logs"
    folder.mkdir()
    path = folder / "a.jsonl"
    path.write_bytes(_records(10))
    (tmp_path / "link.jsonl").symlink_to(path)
    ctx = ReadContext()
    items = list(read_paths([str(folder), str(path), str(path), str(tmp_path / "link.jsonl")], ctx))
    assert len(items) == 10
    assert ctx.repeated == [str(path), str(path), str(tmp_path / "link.jsonl")]
    twice = analyze_json(folder, path)
    assert twice["totals"]["read"] == 10
    assert twice == analyze_json(folder)


def test_files_a_folder_walk_leaves_out_by_name_are_listed(tmp_path):
    """``hgobs.jsonl.bak`` and ``app.log.xz`` in a log folder are not read, and are named in
    the list of files left out (the analyzer's warning), as a file of unknown content is; a
    ``README.md`` is not read and not listed."""
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "hgobs.jsonl").write_bytes(_records(5))
    (folder / "hgobs.jsonl.bak").write_bytes(_records(5))
    (folder / "app.log.xz").write_bytes(b"\xfd7zXZ\x00")
    (folder / "README.md").write_text("# logs\n")
    ignored: list[str] = []
    items = list(read_paths([str(folder)], ReadContext(), ignored))
    assert len(items) == 5
    assert sorted(ignored) == [str(folder / "app.log.xz"), str(folder / "hgobs.jsonl.bak")]
