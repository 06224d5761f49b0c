"""The columnar engine: the same report as the streaming engine, for every input it takes.

Each test writes hgobs JSON Lines files, reduces them with both engines and compares the JSON
documents (``generated_at`` fixed). Small blocks make every file span many blocks, so the
tables carried between blocks, the rows held back for ordering and the line-by-line fallback
are all exercised.
"""

from __future__ import annotations

import gzip
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from benchmarks.generate import Spec, jsonl_line, records
from hgobs.analysis.classify import judge
from hgobs.analysis.columnar import ColumnarAnalyzer
from hgobs.analysis.state import ReportState
from hgobs.cli import cli
from hgobs.diagnose import RULES_DIGEST
from hgobs.profiles import load_profile
from hgobs.readers import read_paths
from hgobs.reports.json_report import document

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "attempts.jsonl"
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
PROFILE = load_profile()


def _streaming(paths: list[Path], *, trust: bool = True, client_fp: str | None = None,
               **options) -> dict:
    state = ReportState(**options)
    for judged in judge(read_paths([str(p) for p in paths]), PROFILE, client_fp, trust=trust):
        state.add(judged)
    return document(state.report(NOW))


def _columnar(paths: list[Path], *, block_bytes: int = 4096, window: int = 10_000,
              trust: bool = True, client_fp: str | None = None, **options) -> dict:
    state = ReportState(**options)
    engine = ColumnarAnalyzer(state, PROFILE, client_fp, trust=trust, block_bytes=block_bytes,
                              reorder_window=window)
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            engine.feed(stream, str(path))
    engine.finish()
    return document(state.report(NOW))


def _write(path: Path, n: int, **spec) -> Path:
    with path.open("wb") as out:
        for record in records(Spec(n, **spec)):
            out.write(jsonl_line(record))
    return path


def test_samples_give_the_streaming_report(tmp_path):
    """The bundled samples: every failure category, history facts, traces."""
    assert _columnar([SAMPLES]) == _streaming([SAMPLES])
    assert _columnar([SAMPLES], block_bytes=1 << 20) == _streaming([SAMPLES])


@pytest.mark.parametrize("options", [
    {},
    {"bucket": "1h"},
    {"since": datetime(2026, 1, 1, 6, tzinfo=timezone.utc)},
    {"since": datetime(2026, 1, 1, 3, tzinfo=timezone.utc),
     "until": datetime(2026, 1, 1, 9, tzinfo=timezone.utc), "bucket": "15min"},
])
def test_generated_input_gives_the_streaming_report(tmp_path, options):
    """3,000 generated records (80% successes, up to 2 s out of order), many blocks."""
    path = _write(tmp_path / "gen.jsonl", 3000, days=0.5)
    expected = _streaming([path], **options)
    assert expected["read"] == 3000
    assert _columnar([path], **options) == expected


def test_rows_held_back_keep_time_order_across_blocks(tmp_path):
    """Records up to 60 s out of order with a 200-record window: judged in time order."""
    path = _write(tmp_path / "late.jsonl", 3000, days=0.2, jitter_s=60.0)
    lines = path.read_bytes().splitlines()
    times = [orjson.loads(line)["time"] for line in lines]
    assert times != sorted(times)
    assert _columnar([path], window=200, block_bytes=20_000) == _streaming([path])


def test_several_files_and_gzip_share_one_history(tmp_path):
    """Three files, one gzipped: history and order run across them as in streaming."""
    path = _write(tmp_path / "all.jsonl", 1500, days=0.1)
    lines = path.read_bytes().splitlines(keepends=True)
    first, second, third = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz", tmp_path / "c.jsonl"
    first.write_bytes(b"".join(lines[:500]))
    second.write_bytes(gzip.compress(b"".join(lines[500:1000])))
    third.write_bytes(b"".join(lines[1000:]))
    files = [first, second, third]
    assert _columnar(files) == _streaming(files)


