"""Time order across inputs: files merged by (time, file, line), each within the lateness
bound, with few files open whatever their number."""

from __future__ import annotations

import gzip
import logging
import random
import subprocess
import sys
from pathlib import Path

from hgobs.readers import ReadContext, read_paths
from hgobs.readers.base import DEFAULT_LATENESS_S
from hgobs.readers.merge import MAX_OPEN_AT_START

REPO = Path(__file__).resolve().parents[2]


def line(t: float, kind: str = "token_exchange") -> bytes:
    """A minimal hgobs JSON Lines record at epoch seconds ``t``."""
    return b'{"schema":"hgobs.attempt/1","time":%r,"endpoint.kind":"%s"}\n' % (t, kind.encode())


def nearly_sorted(n: int, start: float, step: float, jitter: float, seed: int) -> list[float]:
    """``n`` times ``step`` apart from ``start``, each moved by up to ``jitter`` seconds."""
    rng = random.Random(seed)
    return [start + i * step + rng.uniform(0, jitter) for i in range(n)]


def write(path: Path, times: list[float]) -> Path:
    path.write_bytes(b"".join(line(t) for t in times))
    return path


def expected_order(files: list[tuple[Path, list[float]]]) -> list[str]:
    """Sources sorted by (time, file index, line), what a merge of sorted files gives."""
    keyed = [(t, i, n, f"{path}:{n}") for i, (path, times) in enumerate(files)
             for n, t in enumerate(times, start=1)]
    return [source for *_, source in sorted(keyed)]


def test_large_interleaved_files_of_very_different_sizes_come_out_in_time_order(tmp_path):
    """Three files of 50,000+ interleaved records (2 s of disorder each) and one of 300: one
    stream in (time, file, line) order, every record once, none late."""
    sizes = [50_000, 80_000, 60_000, 300]
    files = []
    for i, n in enumerate(sizes):
        span = 100_000.0
        times = sorted(nearly_sorted(n, 1.764e9 + i * 0.1, span / n, 0.0, i))
        rng = random.Random(i)
        for k in range(0, n - 1, 7):  # swap neighbours: a little out of order, as writers leave it
            if rng.random() < 0.5 and times[k + 1] - times[k] < 2:
                times[k], times[k + 1] = times[k + 1], times[k]
        files.append((write(tmp_path / f"replica{i}.jsonl", times), times))
    ctx = ReadContext()
    items = list(read_paths([str(p) for p, _ in files], ctx))
    assert len(items) == sum(sizes)
    assert all(i.reason is None for i in items)
    assert [i.source for i in items] == expected_order(files)
    assert ctx.late == {} and ctx.late_records == 0


def test_a_record_later_than_the_bound_is_read_where_it_stands_and_counted(tmp_path, caplog):
    """One record 301 s older than the file's newest so far: read at once, counted for its
    file, one warning naming the file and the count; the rest stay in order."""
    late_file = write(tmp_path / "a.jsonl", [1000.0, 1400.0, 1400.0 - DEFAULT_LATENESS_S - 1, 1500.0,
                                            1000.5, 1600.0])
    other = write(tmp_path / "b.jsonl", [1001.0, 1450.0])
    ctx = ReadContext()
    with caplog.at_level(logging.WARNING, logger="hgobs.readers"):
        items = list(read_paths([str(late_file), str(other)], ctx))
    assert [i.source.rsplit("/", 1)[1] for i in items] == [
        "a.jsonl:1", "b.jsonl:1", "a.jsonl:3", "a.jsonl:5", "a.jsonl:2", "b.jsonl:2", "a.jsonl:4",
        "a.jsonl:6"]
    assert ctx.late == {str(late_file): 2} and ctx.late_records == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"{late_file}: 2 record(s) more than 300 s out of time order were read "
                        "where they stand"]


def test_the_lateness_bound_is_an_option(tmp_path):
    """With a bound of 1,000 s the same record is within it: read in order, nothing late."""
    path = write(tmp_path / "a.jsonl", [1000.0, 1400.0, 1099.0, 1500.0])
    ctx = ReadContext(lateness_s=1000.0)
    items = list(read_paths([str(path)], ctx))
    assert [i.source[-1] for i in items] == ["1", "3", "2", "4"]
    assert ctx.late == {}


