"""Following one path as ``tail -F`` does: the complete lines appended to the file it names.

A ``Tail`` watches a path, not a descriptor. Each file the path names in turn (one device and
inode) is read as one ``Generation``: a raw binary stream of that file's complete lines (up to
and including their LF), which blocks, polling, until more are appended. A generation ends,
and its stream reads as ended, when

- the path names another file (rotation by rename, or a file created where a deleted one was):
  the old file's remaining lines are read first, then the next generation reads the new file
  from its start;
- the file is smaller than what was read of it (copy-and-truncate): the next generation reads
  it again from its start;
- the run stops.

A path that names no file yet (or no longer) is waited for. ``Claims`` makes sure one file is
read by one follower at a time and never twice: after a rename a folder walk finds the old
file under its new name (``app.log.1``), and that path's follower starts where the first one
stopped. Only polling (``os.stat`` every ``poll_s`` seconds): no inotify dependency. Memory is
bounded: one chunk of ``CHUNK`` bytes and an unfinished line (handed on once longer than
``MAX_PARTIAL``, so a reader's own line limit applies).
"""

from __future__ import annotations

import io
import os
import select
import threading
from collections.abc import Callable
from typing import Any

CHUNK = 1 << 16
"""Bytes read from a file at a time."""
MAX_PARTIAL = 1 << 20
"""An unfinished line is handed on once it is longer than this (bytes)."""
MAX_CLAIMS = 1 << 16
"""Files (device, inode) whose read position is remembered (the oldest are forgotten)."""

Key = tuple[int, int]


class Claims:
    """Which file (``(st_dev, st_ino)``) each follower reads, and how far files were read.

    ``take(key)`` gives ``(offset, lines)`` where an earlier follower stopped, ``None`` for a
    file never read, or ``False`` while another follower holds it; ``give(key, offset,
    lines)`` hands it back with the position reached. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: set[Key] = set()
        self._read: dict[Key, tuple[int, int]] = {}

    def take(self, key: Key) -> tuple[int, int] | bool | None:
        with self._lock:
            if key in self._held:
                return False
            self._held.add(key)
            return self._read.get(key)

    def give(self, key: Key, offset: int, lines: int) -> None:
        with self._lock:
            self._held.discard(key)
            self._read.pop(key, None)
            self._read[key] = (offset, lines)
            while len(self._read) > MAX_CLAIMS:
                del self._read[next(iter(self._read))]

    def known(self, key: Key) -> bool:
        """True when ``key`` is held or was read."""
        with self._lock:
            return key in self._held or key in self._read


def _key(info: os.stat_result) -> Key:
    return info.st_dev, info.st_ino


class Generation(io.RawIOBase):
    """The complete lines of one file from ``offset`` on (``lines`` lines before it), as a
    raw stream that blocks until more are appended (see module doc).

    ``wait()`` is called each time it is about to wait for more (the reader has read every
    line there is): its follower hands on what it read then. ``snapshot()`` gives the lines
    read so far without handing them on (format detection); ``drop(n)`` discards their
    first ``n`` bytes. ``truncated`` tells, once it has ended, why."""

    def __init__(self, tail: Tail, fd: int | None, key: Key | None, offset: int,
                 lines: int) -> None:
        super().__init__()
        self.tail = tail
        self.fd = fd
        self.key = key
        self.offset = offset
        self.base_lines = lines
        self.lines = lines
        self.truncated = False
        self.ended = False
        self._ready = bytearray()
        self._partial = b""

    def readable(self) -> bool:
        return True

    def _take(self, data: bytes) -> None:
        """Add ``data`` read from the file: its complete lines become ready."""
        data = self._partial + data if self._partial else data
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) > MAX_PARTIAL:
            cut = len(data)
        if cut:
            self._ready += data[:cut]
        self._partial = data[cut:]

    def _more(self, block: bool) -> bool:
        """Read what the file has past ``offset`` (waiting for it when ``block``); False
        when the generation has ended and nothing more will come."""
        while not self.ended:
            data = self._read()
            if data:
                self.offset += len(data)
                self._take(data)
                if self._ready:
                    return True
                continue
            if self._finished():
                self._end()
                return bool(self._ready)
            if not block:
                return False
            self.tail.wait()
            if self.tail.stop.wait(self.tail.poll_s):
                self._end()
                return bool(self._ready)
        return False

    def _read(self) -> bytes:
        assert self.fd is not None
        return os.read(self.fd, CHUNK)

    def _finished(self) -> bool:
        """At the file's end: True when this generation is over (see module doc)."""
        assert self.fd is not None
        if os.fstat(self.fd).st_size < self.offset:
            self.truncated = True
            return True
        try:
            now = os.stat(self.tail.path)
        except OSError:  # renamed away, no new file yet: its writer may still append
            return False
        return _key(now) != self.key

    def _end(self) -> None:
        """End: the unfinished last line is handed on as it is."""
        self.ended = True
        if self._partial:
            self._ready += self._partial
            self._partial = b""

    def readinto(self, buffer: Any) -> int:
        if not self._ready and not self._more(block=True):
            return 0
        n = min(len(buffer), len(self._ready))
        buffer[:n] = self._ready[:n]
        self.lines += self._ready.count(b"\n", 0, n)
        del self._ready[:n]
        return n

    def snapshot(self) -> tuple[bytes, bool]:
        """``(the complete lines read and not handed on, whether the file's end is reached
        for now)``, reading without waiting."""
        more = self._more(block=False)
        while more and len(self._ready) < CHUNK:
            more = self._more(block=False)
        return bytes(self._ready), not more

    def drop(self, n: int) -> None:
        """Discard the first ``n`` ready bytes (taken by format detection)."""
        self.lines += self._ready.count(b"\n", 0, n)
        del self._ready[:n]

    def close(self) -> None:
        if not self.closed:
            if self.fd is not None:
                os.close(self.fd)
            if self.key is not None:
                self.tail.claims.give(self.key, 0 if self.truncated else self.offset - len(
                    self._partial) - len(self._ready), 0 if self.truncated else self.lines)
        super().close()