def test_damaged_lines_are_skipped_with_the_readers_reasons(tmp_path):
    """Blank lines, CRLF, a truncated line, a non-object, a wrong schema, a wrong type, a line
    with no time: the same skips (file and line) and the same values kept (a NaN time is a
    skip for the readers since issue 13, not for this engine, which is being deleted)."""
    path = _write(tmp_path / "gen.jsonl", 400, days=0.05)
    lines = path.read_bytes().splitlines()
    lines[10] = lines[10][:-20]
    lines[20] = b"[1, 2]"
    lines[30] = lines[30].replace(b'"hgobs.attempt/1"', b'"other/1"')
    record = orjson.loads(lines[40])
    record["client.fp"] = 12345  # wrong type: dropped by the reader
    lines[40] = orjson.dumps(record)
    record = orjson.loads(lines[50])
    del record["time"]
    lines[50] = orjson.dumps(record)
    lines[70] = lines[70] + b"\r"
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(b"\n".join(lines[:100]) + b"\n\n   \n" + b"\n".join(lines[100:]) + b"\n")
    expected = _streaming([damaged])
    assert expected["skipped"] and len(expected["skipped"]) == 4
    assert {row["source"] for row in expected["skipped"]} == {
        f"{damaged}:{n}" for n in (11, 21, 31, 51)}
    assert _columnar([damaged]) == expected
    assert _columnar([damaged], block_bytes=1 << 20) == expected


def test_stamped_verdicts_are_kept_and_stale_ones_judged_again(tmp_path):
    """A record stamped by these rules keeps its verdict; one stamped by other rules, or read
    with trust off, is judged again by the rules."""
    lines = SAMPLES.read_bytes().splitlines()
    failed = [orjson.loads(line) for line in lines if b'"outcome":"failed"' in line]
    target = next(r for r in failed if "assertion.reused_after_s" not in r
                  and "presented.after_failed_exchange" not in r)
    assert target["diagnosis.rules"] == RULES_DIGEST
    kept = dict(target, category="rate_limited")  # a verdict the rules would not give here
    stale = dict(kept, **{"diagnosis.rules": "0" * 16})
    for name, record, trust, expected in (
            ("kept", kept, True, "rate_limited"),
            ("stale", stale, True, target["category"]),
            ("untrusted", kept, False, target["category"])):
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(orjson.dumps({"schema": "hgobs.attempt/1", **record}) + b"\n")
        streamed = _streaming([path], trust=trust)
        assert [row["category"] for row in streamed["records"]] == [expected]
        assert _columnar([path], trust=trust) == streamed


def test_a_child_process_parses_large_files(tmp_path, monkeypatch):
    """Above ``PARALLEL_BYTES`` a child process parses the blocks: the same report."""
    import hgobs.analysis.columnar as columnar

    path = _write(tmp_path / "gen.jsonl", 1500, days=0.1)
    gz = tmp_path / "gen.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    monkeypatch.setattr(columnar, "PARALLEL_BYTES", 1)
    for files in ([path], [gz]):
        state = ReportState()
        engine = ColumnarAnalyzer(state, PROFILE, block_bytes=50_000)
        for name in files:
            engine.feed_file(str(name))
        engine.finish()
        assert document(state.report(NOW)) == _streaming(files)


def test_a_compressed_file_that_ends_early_is_an_error_from_the_child(tmp_path, monkeypatch):
    """A truncated gzip file: EOFError raised in the parent, as reading it here would."""
    import hgobs.analysis.columnar as columnar

    path = _write(tmp_path / "gen.jsonl", 300, days=0.1)
    gz = tmp_path / "cut.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes())[:-200])
    monkeypatch.setattr(columnar, "PARALLEL_BYTES", 1)
    engine = ColumnarAnalyzer(ReportState(), PROFILE, block_bytes=50_000)
    with pytest.raises(EOFError):
        engine.feed_file(str(gz))


def test_cli_engines_agree_and_auto_picks_columnar_for_jsonl(tmp_path):
    """``hgobs analyze`` with each engine: same document; columnar refuses other formats."""
    path = _write(tmp_path / "gen.jsonl", 800, days=0.1)
    runner = CliRunner()
    docs = {}
    for engine in ("streaming", "columnar", "auto"):
        result = runner.invoke(cli, ["analyze", "--format", "json", "--engine", engine,
                                     str(path)])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        doc.pop("generated_at")
        docs[engine] = doc
    assert docs["streaming"] == docs["columnar"] == docs["auto"]
    assert docs["auto"]["read"] == 800
    har = Path(__file__).resolve().parents[2] / "examples" / "browser-export.har"
    refused = runner.invoke(cli, ["analyze", "--engine", "columnar", str(har)])
    assert refused.exit_code == 2
    assert "JSON Lines" in refused.output


