"""Opening log files as readers want them: gzip found by its magic bytes, text as UTF-8 lines.

What real log folders hold, made plain before any reader looks (all by content, never by
name), in bounded memory whatever the file's size or its lines' length:

- gzip (``1f 8b``), whatever the file is called (``.gz``, ``.GZ``, ``hgobs.jsonl.2``);
- a byte order mark: UTF-8's is dropped; UTF-16 (LE or BE) with its BOM is read as UTF-8
  (an undecodable unit reads as U+FFFD); UTF-32 and BOM-less UTF-16 JSON are left to the JSON
  readers, which detect them as RFC 8259 section 8.1 says;
- CR-only line ends (classic Mac OS, some Windows tools): when the first line break is a CR
  without an LF (in the first ``SNIFF_BYTES``, or later when the first line is longer), every
  CR is read as LF, so each line keeps its number;
- blank lines before the first line that holds text, however many (``past_blank``);
- a head of lines no reader knows (a banner, a stack trace) before the first line one does:
  detection looks at each line start of the first ``BANNER_BYTES`` (at most ``BANNER_LINES``
  lines) for one (``past_banner``).

Line splitting everywhere is on LF bytes only (CR LF ends a line too): never ``str.splitlines``,
which also splits on U+2028, U+0085 and other characters a JSON string may hold.
"""

from __future__ import annotations

import codecs
import gzip
import io
import sys
import zlib
from collections.abc import Callable
from typing import IO, Any

__all__ = ["BANNER_BYTES", "BANNER_LINES", "SNIFF_BYTES", "ByteTally", "open_input", "open_raw",
           "past_banner", "past_blank", "sniffed_head"]

SNIFF_BYTES = 4096
"""Bytes of a file's start (from its first line that is not blank) each reader's ``sniff`` sees."""
BANNER_BYTES = 64 << 10
"""How far into a file (bytes) detection looks for the first line a reader knows."""
BANNER_LINES = 2000
"""How many lines of a file's head detection tries as the first line a reader knows."""
_GZIP_MAGIC = b"\x1f\x8b"
_UTF16_BOMS = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_UTF32_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_CHUNK = 1 << 16


class ByteTally:
    """How much of a run's input has been read: ``done`` (bytes taken from the files so far; a
    gzip file's compressed bytes) of ``total`` (the size of every regular file to read, None
    when an input's size is unknown: standard input, a pipe). What a progress display shows."""

    __slots__ = ("done", "total")

    def __init__(self) -> None:
        self.done = 0
        self.total: int | None = 0


class _Tallied(io.RawIOBase):
    """The raw file ``raw``, adding each read's byte count to ``tally.done``."""

    def __init__(self, raw: IO[bytes], tally: ByteTally) -> None:
        self._raw = raw
        self._tally = tally

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self._tally.done += n
        return n or 0

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _Plain(io.RawIOBase):
    """``stream`` read with ``skip`` leading bytes dropped, decoded by ``decoder`` (then encoded
    as UTF-8) when given, and each CR read as LF when ``cr_only`` (None: decided by the first
    line break read, a CR not followed by LF meaning yes)."""

    def __init__(self, stream: IO[bytes], skip: int, decoder: codecs.IncrementalDecoder | None,
                 cr_only: bool | None) -> None:
        self._stream = stream
        self._read = getattr(stream, "read1", stream.read)
        self._skip = skip
        self._decoder = decoder
        self._cr_only = cr_only
        self._pending = memoryview(b"")
        self._eof = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        while not self._pending and not self._eof:
            chunk = self._read(_CHUNK)
            self._eof = not chunk
            if self._skip:
                dropped = min(self._skip, len(chunk))
                chunk, self._skip = chunk[dropped:], self._skip - dropped
            if self._decoder is not None:
                chunk = self._decoder.decode(chunk, final=self._eof).encode("utf-8")
            if self._cr_only is None:
                chunk = self._decide(chunk)
            if self._cr_only:
                chunk = chunk.replace(b"\r", b"\n")
            self._pending = memoryview(chunk)

    def _decide(self, chunk: bytes) -> bytes:
        """Set ``_cr_only`` from the first line break of ``chunk`` (reading one byte more when
        a CR ends it); ``chunk`` (and that byte) returned."""
        cr, lf = chunk.find(b"\r"), chunk.find(b"\n")
        if cr == len(chunk) - 1 and not self._eof and (lf < 0 or lf > cr):
            more = self._read(1)
            self._eof = not more
            chunk += more
        if lf >= 0 and (cr < 0 or lf == cr + 1 or lf < cr):
            self._cr_only = False
        elif cr >= 0 and (cr + 1 < len(chunk) or self._eof):
            self._cr_only = True
        return chunk

    def readinto(self, buffer: Any) -> int:
        self._fill()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def _plain(stream: IO[bytes]) -> IO[bytes]:
    """``stream`` (buffered, with ``peek``) as UTF-8 with LF line ends (see module doc); itself
    when it already is."""
    head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
    skip, decoder, text = 0, None, head
    if head.startswith(_UTF32_BOMS):
        return stream
    for bom, encoding in _UTF16_BOMS:
        if head.startswith(bom):
            skip, decoder = len(bom), codecs.getincrementaldecoder(encoding)("replace")
            text = head[len(bom):len(head) & ~1].decode(encoding, "replace").encode("utf-8")
            break
    else:
        if head.startswith(codecs.BOM_UTF8):
            skip, text = len(codecs.BOM_UTF8), head[len(codecs.BOM_UTF8):]
    cr_only: bool | None = b"\r" in text and b"\n" not in text
    if not cr_only and len(head) >= SNIFF_BYTES and b"\r" not in text and b"\n" not in text:
        cr_only = None  # a first line longer than the head: its end decides
    if not (skip or cr_only is not False):
        return stream
    return io.BufferedReader(_Plain(stream, skip, decoder, cr_only), _CHUNK)