class Tail:
    """The follower of one ``path`` (see module doc): ``next_generation()`` waits until the
    path names a file it may read and gives that file as a ``Generation`` (None once
    ``stop`` is set). ``wait`` is called whenever it waits (nothing more to read).
    ``from_end``: the first file is read from its end (``tail -n 0``). A path that names a
    file it cannot open (permissions) is waited for too, and ``on_error`` told once."""

    def __init__(self, path: str, claims: Claims, stop: threading.Event, poll_s: float,
                 wait: Callable[[], None], from_end: bool = False,
                 on_error: Callable[[OSError], None] = lambda exc: None) -> None:
        self.path = path
        self.on_error = on_error
        self.error: OSError | None = None
        self.claims = claims
        self.stop = stop
        self.poll_s = poll_s
        self.wait = wait
        self.from_end = from_end

    def next_generation(self) -> Generation | None:
        """The next file the path names, once it may be read (see the class doc)."""
        while not self.stop.is_set():
            opened = self._open()
            if opened is not None:
                return opened
            self.wait()
            self.stop.wait(self.poll_s)
        return None

    def _open(self) -> Generation | None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:  # not there yet, or between a rename and a new file
            return None
        except OSError as exc:  # there, but not readable (permissions): said once
            if self.error is None:
                self.error = exc
                self.on_error(exc)
            return None
        self.error = None
        try:
            info = os.fstat(fd)
            key = _key(info)
            taken = self.claims.take(key)
            if taken is False:  # another follower reads it: it hands over when done
                os.close(fd)
                return None
            if isinstance(taken, tuple) and taken[0] <= info.st_size:
                offset, lines = taken
            elif self.from_end:
                offset, lines = _line_start_before(fd, info.st_size)
            else:
                offset, lines = 0, 0
            self.from_end = False
            os.lseek(fd, offset, os.SEEK_SET)
            return Generation(self, fd, key, offset, lines)
        except BaseException:
            os.close(fd)
            raise

    def head(self, generation: Generation, size: int) -> bytes:
        """The first ``size`` bytes of the file ``generation`` reads (detection looks at its
        start even when reading begins at its end)."""
        assert generation.fd is not None
        return os.pread(generation.fd, size, 0)


def _line_start_before(fd: int, size: int) -> tuple[int, int]:
    """``(offset, lines before it)`` of the start of the last line of a file of ``size``
    bytes (its end when it ends with a line break): where ``tail -n 0`` starts, counting the
    lines before so sources keep the file's line numbers."""
    lines, offset, last_break = 0, 0, 0
    while offset < size:
        chunk = os.pread(fd, min(CHUNK, size - offset), offset)
        if not chunk:
            break
        lines += chunk.count(b"\n")
        found = chunk.rfind(b"\n")
        if found >= 0:
            last_break = offset + found + 1
        offset += len(chunk)
    return last_break, lines


class StdinGeneration(Generation):
    """Standard input (or any descriptor ``fd``) as one generation: its complete lines as
    they arrive, ended at end of input. ``wait`` is called when no more bytes are waiting."""

    def __init__(self, tail: Tail, fd: int) -> None:
        super().__init__(tail, None, None, 0, 0)
        self._fd = fd

    def _read(self) -> bytes:
        if not select.select([self._fd], [], [], 0)[0]:
            self.tail.wait()
        data = os.read(self._fd, CHUNK)
        if not data:
            self._end()
        return data

    def _finished(self) -> bool:
        return True

    def snapshot(self) -> tuple[bytes, bool]:
        while len(self._ready) < CHUNK and not self.ended and \
                select.select([self._fd], [], [], 0)[0]:
            self._more(block=True)
        return bytes(self._ready), self.ended or not select.select([self._fd], [], [], 0)[0]
