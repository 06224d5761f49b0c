"""One followed input's thread: detect the format of each file a path names, read it with its reader.

A ``Follower`` reads one path (``hgobs.live.tail.Tail``) or standard input. For each file the
path names in turn it detects the format once, from the file's head, with the readers' own
detection (``hgobs.readers.detect_stream``, which ``read_file`` uses: the same answer
``hgobs classify`` gives for the same head), then hands that format's
``read(stream, name, ctx)`` a stream of the complete lines appended: no second parser.
Detection waits until the head holds ``SNIFF_BYTES`` or the file's end is reached; a head no
reader knows is waited on (a banner may come first) until it holds ``BANNER_BYTES``.

What it reads goes to the ``Feed`` (a bounded queue, so a fast file waits for the consumer)
as messages ``(kind, source id, payload)``: ``items`` (a list of ``Item``), ``idle`` (it has
read everything there is and waits), ``busy`` (reading again), ``error`` (an exception
the run should raise) and ``done``.

Not followable, each said once as a skip naming the file: whole-document formats (HAR, OTLP
JSON documents, Jaeger and Zipkin exports, console-exporter output: read only whole),
gzip-compressed files (rotated archives), and files in no format hgobs reads.
"""

from __future__ import annotations

import io
import threading
from typing import IO, Any

from hgobs.live.tail import CHUNK, Claims, Generation, StdinGeneration, Tail
from hgobs.readers import (
    BANNER,
    SNIFF_BYTES,
    UNKNOWN_FORMAT,
    Item,
    ReadContext,
    Reader,
    detect_stream,
)
from hgobs.readers.files import BANNER_BYTES, BANNER_LINES, READ_ERRORS, read_error

BATCH = 256
"""Items handed to the feed at once at most (fewer when the file has no more for now)."""
FEED_SIZE = 16
"""Messages the feed holds before a follower waits for the consumer."""
COMPRESSED = ("gzip-compressed (a rotated archive?): not followed; read it with hgobs "
              "classify without --follow")


def whole_document(reader: Reader) -> str:
    """The skip reason of a followed file in a whole-document format."""
    return (f"{reader.NAME} is read as a whole document, not line by line: it cannot be "
            "followed; read it with hgobs classify without --follow")


class _Wait:
    """Detection must wait for more of the head."""


WAIT = _Wait()


def detected(head: bytes, name: str, final: bool
             ) -> tuple[Reader, list[int], IO[bytes]] | str | _Wait:
    """How to read a file whose first complete lines are ``head``: ``(reader, numbers of the
    banner lines before its first known line, a stream that reads head as the reader
    should)``; a skip reason when it cannot be followed; ``WAIT`` when the head does not
    tell yet (``final``: nothing more is coming for now)."""
    if head[:2] == b"\x1f\x8b":
        return COMPRESSED
    stream: IO[bytes] = io.BufferedReader(io.BytesIO(head))  # type: ignore[arg-type]
    first, reader, banner, source = detect_stream(stream, name)
    if not first or (len(first) < SNIFF_BYTES and not final):
        return WAIT
    if reader is None:
        whole = len(head) >= BANNER_BYTES or head.count(b"\n") >= BANNER_LINES
        return UNKNOWN_FORMAT if whole else WAIT
    if reader.WHOLE_DOCUMENT:
        return whole_document(reader)
    return reader, banner, source


class _Chain(io.RawIOBase):
    """``first`` to its end, then ``then``."""

    def __init__(self, first: IO[bytes], then: Generation) -> None:
        super().__init__()
        self._first: IO[bytes] | None = first
        self._then = then

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._first is not None:
            n = self._first.readinto(buffer)  # type: ignore[attr-defined]
            if n:
                return n
            self._first = None
        return self._then.readinto(buffer)


def _rebased(item: Item, base: int) -> Item:
    """``item`` with the line number of its ``<file>:<line>`` source moved ``base`` lines on
    (a reader that starts past the file's start counts from 1)."""
    name, _, line = item.source.rpartition(":")
    if not base or not line.isdigit():
        return item
    return Item(f"{name}:{int(line) + base}", item.record, item.reason, item.full)


