"""The JSON Lines sink never blocks a request and loses no line it accepted.

Real files, real processes and a real stalled descriptor (a full pipe put where the sink's
file was): whole lines from many processes, a stall that drops and counts instead of blocking,
paths refused at instrument time, logrotate's rename and removal, fork while writing, exit.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

import hgobs
from hgobs.sinks import jsonl
from tests.support.emitted import collect_logs, loop_profile
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

JSON = ("content-type", "application/json")


def record(n: int, size: int = 0) -> dict[str, Any]:
    return {"time": 1_700_000_000.0 + n, "endpoint.kind": "token_exchange", "n": n,
            "pad": "x" * size}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().decode("utf-8").splitlines()]


def _append_many(path: str, worker: int, count: int) -> None:
    sink = jsonl.open_sink(path)
    assert sink is not None
    for n in range(count):
        sink.write({**record(n, size=(n * 37 % 8) * 1024), "worker": worker})
    assert sink.flush(30)
    os._exit(0)


def test_processes_appending_to_one_file_never_interleave_lines(tmp_path):
    """4 processes x 2,000 records of up to 8 KiB give 8,000 whole, valid lines."""
    path = tmp_path / "shared.jsonl"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(path), w, 2000)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    got = lines(path)
    assert len(got) == 8000
    assert sorted((r["worker"], r["n"]) for r in got) == \
        [(w, n) for w in range(4) for n in range(2000)]


@contextmanager
def stalled(sink: jsonl.JsonlSink) -> Iterator[None]:
    """Put a full pipe where the sink's file descriptor was: its next ``os.write`` blocks,
    as on a stalled mount, until the block ends (the pipe is then drained and closed)."""
    assert sink._fd is not None
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:
            os.write(write_end, b"\0" * 65536)
    except BlockingIOError:
        pass
    os.set_blocking(write_end, True)
    os.dup2(write_end, sink._fd)
    os.close(write_end)
    try:
        yield
    finally:
        os.set_blocking(read_end, False)
        try:
            while os.read(read_end, 1 << 20):
                pass
        except BlockingIOError:
            pass
        os.close(read_end)


def test_a_stalled_file_never_blocks_writes_and_drops_are_counted(tmp_path, monkeypatch):
    """While the writer is stuck in ``os.write``, ``write`` returns at once; past the queue
    bound records are dropped, counted, and warned about once."""
    monkeypatch.setattr(jsonl, "QUEUE_LINES", 8)
    path = tmp_path / "a.jsonl"
    counted: list[int] = []
    sink = jsonl.open_sink(path, lambda: counted.append(1))
    assert sink is not None
    sink.check_interval_s = 3600.0
    finished = threading.Event()
    with collect_logs("hgobs.internal") as logs, stalled(sink):
        def writes() -> None:
            for n in range(200):
                sink.write(record(n))
            finished.set()

        threading.Thread(target=writes, daemon=True).start()
        assert finished.wait(30), "write() blocked on a stalled file"
        assert sink.dropped >= 200 - 2 * 8  # at most a batch in the stuck writer, a queue
        assert len(counted) == sink.dropped
    warnings = [r.getMessage() for r in logs.records if "dropped" in r.getMessage()]
    assert len(warnings) == 1 and str(path) in warnings[0]


def test_requests_proceed_while_the_file_is_stalled(tmp_path, monkeypatch, telemetry):
    """Instrumented token exchanges complete while the JSON Lines file is stalled; the
    ``hgobs.records.dropped`` counter equals the records the sink dropped."""
    monkeypatch.setattr(jsonl, "QUEUE_LINES", 4)
    server = LoopServer()
    body = b'{"access_token":"at-0123456789abcdef","token_type":"Bearer","expires_in":60}'
    server.script.load([Reply(200, [JSON], body)] * 20)
    try:
        with httpx.Client() as client:
            hgobs.instrument_client(client, profile=loop_profile(server.origin),
                                    jsonl_path=tmp_path / "a.jsonl",
                                    tracer_provider=telemetry.tracer_provider,
                                    meter_provider=telemetry.meter_provider)
            sink = client._hgobs_recorder.jsonl  # type: ignore[attr-defined]
            sink.check_interval_s = 3600.0
            with stalled(sink):
                for _ in range(20):
                    assert client.post(f"{server.origin}/oauth/token",
                                       data={"grant_type": "client_credentials"}
                                       ).status_code == 200
                assert sink.dropped >= 20 - 2 * 4
            hgobs.uninstrument_client(client)
            dropped = sink.dropped  # and the stuck batch, which fails once the stall ends
    finally:
        server.stop()
    data = telemetry.reader.get_metrics_data()
    points = [p for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
              if m.name == "hgobs.records.dropped" for p in m.data.data_points]
    assert [p.value for p in points] == [dropped]


def _unusable(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    sock_path = tmp_path / "s.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    return {"folder": folder, "parent is a file": blocker / "x" / "a.jsonl", "fifo": fifo,
            "socket": sock_path, "device": Path("/dev/null")}


def test_a_short_write_ends_the_cut_line_and_counts_the_record_lost(tmp_path, monkeypatch):
    """A short ``os.write`` (a full disk) is not finished by a second write, which could land
    between other processes' lines: the cut line is ended, the record counted as dropped, and
    the next record is a whole line of its own."""
    path = tmp_path / "a.jsonl"
    sink = jsonl.open_sink(path)
    assert sink is not None
    real, cut = os.write, []

    def short_once(fd: int, data: bytes) -> int:
        if not cut and len(data) > 20:
            cut.append(len(data))
            return real(fd, data[:10])
        return real(fd, data)

    monkeypatch.setattr(jsonl.os, "write", short_once)
    sink.write(record(1))
    sink.write(record(2))
    assert sink.flush(10)
    lines = path.read_bytes().split(b"\n")
    assert len(lines[0]) == 10 and lines[2] == b""
    assert json.loads(lines[1]) == json.loads(jsonl.dumps(record(2)))
    assert sink.dropped == 1


def test_unusable_paths_are_reported_at_instrument_time_and_the_sink_stays_off(tmp_path):
    """A folder, a parent that cannot be made, a FIFO, a socket, a device: one warning naming
    the path each, no sink, the client still instrumented."""
    for what, path in _unusable(tmp_path).items():
        with collect_logs("hgobs.internal") as logs, httpx.Client() as client:
            hgobs.instrument_client(client, profile=loop_profile("http://127.0.0.1:9"),
                                    jsonl_path=path)
            recorder = client._hgobs_recorder  # type: ignore[attr-defined]
            assert recorder is not None and recorder.jsonl is None, what
            hgobs.uninstrument_client(client)
        messages = [r.getMessage() for r in logs.records if "JSON Lines" in r.getMessage()]
        assert len(messages) == 1 and str(path) in messages[0], (what, messages)


def test_a_path_with_a_nul_is_reported_and_the_client_stays_instrumented(tmp_path):
    """``jsonl_path`` holding a NUL (which ``open`` refuses with ValueError): one warning, the
    sink off, the client still recorded (before, the whole client was left uninstrumented)."""
    with collect_logs("hgobs.internal") as logs, httpx.Client() as client:
        hgobs.instrument_client(client, profile=loop_profile("http://127.0.0.1:9"),
                                jsonl_path=str(tmp_path / "a\x00b.jsonl"))
        recorder = client._hgobs_recorder  # type: ignore[attr-defined]
        assert recorder is not None and recorder.jsonl is None
        hgobs.uninstrument_client(client)
    messages = [r.getMessage() for r in logs.records if "JSON Lines" in r.getMessage()]
    assert len(messages) == 1 and "ValueError" in messages[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_permission_denied_is_reported(tmp_path):
    """A file the process may not write is reported, naming it."""
    path = tmp_path / "ro.jsonl"
    path.write_text("")
    path.chmod(0o400)
    with collect_logs("hgobs.internal") as logs:
        assert jsonl.open_sink(path) is None
    assert str(path) in logs.records[0].getMessage()


@pytest.mark.parametrize("how", ["rename", "remove"])
def test_logrotate_rename_or_removal_is_followed(tmp_path, how):
    """After the file is renamed (or removed), later records go to a new file at the path."""
    path = tmp_path / "a.jsonl"
    sink = jsonl.open_sink(path)
    assert sink is not None
    sink.check_interval_s = 0.0
    sink.write(record(1))
    assert sink.flush(10)
    if how == "rename":
        path.rename(tmp_path / "a.jsonl.1")
    else:
        path.unlink()
    sink.write(record(2))
    assert sink.flush(10)
    sink.close()
    assert [r["n"] for r in lines(path)] == [2]
    if how == "rename":
        assert [r["n"] for r in lines(tmp_path / "a.jsonl.1")] == [1]


def test_a_child_forked_while_another_thread_writes_records_normally(tmp_path):
    """Fork 20 times while a thread writes in a loop: each child writes and flushes its own
    record (fresh lock, queue and writer) and the parent keeps writing."""
    path = tmp_path / "a.jsonl"
    sink = jsonl.open_sink(path)
    assert sink is not None
    stop = threading.Event()

    def busy() -> None:
        n = 0
        while not stop.is_set():
            sink.write(record(n, size=512))
            n += 1

    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    children = []
    try:
        for child in range(20):
            time.sleep(0.005)
            pid = os.fork()
            if pid == 0:  # the child: never return into pytest
                code = 1
                try:
                    sink.write({**record(-1), "child": child})
                    code = 0 if sink.flush(10) else 2
                finally:
                    os._exit(code)
            children.append(pid)
        codes = []
        for pid in children:
            deadline = time.monotonic() + 30
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    codes.append(os.waitstatus_to_exitcode(status))
                    break
                assert time.monotonic() < deadline, "a forked child hung"
                time.sleep(0.01)
    finally:
        stop.set()
        thread.join(10)
    assert codes == [0] * 20
    assert sink.flush(30)
    got = lines(path)
    assert sorted(r["child"] for r in got if "child" in r) == list(range(20))
    assert sum(1 for r in got if "child" not in r) > 0


def test_queued_records_are_written_at_exit(tmp_path):
    """A process that writes and exits at once still leaves every line."""
    path = tmp_path / "a.jsonl"
    script = ("import sys\nfrom hgobs.sinks import jsonl\n"
              "sink = jsonl.open_sink(sys.argv[1])\n"
              "for n in range(500):\n    sink.write({'n': n, 'pad': 'x' * 2000})\n")
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    assert [r["n"] for r in lines(path)] == list(range(500))


def test_write_failure_is_counted_not_raised(tmp_path):
    """A write that fails (here: the descriptor is closed under the sink, as a full disk
    fails) is dropped and counted; the next record reopens the file."""
    path = tmp_path / "a.jsonl"
    sink = jsonl.open_sink(path)
    assert sink is not None
    sink.check_interval_s = 3600.0
    null = os.open("/dev/null", os.O_RDONLY)  # writes to a read-only descriptor fail (EBADF)
    os.dup2(null, sink._fd)  # type: ignore[arg-type]
    os.close(null)
    with collect_logs("hgobs.internal", logging.WARNING):
        sink.write(record(1))
        assert sink.flush(10)
    assert sink.dropped == 1
    sink.write(record(2))
    assert sink.flush(10)
    assert [r["n"] for r in lines(path)] == [2]


def test_an_idle_sink_holds_no_thread(tmp_path, monkeypatch):
    """The writer thread ends after ``IDLE_S`` without records; the next record starts one."""
    monkeypatch.setattr(jsonl, "IDLE_S", 0.05)
    path = tmp_path / "a.jsonl"
    sink = jsonl.open_sink(path)
    assert sink is not None
    sink.write(record(1))
    assert sink.flush(10)
    deadline = time.monotonic() + 10
    while sink._thread is not None:
        assert time.monotonic() < deadline, "the idle writer thread did not end"
        time.sleep(0.01)
    sink.write(record(2))
    assert sink.flush(10)
    assert [r["n"] for r in lines(path)] == [1, 2]
