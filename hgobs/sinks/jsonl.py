"""JSON Lines sink: append each auth attempt record as one JSON line, off the request path.

The request thread only serialises the record and puts the line in a bounded in-memory queue; a
daemon writer thread appends queued lines to the file, each line with one ``os.write`` on a
descriptor opened with ``O_APPEND`` (so the lines of several processes appending to one file
never interleave: POSIX ``write``, appends to a regular file are atomic on Linux). A stalled
mount or a full disk therefore never blocks a request: when the queue is full the record is
dropped and counted (``on_drop``, and one warning on ``hgobs.internal`` per sink).

The writer follows logrotate: at most once per ``check_interval_s`` it compares the path's
device and inode with the open file's and reopens the path when they differ (renamed or
removed). After ``os.fork`` the child gets a fresh lock, an empty queue and no writer thread
(started again by its first record). Queued lines are flushed at interpreter exit (bounded wait,
``EXIT_WAIT_S``) and by ``close``.
"""

from __future__ import annotations

import atexit
import collections
import json
import logging
import math
import os
import stat
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hgobs.schema import SCHEMA_ID, Record

LOG = logging.getLogger("hgobs.internal")
QUEUE_LINES = 4096
"""The most lines waiting for the writer; a record beyond is dropped and counted."""
QUEUE_BYTES = 8 * 1024 * 1024
"""The most bytes waiting for the writer; a record beyond is dropped and counted."""
EXIT_WAIT_S = 2.0
"""How long interpreter exit waits for queued lines to be written."""
IDLE_S = 5.0
"""A writer thread with nothing to write for this long ends (the next record starts one), so an
idle or forgotten sink holds no thread."""
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
"""``O_NONBLOCK``: opening a FIFO fails at once (``ENXIO``) instead of waiting for a reader."""


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(record: Record) -> str:
    """One record as a single JSON line (no newline), with ``"schema"`` first; a non-finite
    number (not JSON, RFC 8259 section 6) is written as null."""
    return json.dumps({"schema": SCHEMA_ID, **{k: _finite(v) for k, v in record.items()}},
                      separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)


def encode_line(record: Record) -> bytes:
    """``dumps(record)`` and a newline as UTF-8. A lone surrogate (text decoded with
    ``surrogateescape``, a JSON ``"\\ud800"``) cannot be UTF-8: the instrumentor replaces them
    before a record reaches a sink (``hgobs.facts.text``); here, as a last resort, each
    becomes ``?`` instead of failing the record."""
    line = dumps(record) + "\n"
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:
        return line.encode("utf-8", "replace")