class Follower(threading.Thread):
    """The thread reading input ``sid`` (a path, or standard input when ``fd`` is given) into
    ``feed`` (see module doc) until ``stop`` is set (or standard input ends). ``named``: False
    for a file found by walking a folder, whose unknown format is passed over without a skip."""

    def __init__(self, sid: int, name: str, ctx: ReadContext, feed: Any, claims: Claims,
                 stop: threading.Event, poll_s: float, from_end: bool = False,
                 fd: int | None = None, *, named: bool = True) -> None:
        super().__init__(name=f"hgobs-follow-{sid}", daemon=True)
        self.sid = sid
        self.source = name
        self.ctx = ctx
        self.feed = feed
        self.stop = stop
        self.fd = fd
        self.named = named  # False: found by walking a folder (a file in no known format
        # there is passed over without a skip, as hgobs.readers.read_paths does)
        self.tail = Tail(name, claims, stop, poll_s, self._idle, from_end, self._cannot_open)
        self._batch: list[Item] = []
        self._waiting = False

    def _put(self, kind: str, payload: Any = None) -> None:
        self.feed.put((kind, self.sid, payload))

    def _flush(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            self._put("items", batch)

    def _idle(self) -> None:
        """Called before each wait: hand on what was read, say this input is caught up."""
        self._flush()
        if not self._waiting:
            self._waiting = True
            self._put("idle")

    def _cannot_open(self, exc: OSError) -> None:
        self._emit(Item(f"{self.source}:0", reason=f"cannot open file ({read_error(exc)}); "
                                                   "waiting until it can be"))

    def _emit(self, item: Item) -> None:
        if self._waiting:
            self._waiting = False
            self._put("busy")
        self._batch.append(item)
        if len(self._batch) >= BATCH:
            self._flush()

    def run(self) -> None:
        try:
            if self.fd is not None:
                self._read(StdinGeneration(self.tail, self.fd))
            else:
                while (generation := self.tail.next_generation()) is not None:
                    self._read(generation)
        except BaseException as exc:  # the run raises it (a bug, not bad input)
            self._flush()
            self._put("error", exc)
        finally:
            self._flush()
            self._put("done")

    def _read(self, generation: Generation) -> None:
        name = self.source
        try:
            how = self._detect(generation)
            if how is None:
                return
            if isinstance(how, str):
                if self.named or how != UNKNOWN_FORMAT:
                    self._emit(Item(f"{name}:1", reason=how))
                while generation.readinto(bytearray(1 << 16)):  # wait for the next file
                    pass
                return
            reader, banner, prefix = how
            for number in banner:
                self._emit(Item(f"{name}:{number}", reason=BANNER))
            raw = generation if prefix is None else _Chain(prefix, generation)
            stream = io.BufferedReader(raw, 1 << 16)
            base = generation.base_lines
            for item in reader.read(stream, name, self.ctx):
                self._emit(_rebased(item, base) if base else item)
        except READ_ERRORS as exc:
            self._emit(Item(f"{name}:?", reason=f"cannot read file ({read_error(exc)})"))
        finally:
            generation.close()

    def _detect(self, generation: Generation
                ) -> tuple[Reader, list[int], IO[bytes] | None] | str | None:
        """How to read ``generation`` (see ``detected``), waiting as long as it says so; None
        when it ended (or the run stopped) with nothing to read."""
        name = self.source
        if generation.offset > 0:  # reading starts past the head: detect from the head
            head = self.tail.head(generation, BANNER_BYTES)
            head = head[:head.rfind(b"\n") + 1] or head
            how = detected(head, name, True)
            if isinstance(how, tuple):
                return how[0], [], None
            return UNKNOWN_FORMAT if how is WAIT else how  # type: ignore[return-value]
        while True:
            head, final = generation.snapshot()
            if len(head) >= CHUNK and not head.strip():  # a long blank start: pass it by
                generation.drop(len(head))
                generation.base_lines += head.count(b"\n")
                continue
            over = generation.ended or self.stop.is_set()
            how = detected(head, name, final or over)
            if isinstance(how, tuple):
                generation.drop(len(head))
                return how
            if isinstance(how, str):
                return how
            if over:
                return UNKNOWN_FORMAT if head.strip() else None
            self._idle()
            self.stop.wait(self.tail.poll_s)