def test_a_folder_with_a_file_that_is_no_log_is_read_by_the_columnar_engine(tmp_path):
    """A folder: its JSON Lines files are analysed column-wise, a file in no known format is
    left out and named, as the streaming engine does."""
    folder = tmp_path / "logs"
    folder.mkdir()
    _write(folder / "a.jsonl", 300, days=0.1)
    (folder / "index.json").write_text('{"not": "a log"}\n')
    runner = CliRunner()
    out = {}
    for engine in ("streaming", "auto"):
        result = runner.invoke(cli, ["analyze", "--format", "json", "--engine", engine,
                                     str(folder)])
        assert result.exit_code == 0, result.output
        assert "left out 1 file found" in result.stderr and "index.json" in result.stderr
        doc = json.loads(result.stdout)
        doc.pop("generated_at")
        out[engine] = doc
    assert out["auto"] == out["streaming"]
    assert out["auto"]["read"] == 300


DAMAGE = Path(__file__).resolve().parents[1] / "data" / "columnar"
"""Small inputs that once made the engines part: stamped verdicts that contradict the status,
exchanges without an outcome, lists of non-strings, a rounding tie, trust turned off, a gzip
file cut short."""


@pytest.mark.parametrize("name", sorted(p.name for p in DAMAGE.iterdir()))
def test_inputs_that_once_parted_the_engines(name):
    runner = CliRunner()
    options = ["--profile", "healthgorilla"] if name.startswith("X_") else []
    docs = []
    for engine in ("streaming", "columnar"):
        result = runner.invoke(cli, ["analyze", "--format", "json", "--engine", engine,
                                     *options, str(DAMAGE / name)])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        doc.pop("generated_at")
        docs.append(doc)
    assert docs[0] == docs[1]
    assert docs[0]["read"] >= 1


def test_the_trace_table_forgets_after_as_many_other_traces_not_exchanges(tmp_path):
    """A failed exchange in trace T, 1,000 exchanges of one other trace, then an API call in
    T: the table holds two traces, so the call still follows the failed exchange."""
    lines = [orjson.loads(line) for line in SAMPLES.read_bytes().splitlines()]
    failed = next(r for r in lines if r["endpoint.kind"] == "token_exchange"
                  and r["outcome"] == "failed")
    ok = next(r for r in lines if r["endpoint.kind"] == "token_exchange"
              and r["outcome"] == "ok")
    call = next(r for r in lines if r["endpoint.kind"] == "api_call")
    t0 = 1_767_225_600.0
    records = [dict(failed, time=t0, trace_id="a" * 32)]
    records += [dict(ok, time=t0 + 1 + i / 1000, trace_id="b" * 32,
                     **{"assertion.fp": f"{i:016x}", "assertion.jti_fp": f"{i:016x}",
                        "issued.fp": f"{i + 5000:016x}"}) for i in range(1000)]
    records.append(dict(call, time=t0 + 5, trace_id="a" * 32))
    path = tmp_path / "trace.jsonl"
    path.write_bytes(b"".join(jsonl_line(r) for r in records))
    expected = _streaming([path])
    last = [row for row in expected["records"] if row["endpoint_kind"] == "api_call"]
    assert any("same trace" in e for e in last[-1]["evidence"])
    assert _columnar([path], block_bytes=1 << 20) == expected
    assert _columnar([path], block_bytes=200_000) == expected


def test_the_failure_column_is_is_failure():
    """``_failing`` (the columns' ``is_failure``) agrees with ``hgobs.diagnose.is_failure``
    on every kind and every status class edge."""
    import polars as pl

    from hgobs.analysis.columnar import _failing
    from hgobs.diagnose import is_failure

    statuses = [None, 0, 100, 199, 200, 201, 204, 299, 300, 302, 399, 400, 401, 402, 403, 404,
                428, 429, 430, 499, 500, 503, 599, 600]
    rows = [{"endpoint.kind": kind, "http.status": status}
            for kind in ("token_exchange", "api_call") for status in statuses]
    frame = pl.DataFrame(rows, schema={"endpoint.kind": pl.String, "http.status": pl.Int64})
    assert frame.select(_failing()).to_series().to_list() == [is_failure(r) for r in rows]


