"""Tee a streamed token-endpoint response: the application reads it as before, hgobs keeps a copy.

Used only when the application asked for ``stream=True`` on a token exchange: reading the body
ourselves would consume the stream (the known trap of reading inside a response hook). The tee
passes every chunk through unchanged, keeps at most ``limit`` bytes, and calls ``done(body)``
once when the stream is closed (``body`` is None when the limit was passed or the stream was
not read to its end). ``done`` also runs if the response is garbage-collected unclosed.
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
