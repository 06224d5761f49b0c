"""Readers: input files -> auth attempt records, one module per format.

``read_paths`` expands files, folders (recursively), globs and ``-`` (stdin), opens ``.gz``
transparently, detects each file's format from its first bytes (after any blank lines it
starts with, however many), and yields ``Item`` objects in time order across all inputs
(``hgobs.readers.merge``: ties by file, then line). A file whose format is not recognised
yields one skipped item naming it, so nothing read is silently dropped.
"""

from __future__ import annotations

import glob
import gzip
import io
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from hgobs.readers import curl, har, jaeger, jsonl, otlp, textlog, zipkin
from hgobs.readers.base import Item, ReadContext, Reader
from hgobs.readers.merge import merged

__all__ = ["FOLDER_SUFFIXES", "READERS", "REGISTRY", "SNIFF_BYTES", "Item", "ReadContext",
           "Reader", "detect", "expand", "open_input", "read_paths", "reader_named",
           "sniffed_head", "taken_from_folder"]

REGISTRY: tuple[Reader, ...] = (jsonl, otlp, har, jaeger, zipkin, curl, textlog)
"""Every reader, once, in the order their ``sniff`` is tried (the first that says yes reads
the file): the strict JSON shapes first, the lenient text shapes last."""
READERS = REGISTRY
"""The former name of ``REGISTRY``."""


def reader_named(name: str) -> Reader:
    """The registered reader whose ``NAME`` is ``name``; ``KeyError`` when there is none."""
    for reader in REGISTRY:
        if reader.NAME == name:
            return reader
    raise KeyError(name)

FOLDER_SUFFIXES = tuple(
    ext + gz for ext in (".jsonl", ".ndjson", ".json", ".har", ".log", ".txt") for gz in ("", ".gz"))
"""Files taken from a folder (in any letter case, and rotated: see ``taken_from_folder``);
files named explicitly are sniffed whatever their name."""
_ROTATED = re.compile(r"(?:\.gz|[.-]\d{1,10}|[.-]\d{4}-\d{2}-\d{2}(?:[T_.-]\d{2}(?:[:.-]?\d{2}){0,2})?)$",
                      re.IGNORECASE)
"""A rotation suffix: ``.gz``, ``.1``, ``-20251125``, ``.2025-11-25``, ``-2025-11-25T13``."""
SNIFF_BYTES = 4096


def taken_from_folder(file_name: str) -> bool:
    """True when a file called ``file_name`` (no folder) is read when its folder is: its name,
    less rotation suffixes (``.1``, ``.2.gz``, ``-20251125``, logrotate's and Python's
    ``RotatingFileHandler``'s and ``TimedRotatingFileHandler``'s), ends with one of
    ``FOLDER_SUFFIXES`` in any letter case. Its content then decides its format."""
    name = file_name.lower()
    for _ in range(4):
        if name.endswith(FOLDER_SUFFIXES):
            return True
        stripped = _ROTATED.sub("", name)
        if stripped == name:
            return False
        name = stripped
    return name.endswith(FOLDER_SUFFIXES)