def test_when_the_child_cannot_hand_a_block_over_this_process_reads_on(tmp_path,
                                                                          monkeypatch):
    """The child cannot write its second block into the hand-over folder (as when shared
    memory is full): it says so, and this process parses the rest. The same report."""
    import hgobs.analysis.blocks as blocks
    import hgobs.analysis.columnar as columnar

    path = _write(tmp_path / "gen.jsonl", 1500, days=0.1)
    folder = tmp_path / "handover"
    (folder / "1.arrow").mkdir(parents=True)  # a folder where the child's file would go
    (folder / "1.block").mkdir()
    monkeypatch.setattr(blocks.tempfile, "mkdtemp", lambda **kw: str(folder))
    monkeypatch.setattr(columnar, "PARALLEL_BYTES", 1)
    handed: list[str] = []
    real_read_ipc = blocks.pl.read_ipc
    monkeypatch.setattr(blocks.pl, "read_ipc", lambda p, **kw: handed.append(p) or
                        real_read_ipc(p, **kw))
    state = ReportState()
    engine = ColumnarAnalyzer(state, PROFILE, block_bytes=50_000)
    engine.feed_file(str(path))
    engine.finish()
    assert handed == [str(folder / "0.arrow")]  # one block from the child, the rest here
    assert document(state.report(NOW)) == _streaming([path])
    assert not folder.exists()  # the hand-over folder is removed


def test_a_child_that_ends_without_a_word_leaves_the_reading_to_this_process(
        tmp_path, monkeypatch, caplog):
    """A reader process that dies (here: one that exits at once) costs nothing but speed: a
    warning names the file, and this process reads it all. The same report."""
    import hgobs.analysis.blocks as blocks
    import hgobs.analysis.columnar as columnar

    path = _write(tmp_path / "gen.jsonl", 600, days=0.1)
    monkeypatch.setattr(blocks, "_CHILD", "import sys; sys.exit(3)")
    monkeypatch.setattr(columnar, "PARALLEL_BYTES", 1)
    state = ReportState()
    engine = ColumnarAnalyzer(state, PROFILE, block_bytes=50_000)
    with caplog.at_level("WARNING", logger="hgobs"):
        engine.feed_file(str(path))
    engine.finish()
    assert document(state.report(NOW)) == _streaming([path])
    assert f"the reader process of {path} ended early (exit 3)" in caplog.text


def test_a_log_after_many_blank_lines_picks_the_engine_by_its_first_text(tmp_path):
    """A folder holding JSON Lines and a HAR export that starts with more blank lines than
    the sniffed head: ``--engine auto`` sees the HAR (so the streaming engine reads both, as
    ``--engine streaming`` does), instead of taking the file for JSON Lines."""
    folder = tmp_path / "logs"
    folder.mkdir()
    _write(folder / "a.jsonl", 200, days=0.1)
    har = Path(__file__).resolve().parents[2] / "examples" / "browser-export.har"
    (folder / "b.har").write_bytes(b"\n" * 6000 + har.read_bytes())
    runner = CliRunner()
    docs = {}
    for engine in ("auto", "streaming"):
        result = runner.invoke(cli, ["analyze", "--format", "json", "--engine", engine,
                                     str(folder)], env={"HGOBS_FINGERPRINT_KEY": "test-key"})
        assert result.exit_code == 0, result.output
        docs[engine] = json.loads(result.stdout)
        docs[engine].pop("generated_at")
    assert docs["auto"] == docs["streaming"]
    assert docs["auto"]["read"] == 202  # the HAR's two auth attempts too


@pytest.mark.parametrize("block", [7, 64, 1000, 1 << 20])
def test_file_blocks_cut_a_file_at_line_ends_with_their_offsets(tmp_path, block):
    """Blocks of a plain file: whole lines, in order, each with its offset; a line longer
    than a block is one block; a last line without a line end gets one."""
    from hgobs.analysis.blocks import _file_blocks

    text = b"a\n" + b"x" * 300 + b"\n\nshort\n" + b"y" * 5 + b"\n" + b"last without end"
    path = tmp_path / "f.jsonl"
    path.write_bytes(text)
    with open(path, "rb") as stream:
        blocks = list(_file_blocks(stream, block))
    assert b"".join(data for data, _ in blocks) == text + b"\n"
    assert all(data.endswith(b"\n") for data, _ in blocks)
    assert [base for _, base in blocks] == [text.find(data[:-1] if i == len(blocks) - 1
                                                       else data) for i, (data, _) in
                                            enumerate(blocks)]


