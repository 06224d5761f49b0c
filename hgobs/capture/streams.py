"""Tee a streamed token-endpoint response: the application reads it as before, hgobs keeps a copy.

Used only when the application asked for ``stream=True`` on a token exchange: reading the body
ourselves would consume the stream (the known trap of reading inside a response hook). The tee
passes every chunk through unchanged, keeps at most ``limit`` bytes, and calls ``done(body)``
once when the stream is closed (``body`` is None when the limit was passed or the stream was
not read to its end). ``done`` also runs if the response is garbage-collected unclosed.
``decode_bounded`` undoes the body's ``Content-Encoding`` for ``done`` without ever producing
more than the limit.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from hgobs.capture.guard import guarded

Done = Callable[[bytes | None], None]


class _Collector:
    __slots__ = ("_called", "buffer", "complete", "done", "limit", "overflow")

    def __init__(self, limit: int, done: Done) -> None:
        self.limit = limit
        self.done = done
        self.buffer = bytearray()
        self.overflow = False
        self.complete = False
        self._called = False

    def add(self, chunk: bytes) -> None:
        if not self.overflow:
            if len(self.buffer) + len(chunk) > self.limit:
                self.overflow = True
                self.buffer.clear()
            else:
                self.buffer.extend(chunk)

    def finish(self) -> None:
        if self._called:
            return
        self._called = True
        body = bytes(self.buffer) if self.complete and not self.overflow else None
        guarded("stream.finish", self.done, body)


class TeeStream(httpx.SyncByteStream):
    """A sync byte stream that copies up to ``limit`` bytes of ``inner`` for ``done``."""

    def __init__(self, inner: Any, limit: int, done: Done) -> None:
        self._inner = inner
        self._collector = _Collector(limit, done)
        weakref.finalize(self, self._collector.finish)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            guarded("stream.copy", self._collector.add, chunk)
            yield chunk
        self._collector.complete = True

    def close(self) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        finally:
            self._collector.finish()


class AsyncTeeStream(httpx.AsyncByteStream):
    """The async twin of ``TeeStream``."""

    def __init__(self, inner: Any, limit: int, done: Done) -> None:
        self._inner = inner
        self._collector = _Collector(limit, done)
        weakref.finalize(self, self._collector.finish)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            guarded("stream.copy", self._collector.add, chunk)
            yield chunk
        self._collector.complete = True

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            self._collector.finish()


try:  # httpx's own Content-Encoding decoders (a private module: guarded, see ``decode_bounded``)
    from httpx._decoders import SUPPORTED_DECODERS as _DECODERS
except Exception:  # pragma: no cover - an httpx without it: encoded bodies are not read
    _DECODERS = {}

MAX_CODINGS = 8
"""The most content codings ``decode_bounded`` undoes; a longer chain records no body."""
_STEP = {"gzip": 64, "deflate": 64, "identity": 65536}
"""Input bytes handed to one decoder call, per coding. zlib expands at most ~1032 times, so a
gzip or deflate call yields at most ~66 KiB; codings whose ratio is not bounded that way
(``br``, ``zstd``) get ``_SMALL_STEP`` bytes per call."""
_SMALL_STEP = 8


def _through(coding: str, decoder: Any, pieces: Iterator[bytes]) -> Iterator[bytes]:
    """``pieces`` decoded by ``decoder``, fed ``_STEP`` bytes per call, output yielded lazily."""
    step = _STEP.get(coding, _SMALL_STEP)
    for piece in pieces:
        for i in range(0, len(piece), step):
            out = decoder.decode(piece[i:i + step])
            if out:
                yield out
    out = decoder.flush()
    if out:
        yield out


def decode_bounded(raw: bytes | None, headers: httpx.Headers, limit: int) -> bytes | None:
    """The body as the application reads it: ``raw`` (bytes of a streamed response) with its
    ``Content-Encoding`` chain (RFC 9110 section 8.4: codings listed in the order applied, so
    undone last first) undone by httpx's own decoders, as ``httpx.Response.iter_bytes`` does
    (an unknown coding is skipped). None when ``raw`` is None, when the output would pass
    ``limit`` bytes (decoding stops there: a gzip bomb or a ``gzip, gzip, br`` chain never
    expands further than ``limit`` plus one decoder call's output per layer), when the chain has
    more than ``MAX_CODINGS`` codings, when a body does not decode, or when httpx's decoders
    cannot be loaded. Never raises for a body (a decoding error is "no body")."""
    if raw is None or "content-encoding" not in headers:
        return raw
    codings = [v.strip().lower() for v in headers.get_list("content-encoding", split_commas=True)]
    codings = [c for c in codings if c in _DECODERS]
    if not _DECODERS and headers.get("content-encoding"):
        return None
    if len(codings) > MAX_CODINGS:
        return None
    try:
        pieces: Iterator[bytes] = iter((raw,))
        for coding in reversed(codings):
            pieces = _through(coding, _DECODERS[coding](), pieces)
        out = bytearray()
        for piece in pieces:
            if len(out) + len(piece) > limit:
                return None
            out += piece
    except Exception:  # DecodingError, a decoder library missing (ImportError), ...
        return None
    return bytes(out)