def test_items_without_a_time_keep_their_place_after_the_item_before_them(tmp_path):
    """A damaged line and a record without a time follow the line read before them."""
    path = tmp_path / "a.jsonl"
    path.write_bytes(line(20.0) + b"not json\n" + line(10.0)
                     + b'{"schema":"hgobs.attempt/1","endpoint.kind":"api_call"}\n' + line(30.0))
    other = write(tmp_path / "b.jsonl", [15.0, 25.0])
    items = list(read_paths([str(path), str(other)], ReadContext()))
    assert [(i.source.rsplit("/", 1)[1], i.reason is None) for i in items] == [
        ("a.jsonl:3", True), ("a.jsonl:4", False), ("b.jsonl:1", True), ("a.jsonl:1", True),
        ("a.jsonl:2", False), ("b.jsonl:2", True), ("a.jsonl:5", True)]


def test_a_full_reorder_buffer_is_counted_and_never_reorders_silently(tmp_path):
    """A buffer of 3 items and 6 records within the bound: the earliest held is released
    early (twice, both counted); a record older than it is then late (counted), not put
    before it."""
    path = write(tmp_path / "a.jsonl", [10.0, 11.0, 12.0, 13.0, 9.0, 14.0])
    ctx = ReadContext(max_buffered=3)
    items = list(read_paths([str(path)], ctx))
    assert [i.source[-1] for i in items] == ["1", "5", "2", "3", "4", "6"]
    assert ctx.reorder_full == {str(path): 2} and ctx.late == {str(path): 1}


CHILD = """
import os, resource, sys
from hgobs.readers import ReadContext, read_paths
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
most = 0
times = []
for n, item in enumerate(read_paths([sys.argv[1]], ReadContext())):
    if n % 97 == 0:
        most = max(most, len(os.listdir("/proc/self/fd")))
    assert item.reason is None, item
    times.append(item.record["time"])
assert times == sorted(times), "out of order"
print(len(times), most)
"""


def test_two_thousand_rotated_files_are_read_in_order_with_at_most_64_descriptors(tmp_path):
    """2,000 rotated files (``hgobs.jsonl.N``, some gzipped, some dated, one upper-case) in a
    process limited to 64 open descriptors: every record, in time order."""
    folder = tmp_path / "logs"
    folder.mkdir()
    n_files, per_file = 2000, 5
    for k in range(n_files):
        times = [1.764e9 + (n_files - k) * 60.0 + j * 10.0 for j in range(per_file)]
        data = b"".join(line(t) for t in times)
        if k % 10 == 3:
            (folder / f"hgobs.jsonl.{k}.gz").write_bytes(gzip.compress(data))
        elif k % 10 == 7:
            (folder / f"hgobs.jsonl-{20250101 + k}").write_bytes(data)
        elif k == 5:
            (folder / "HGOBS.JSONL.5.GZ").write_bytes(gzip.compress(data))
        else:
            (folder / f"hgobs.jsonl.{k}").write_bytes(data)
    assert n_files > MAX_OPEN_AT_START
    done = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    read, most_open = map(int, done.stdout.split())
    assert read == n_files * per_file
    assert most_open <= 16


def _peak_bytes(folder: Path, n_files: int) -> int:
    """Peak allocation reading ``n_files`` rotated files of 5 records, one after another."""
    import tracemalloc

    folder.mkdir()
    for k in range(n_files):
        write(folder / f"a.jsonl.{k}", [1.764e9 + (n_files - k) * 60.0 + j for j in range(5)])
    tracemalloc.start()
    try:
        read = sum(1 for _ in read_paths([str(folder)], ReadContext()))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        assert read == 5 * n_files


def test_memory_grows_with_the_number_of_files_by_their_names_only(tmp_path):
    """200 then 2,000 rotated files: the reorder buffers hold a few files' records at a time;
    what grows is one entry per file (its name and first time), under 1 KB each."""
    small, large = _peak_bytes(tmp_path / "200", 200), _peak_bytes(tmp_path / "2000", 2000)
    assert small < 1_000_000
    assert (large - small) / 1800 < 1000


def test_hgobs_analyze_says_which_file_held_records_out_of_order(tmp_path):
    """``hgobs analyze``: one line on standard error naming the file and its late count."""
    from click.testing import CliRunner

    from hgobs.cli import cli

    path = write(tmp_path / "a.jsonl", [1000.0, 1400.0, 1000.5, 1500.0])
    result = CliRunner().invoke(cli, ["analyze", "--format", "json", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"hgobs: 1 record in {path} came more than 300 s behind a later time read before them (judged where they stand)"]