READ_ERRORS = (OSError, EOFError, zlib.error)
"""What reading a file may raise besides a reader's own verdicts: the system's errors, a
``.gz`` cut short, and damaged deflate data (``zlib.error`` is neither of the others)."""


def read_error(exc: BaseException) -> str:
    """A skip reason's words for one of ``READ_ERRORS``: the system's message, ``damaged gzip
    data`` for ``zlib.error``, else the exception's name (never the input)."""
    if isinstance(exc, zlib.error):
        return "damaged gzip data"
    return getattr(exc, "strerror", None) or type(exc).__name__


def open_input(name: str, tally: ByteTally | None = None) -> IO[bytes]:
    """``name`` opened for binary reading (``-``: standard input), gzip decompressed when it
    starts like gzip, as UTF-8 with LF line ends (see module doc); the bytes read from a file
    are added to ``tally.done`` when given. Raises ``OSError`` when the file cannot be opened,
    or one of ``READ_ERRORS`` when its first bytes cannot be read."""
    if name == "-":  # buffered, so its head can be looked at (a test harness's may not be)
        stdin = sys.stdin.buffer
        stream: IO[bytes] = stdin if hasattr(stdin, "peek") else io.BufferedReader(stdin)  # type: ignore
    elif tally is None:
        stream = open(name, "rb")
    else:
        stream = io.BufferedReader(_Tallied(open(name, "rb", buffering=0), tally), _CHUNK)
    try:
        return _decoded(stream)
    except BaseException:
        if name != "-":
            stream.close()
        raise


def open_raw(raw: IO[bytes], tally: ByteTally | None = None) -> IO[bytes]:
    """What ``open_input`` gives, of an already open binary file ``raw`` (an object in storage,
    opened by ``fsspec``): gzip decompressed when it starts like gzip, as UTF-8 with LF line
    ends; its bytes added to ``tally.done`` when given. ``raw`` is closed on an error.
    Raises one of ``READ_ERRORS`` when its first bytes cannot be read."""
    stream = io.BufferedReader(_Tallied(raw, tally or ByteTally()), _CHUNK)
    try:
        return _decoded(stream)
    except BaseException:
        stream.close()
        raise


def _decoded(stream: IO[bytes]) -> IO[bytes]:
    """``stream`` (buffered) gunzipped when it starts like gzip, then ``_plain``."""
    if stream.peek(2)[:2] == _GZIP_MAGIC:  # type: ignore[attr-defined]  # (a pipe cannot seek)
        stream = gzip.open(stream, "rb")  # type: ignore[assignment]
    return _plain(stream)


class _Prefixed(io.RawIOBase):
    """What is left of ``stream`` after its head was read: ``lines`` line breaks (one per line
    break read and not handed on, so line numbers hold), then ``rest``, then the rest of
    ``stream``."""

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


def past_blank(stream: IO[bytes]) -> tuple[bytes, IO[bytes]]:
    """The first ``SNIFF_BYTES`` of ``stream`` from its first line that is not blank (empty
    when there is none), and a stream that reads as ``stream`` would have, except that the
    blank lines before that line are empty lines. Memory is bounded whatever their length."""
    read = getattr(stream, "read1", stream.read)
    lines = 0
    while chunk := read(_CHUNK):
        text_at = len(chunk) - len(chunk.lstrip())
        if text_at == len(chunk):
            lines += chunk.count(b"\n")
            continue
        start = chunk.rfind(b"\n", 0, text_at) + 1
        lines += chunk.count(b"\n", 0, start)
        rest = chunk[start:]
        while len(rest) < SNIFF_BYTES and (more := read(SNIFF_BYTES - len(rest))):
            rest += more
        return rest[:SNIFF_BYTES], io.BufferedReader(_Prefixed(lines, rest, stream))
    return b"", stream


def sniffed_head(stream: IO[bytes]) -> bytes:
    """What format detection looks at: the first ``SNIFF_BYTES`` of ``stream`` (a buffered
    binary stream) from its first line that is not blank; empty when every line is blank.
    Reads the stream when its start is blank."""
    head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
    return head if head.strip() else past_blank(stream)[0]


def past_banner(stream: IO[bytes], sniff: Callable[[bytes], Any]
                ) -> tuple[Any, list[int], IO[bytes]] | None:
    """For a file no reader knows from its start: ``(what sniff found, numbers of the non-blank
    lines before it, a stream from the line it found)``, trying each line start in the first
    ``BANNER_BYTES`` (at most ``BANNER_LINES`` lines; ``sniff(head)`` gives a reader or None).
    The stream reads those earlier lines as empty lines, so line numbers hold. None when no
    line start is known (``stream`` has then been read from)."""
    head = stream.read(BANNER_BYTES)
    pos, banner = 0, []
    for number in range(1, BANNER_LINES + 1):
        end = head.find(b"\n", pos)
        if end < 0:
            return None
        if head[pos:end].strip():
            banner.append(number)
        pos = end + 1
        candidate = head[pos:pos + SNIFF_BYTES]
        if candidate.strip() and (found := sniff(candidate)) is not None:
            return found, banner, io.BufferedReader(_Prefixed(number, head[pos:], stream))
    return None