def test_a_file_cut_short_while_it_is_read_ends_there(tmp_path, monkeypatch):
    """A log truncated while the engine reads it (log rotation by copy and truncate): the
    run ends where the file was cut, every line it read accounted for, no crash."""
    import hgobs.analysis.blocks as blocks

    path = _write(tmp_path / "live.jsonl", 1500, days=0.1)
    size = path.stat().st_size
    real_parse = blocks._parse
    calls = []

    def parse_then_truncate(data, trust, base=None):
        calls.append(base)
        if len(calls) == 1:
            os.truncate(path, size // 2)
        return real_parse(data, trust, base)

    monkeypatch.setattr(blocks, "_parse", parse_then_truncate)
    state = ReportState()
    engine = ColumnarAnalyzer(state, PROFILE, block_bytes=100_000)
    engine.feed_file(str(path))
    engine.finish()
    report = document(state.report(NOW))
    assert 0 < report["read"] < 1500
    assert report["totals"]["classified"] + report["totals"]["skipped"] == report["read"]


def test_many_files_are_read_again_with_few_open_at_once(tmp_path, monkeypatch):
    """With every record judged again (a profile given), lines are read again from files
    kept open least recently used first, at most ``MAX_OPEN_FILES`` at once: the same
    report as the streaming engine, however many files."""
    import hgobs.analysis.columnar as columnar

    monkeypatch.setattr(columnar, "MAX_OPEN_FILES", 2)
    files = [_write(tmp_path / f"part{i}.jsonl", 120, days=0.1, seed=i) for i in range(7)]
    state = ReportState()
    engine = ColumnarAnalyzer(state, PROFILE, trust=False, block_bytes=20_000)
    for path in files:
        engine.feed_file(str(path))
        assert len(engine._fds) <= 2
    engine.finish()
    assert document(state.report(NOW)) == _streaming(files, trust=False)


def test_a_line_to_read_again_from_a_file_cut_since_is_skipped_with_a_reason(tmp_path,
                                                                            monkeypatch):
    """A file truncated after its lines were read, before they are read again in full: those
    records are skipped with a reason (no crash), and every line read is accounted for."""
    import hgobs.analysis.blocks as blocks

    path = _write(tmp_path / "live.jsonl", 900, days=0.1)
    real_parse = blocks._parse

    def parse_then_truncate(data, trust, base=None):
        parsed = real_parse(data, trust, base)
        os.truncate(path, 0)  # after the first block is parsed, before it is judged
        return parsed

    monkeypatch.setattr(blocks, "_parse", parse_then_truncate)
    state = ReportState()
    engine = ColumnarAnalyzer(state, PROFILE, trust=False, block_bytes=10_000_000)
    engine.feed_file(str(path))
    engine.finish()
    report = document(state.report(NOW))
    assert report["read"] == 900 and report["totals"]["skipped"] == 900
    assert report["skipped"][0]["reason"] == ("line changed since it was read (file replaced "
                                              "or rewritten while analysed)")


def test_a_child_interrupted_leaves_the_reading_to_this_process(tmp_path, monkeypatch):
    """A reader process stopped by something other than a read error (here an interrupt
    raised in it) says nothing: this process reads the file itself, no record lost."""
    import hgobs.analysis.blocks as blocks
    import hgobs.analysis.columnar as columnar

    path = _write(tmp_path / "gen.jsonl", 600, days=0.1)
    monkeypatch.setattr(blocks, "_CHILD", blocks._CHILD.replace(
        "from hgobs.analysis.blocks import serve",
        "import hgobs.analysis.blocks as b; from hgobs.analysis.blocks import serve; "
        "b._parse = lambda *a: (_ for _ in ()).throw(KeyboardInterrupt())"))
    monkeypatch.setattr(columnar, "PARALLEL_BYTES", 1)
    state = ReportState()
    engine = ColumnarAnalyzer(state, PROFILE, block_bytes=50_000)
    engine.feed_file(str(path))
    engine.finish()
    assert document(state.report(NOW)) == _streaming([path])