def open_regular(path: Path) -> int:
    """A descriptor for appending to ``path`` (created with mode 0600, and its folder when
    missing). Raises ``OSError`` when it cannot be opened or created, or is not a regular file
    (a folder, a FIFO, a socket, a device: ``errno`` 0 with a message saying so)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, _OPEN_FLAGS, 0o600)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file", str(path))
    except BaseException:
        os.close(fd)
        raise
    return fd


class JsonlSink:
    """Appends records to ``path`` (a regular file, created with its folder; mode 0600).

    ``write`` never blocks on I/O and never raises for the file: the line is queued for the
    writer thread, or dropped and counted (``dropped``, ``on_drop()``) when ``QUEUE_LINES`` lines
    or ``QUEUE_BYTES`` bytes already wait, or when the file cannot be written. Thread-safe and
    fork-safe. Use ``open_sink`` to validate the path first.
    """

    def __init__(self, path: Path | str, on_drop: Callable[[], None] | None = None, *,
                 fd: int | None = None, check_interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.on_drop = on_drop
        self.check_interval_s = check_interval_s
        self.dropped = 0
        self._fd = fd
        self._checked = time.monotonic()
        self._reset()
        _SINKS.add(self)

    def _reset(self) -> None:
        """Fresh lock, empty queue, no writer (at creation, and in a forked child)."""
        self._cond = threading.Condition(threading.Lock())
        self._queue: collections.deque[bytes] = collections.deque()
        self._queued_bytes = 0
        self._busy = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._warned = False

    def write(self, record: Record, attributes: Mapping[str, Any] | None = None) -> None:
        """Queue ``record`` as one line (dropped and counted when the queue is full); the
        line is the record itself, so ``attributes`` (see ``hgobs.sinks.Sink``) go unused."""
        data = encode_line(record)
        with self._cond:
            if len(self._queue) >= QUEUE_LINES or self._queued_bytes + len(data) > QUEUE_BYTES:
                full = True
            else:
                full = False
                self._queue.append(data)
                self._queued_bytes += len(data)
                if self._thread is None:
                    self._start()
                self._cond.notify()
        if full:
            self._drop("the queue is full (the file is not being written fast enough)")

    def _start(self) -> None:
        self._closing = False
        thread = threading.Thread(target=self._run, name="hgobs-jsonl", daemon=True)
        self._thread = thread
        thread.start()

    def _drop(self, why: str) -> None:
        self.dropped += 1
        if not self._warned:
            self._warned = True
            LOG.warning("hgobs: JSON Lines record dropped (%s): %s; later drops are counted in "
                        "hgobs.records.dropped", self.path, why)
        if self.on_drop is not None:
            try:
                self.on_drop()
            except Exception:
                pass

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                if not self._queue and not self._closing:
                    cond.wait(IDLE_S)
                if not self._queue:
                    self._thread = None
                    cond.notify_all()
                    return
                batch = list(self._queue)
                self._queue.clear()
                self._queued_bytes = 0
                self._busy = True
            for data in batch:
                self._append(data)
            with cond:
                self._busy = False
                cond.notify_all()

    def _append(self, data: bytes) -> None:
        """Write one line with one ``os.write`` (reopening a rotated file first)."""
        try:
            fd = self._current_fd()
            written = os.write(fd, data)
            if written < len(data):
                # A short write (a full disk): writing the rest later could land between other
                # processes' lines, so the cut line is ended here and the record counted lost.
                os.write(fd, b"\n")
                self._drop("short write")
        except OSError as exc:
            self._close_fd()
            self._drop(f"{exc.strerror or exc}")
        except Exception as exc:  # never let the writer thread die
            self._drop(type(exc).__qualname__)

    def _current_fd(self) -> int:
        if self._fd is not None:
            now = time.monotonic()
            if now - self._checked >= self.check_interval_s:
                self._checked = now
                try:
                    here = os.stat(self.path)
                    there = os.fstat(self._fd)
                    moved = (here.st_dev, here.st_ino) != (there.st_dev, there.st_ino)
                except FileNotFoundError:
                    moved = True
                if moved:
                    self._close_fd()
        if self._fd is None:
            self._fd = open_regular(self.path)
            self._checked = time.monotonic()
        return self._fd

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def flush(self, timeout: float = EXIT_WAIT_S) -> bool:
        """Wait up to ``timeout`` seconds until every queued line is written (or dropped);
        True when the queue is empty."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                if self._thread is None:
                    self._start()
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = EXIT_WAIT_S) -> None:
        """Write what is queued (waiting at most ``timeout`` seconds), stop the writer and close
        the file (a later ``write`` opens it again)."""
        self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cond:
            if not self._queue and not self._busy:
                self._close_fd()


def open_sink(path: Path | str, on_drop: Callable[[], None] | None = None) -> JsonlSink | None:
    """A ``JsonlSink`` for ``path``, or None after one warning on ``hgobs.internal`` naming the
    path, when it is not a regular file or cannot be opened or created (a folder, a missing
    parent that cannot be made, a FIFO or socket or device, permission denied)."""
    path = Path(path)
    try:
        fd = open_regular(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        LOG.warning("hgobs: JSON Lines file %r cannot be used (%s); no JSON Lines records",
                    str(path), getattr(exc, "strerror", None) or type(exc).__qualname__)
        return None
    return JsonlSink(path, on_drop, fd=fd)


_SINKS: weakref.WeakSet[JsonlSink] = weakref.WeakSet()


def flush_all(timeout: float = EXIT_WAIT_S) -> bool:
    """Flush every live sink, waiting at most ``timeout`` seconds in all; True when all
    queues are empty."""
    deadline = time.monotonic() + timeout
    ok = True
    for sink in list(_SINKS):
        ok = sink.flush(max(0.0, deadline - time.monotonic())) and ok
    return ok


def _after_fork_in_child() -> None:
    for sink in list(_SINKS):
        sink._reset()


atexit.register(flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
