"""The progress display: silent off a terminal, bytes and records on one, never in the way."""

from __future__ import annotations

import errno
import gzip
import io
import os
import pty
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hgobs.progress import EVERY, Progress
from hgobs.readers import ReadContext, read_paths
from hgobs.readers.files import ByteTally

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "attempts.jsonl"


def _lines(n: int) -> bytes:
    """``n`` records of the sample file, repeated (enough for several display updates)."""
    base = SAMPLE.read_bytes().splitlines(keepends=True)
    return b"".join(base[i % len(base)] for i in range(n))


def test_off_a_terminal_nothing_is_written_and_items_pass_unchanged() -> None:
    stream = io.StringIO()  # not a terminal
    progress = Progress(stream)
    tally = ByteTally()
    items = list(progress.track(iter(range(3 * EVERY)), tally))
    progress.note("dashboard at http://127.0.0.1:8787/status")
    progress.update(done_bytes=10, total_bytes=20, records=3)
    progress.close()
    assert items == list(range(3 * EVERY))
    assert stream.getvalue() == ""
    assert progress.enabled is False


def test_on_a_terminal_shows_bytes_records_and_a_note() -> None:
    stream = io.StringIO()
    progress = Progress(stream, enabled=True, width=160)
    progress.note("dashboard: http://127.0.0.1:8787/status")
    progress.update(done_bytes=12_300_000, total_bytes=48_000_000, records=41_234)
    progress.close()
    out = stream.getvalue()
    assert "dashboard: http://127.0.0.1:8787/status" in out
    assert "12.3/48.0 MB" in out
    assert "41,234 records" in out
    assert progress.enabled is False


def test_a_display_that_fails_turns_itself_off_and_the_run_goes_on() -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("terminal gone")

    progress = Progress(Broken(), enabled=True)
    items = list(progress.track(iter(range(2 * EVERY + 5)), ByteTally()))
    assert len(items) == 2 * EVERY + 5
    assert progress.enabled is False


def test_the_tally_counts_every_byte_of_plain_and_compressed_files(tmp_path: Path) -> None:
    plain = tmp_path / "a.jsonl"
    plain.write_bytes(_lines(300))
    packed = tmp_path / "b.jsonl.gz"
    packed.write_bytes(gzip.compress(_lines(200)))
    ctx = ReadContext()
    items = list(read_paths([str(plain), str(packed)], ctx))
    assert sum(1 for i in items if i.record is not None) == 500
    size = plain.stat().st_size + packed.stat().st_size  # the compressed size of b
    assert ctx.tally.total == size
    assert ctx.tally.done == size


def test_a_file_named_twice_counts_once_and_a_pipe_makes_the_total_unknown(
        tmp_path: Path) -> None:
    plain = tmp_path / "a.jsonl"
    plain.write_bytes(_lines(10))
    ctx = ReadContext()
    list(read_paths([str(plain), str(plain)], ctx))
    assert ctx.tally.total == plain.stat().st_size
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    ctx = ReadContext()
    writer = subprocess.Popen([sys.executable, "-c", f"open({str(fifo)!r}, 'wb').write("
                               f"open({str(plain)!r}, 'rb').read())"])
    items = list(read_paths([str(plain), str(fifo)], ctx))
    writer.wait(timeout=30)
    assert sum(1 for i in items if i.record is not None) == 20  # the file, then the pipe
    assert ctx.tally.total is None


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_analyze_on_a_terminal_shows_progress_and_piped_shows_none(tmp_path: Path) -> None:
    log = tmp_path / "big.jsonl"
    log.write_bytes(_lines(3 * EVERY))
    hgobs = [sys.executable, "-m", "hgobs.cli", "analyze", str(log), "--format", "json"]
    env = {**os.environ, "COLUMNS": "160"}
    # Standard error a terminal, standard output a pipe: the report is untouched JSON.
    primary, secondary = pty.openpty()
    run = subprocess.run(hgobs, stdout=subprocess.PIPE, stderr=secondary, env=env, timeout=120)
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 1 << 16)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    assert run.returncode == 0
    assert b" records" in shown and b"reading" in shown
    assert run.stdout.lstrip().startswith(b"{")
    piped = subprocess.run(hgobs, capture_output=True, env=env, timeout=120)
    assert b"reading" not in piped.stderr
    assert piped.stdout == run.stdout.replace(
        run.stdout[run.stdout.index(b'"generated_at"'):].split(b",", 1)[0],
        piped.stdout[piped.stdout.index(b'"generated_at"'):].split(b",", 1)[0])


def test_what_the_run_prints_on_standard_output_stays_there(capsys) -> None:
    """Lines printed to standard output while the display is drawn reach standard output, byte
    for byte, and never the display's stream (rich would move them there by default)."""
    stream = io.StringIO()
    progress = Progress(stream, enabled=True, width=100)
    for i in progress.track(iter(range(3)), ByteTally()):
        print(f"line {i}")
    assert capsys.readouterr().out == "line 0\nline 1\nline 2\n"
    assert "line" not in stream.getvalue()
    assert "reading" in stream.getvalue()


def test_a_terminal_that_breaks_under_the_drawing_thread_raises_nowhere(monkeypatch) -> None:
    """The display's own refresh thread meets a terminal gone (EIO): no exception escapes that
    thread (none reaches ``threading.excepthook``), the display turns off at the next update
    and every item still passes."""
    broke = threading.Event()
    escaped: list[type[BaseException]] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_type))

    class Gone(io.StringIO):
        def write(self, text: str) -> int:
            if broke.is_set() or threading.current_thread() is not threading.main_thread():
                broke.set()
                raise OSError(errno.EIO, "terminal gone")
            return super().write(text)

    progress = Progress(Gone(), enabled=True, width=100)
    tally = ByteTally()
    items = []
    for i in progress.track(iter(range(2 * EVERY + 1)), tally):
        if i == 1:
            assert broke.wait(timeout=30)  # the refresh thread wrote, and failed
        items.append(i)
    assert items == list(range(2 * EVERY + 1))
    assert escaped == []
    assert progress.enabled is False


def test_bytes_show_before_the_first_item_of_a_whole_document() -> None:
    """A reader that parses a whole document (a HAR, a Jaeger export) yields its first item
    only at the end: the display shows the bytes the readers took meanwhile (5.0 of 10.0 kB
    here), without waiting for an item."""
    shown = threading.Event()

    class Watched(io.StringIO):
        def write(self, text: str) -> int:
            if "5.0/10.0 kB" in text:
                shown.set()
            return super().write(text)

    tally = ByteTally()
    tally.total = 10_000

    def whole_document() -> Iterator[int]:
        tally.done = 5_000  # half the document read, nothing yielded yet
        assert shown.wait(timeout=30), "the bytes read were not shown"
        tally.done = 10_000
        yield 1

    progress = Progress(Watched(), enabled=True, width=120)
    assert list(progress.track(whole_document(), tally)) == [1]
    assert progress.enabled is False


def test_a_follower_thread_that_cannot_start_costs_nothing(monkeypatch) -> None:
    """No thread left to follow the bytes with (``can't start new thread``): the items pass,
    nothing is raised, the display still closes."""
    start = threading.Thread.start

    def refuse(thread: threading.Thread) -> None:
        if thread.name == "hgobs-progress":
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", refuse)
    progress = Progress(io.StringIO(), enabled=True, width=100)
    assert list(progress.track(iter(range(5)), ByteTally())) == list(range(5))
    assert progress.enabled is False