def expand(paths: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Each input path as ``(file, named)``: folders walked (sorted), globs expanded, ``-`` kept.

    ``named`` is False for files found by walking a folder. Raises ``FileNotFoundError``
    naming a path that matches nothing.
    """
    for spec in paths:
        if spec == "-":
            yield spec, True
            continue
        path = Path(spec)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and taken_from_folder(child.name):
                    yield str(child), False
        elif path.is_file() or (path.exists() and not glob.has_magic(spec)):
            yield spec, True  # a file, or a pipe or device named as it is (/dev/stdin, <(...))
        else:
            matches = sorted(glob.glob(spec, recursive=True))
            if not matches:
                raise FileNotFoundError(spec)
            for match in matches:
                yield from ((f, True) for f, _ in expand([match]))


def open_input(name: str) -> IO[bytes]:
    """``name`` opened for binary reading (``-``: standard input), gzip decompressed (a
    ``.gz`` file, or standard input that starts like one)."""
    if name == "-":  # buffered, so its head can be looked at (a test harness's may not be)
        stdin = sys.stdin.buffer
        stream = stdin if hasattr(stdin, "peek") else io.BufferedReader(stdin)  # type: ignore
        if stream.peek(2)[:2] == b"\x1f\x8b":  # type: ignore[attr-defined]
            return gzip.open(stream, "rb")  # type: ignore[return-value]
        return stream
    raw: IO[bytes] = open(name, "rb")
    if raw.peek(2)[:2] == b"\x1f\x8b":  # type: ignore[attr-defined]  # (a pipe cannot seek)
        return gzip.open(raw, "rb")  # type: ignore[return-value]
    return raw


def detect(head: bytes, name: str) -> Reader | None:
    """The reader module for a file whose first bytes are ``head``, or None. When no reader
    knows it, a file with a later line naming the hgobs schema is JSON Lines whose first line
    is damaged: that line is skipped with its reason, the rest read."""
    for reader in REGISTRY:
        if reader.sniff(head, name):
            return reader
    return jsonl if jsonl.sniff_damaged(head) else None


class _AfterBlank(io.RawIOBase):
    """What is left of ``stream`` after its blank start was read: ``lines`` line breaks (one
    per line break read, so line numbers hold), then ``rest``, then the rest of ``stream``."""

    def __init__(self, lines: int, rest: bytes, stream: IO[bytes]) -> None:
        self._lines = lines
        self._rest = memoryview(rest)
        self._read = getattr(stream, "read1", stream.read)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._lines:
            n = min(len(buffer), self._lines)
            buffer[:n] = b"\n" * n
            self._lines -= n
            return n
        if self._rest:
            n = min(len(buffer), len(self._rest))
            buffer[:n] = self._rest[:n]
            self._rest = self._rest[n:]
            return n
        data = self._read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _past_blank(stream: IO[bytes]) -> tuple[bytes, IO[bytes]]:
    """The first ``SNIFF_BYTES`` of ``stream`` from its first line that is not blank (empty
    when there is none), and a stream that reads as ``stream`` would have, except that the
    blank lines before that line are empty lines. Memory is bounded whatever their length."""
    read = getattr(stream, "read1", stream.read)
    lines = 0
    while chunk := read(1 << 16):
        text_at = len(chunk) - len(chunk.lstrip())
        if text_at == len(chunk):
            lines += chunk.count(b"\n")
            continue
        start = chunk.rfind(b"\n", 0, text_at) + 1
        lines += chunk.count(b"\n", 0, start)
        rest = chunk[start:]
        while len(rest) < SNIFF_BYTES and (more := read(SNIFF_BYTES - len(rest))):
            rest += more
        return rest[:SNIFF_BYTES], io.BufferedReader(_AfterBlank(lines, rest, stream))
    return b"", stream


def sniffed_head(stream: IO[bytes]) -> bytes:
    """What format detection looks at: the first ``SNIFF_BYTES`` of ``stream`` (a buffered
    binary stream) from its first line that is not blank; empty when every line is blank.
    Reads the stream when its start is blank."""
    head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
    return head if head.strip() else _past_blank(stream)[0]


def read_file(name: str, ctx: ReadContext, ignored: list[str] | None = None) -> Iterator[Item]:
    """Items of one file (or ``-``), format detected from its first bytes.

    A file in no known format is one skipped item; but when ``ignored`` is a list, its name is
    appended there instead (files met while walking a folder, such as an index or a README,
    hold no records to account for). A file that starts with more blank lines than the first
    ``SNIFF_BYTES`` hold is detected from its first line that is not blank.
    """
    try:
        stream = open_input(name)
    except OSError as exc:
        yield Item(f"{name}:0", reason=f"cannot open file ({exc.strerror or type(exc).__name__})")
        return
    try:
        source = stream
        try:
            head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
            if not head.strip():
                head, source = _past_blank(stream)
        except (OSError, EOFError) as exc:
            yield Item(f"{name}:0", reason=f"cannot read file ({type(exc).__name__})")
            return
        if not head:
            return
        reader = detect(head, name)
        if reader is None:
            if ignored is not None:
                ignored.append(name)
            else:
                yield Item(f"{name}:1", reason="not a recognised log format")
            return
        try:
            yield from reader.read(source, name, ctx)
        except (OSError, EOFError) as exc:
            yield Item(f"{name}:?", reason=f"file ends early ({type(exc).__name__})")
    finally:
        if name != "-":  # standard input stays open
            stream.close()


def read_paths(paths: Iterable[str], ctx: ReadContext | None = None,
               ignored: list[str] | None = None) -> Iterator[Item]:
    """Items of every input, merged in time order (``hgobs.readers.merge``: within
    ``ctx.lateness_s`` per file; records later than that are counted in ``ctx.late``). Raises
    ``FileNotFoundError`` for a missing path, before any item is yielded.

    Files found in folders that are in no known format are appended to ``ignored`` (when given)
    rather than yielded as skipped items; files named explicitly always count.
    """
    context = ctx or ReadContext()
    files = [(name, None if named else ignored) for name, named in expand(paths)]
    yield from merged(files, context, lambda name, listed: read_file(name, context, listed))
