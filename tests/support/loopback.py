"""What a scripted loopback test server receives and answers, and the ASGI app that serves it.

The servers themselves (one family per HTTP version) are in ``tests.support.servers``. A server
answers each request with ``handler(received)``, or, without a handler, with the next reply of
its ``Script``: a queue of ``Reply`` shared by every server of a pool, which also keeps what
each server ``Received``. An empty queue answers 599 "no reply scripted".
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    """One scripted answer: status, headers (list of pairs) and body bytes."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


@dataclass
class Received:
    """What a server received: method, path with query, headers and body."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Received], Reply]
NO_REPLY = Reply(599, [], b"no reply scripted")
"""The answer when the script's queue is empty."""


@dataclass
class Script:
    """The shared queue of replies and the log of received requests."""

    replies: collections.deque[Reply] = field(default_factory=collections.deque)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, replies: list[Reply]) -> None:
        """Replace the queue with ``replies`` and forget what was received."""
        with self.lock:
            self.replies = collections.deque(replies)
            self.received = []

    def answer(self, received: Received) -> Reply:
        """Keep ``received`` and pop the next reply (``NO_REPLY`` when none is left)."""
        with self.lock:
            self.received.append(received)
            return self.replies.popleft() if self.replies else NO_REPLY


def asgi_app(handler: Handler, chunk_size: int | None = None):
    """An ASGI app answering each HTTP request with ``handler(received)``.

    Header names are sent lower-case (HTTP/2 requires it) and a ``content-length`` is added
    when the reply has none. The body goes out in ``chunk_size`` pieces (None: in one piece).
    """
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope["query_string"].decode()
        target = scope["path"] + (f"?{query}" if query else "")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        reply = handler(Received(scope["method"], target, headers, body))
        hdrs = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        if not any(k == b"content-length" for k, _ in hdrs):
            hdrs.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": hdrs})
        size = chunk_size or max(len(reply.body), 1)
        chunks = [reply.body[i:i + size] for i in range(0, len(reply.body), size)] or [b""]
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk,
                        "more_body": i < len(chunks) - 1})

    return app
