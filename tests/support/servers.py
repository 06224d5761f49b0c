"""Fast loopback servers for capture tests, plus a stalling port and a closed port.

``LoopServer`` is a uvicorn server on 127.0.0.1 (http, or https with a ``trustme`` CA) that
answers each request with ``handler(received)`` or, without a handler, with the next reply of
its own ``script`` (``tests.support.loopback.Script``). Its socket is made with ``IPPROTO_TCP``
so asyncio sets ``TCP_NODELAY``: otherwise every response waits ~40 ms for the client's delayed
ACK (Nagle), which makes tests of hundreds of requests slow. It can send a body in chunks.
``LoopPool`` is a drop-in for ``tests.support.loopback.Pool`` built from them.
``StallingPort`` accepts TCP connections and never answers (a read timeout); ``closed_port``
is a 127.0.0.1 port nothing listens on (connection refused).
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trustme
import uvicorn

from .loopback import Received, Reply, Script

Handler = Callable[[Received], Reply]


def _app(handler: Handler, chunk_size: int | None):
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


class LoopServer:
    """A uvicorn server on 127.0.0.1 answering from ``handler`` or from its ``script``."""

    def __init__(self, handler: Handler | None = None, *, ca: trustme.CA | None = None,
                 chunk_size: int | None = None) -> None:
        self.script = Script()
        self.ca = ca
        self.scheme = "https" if ca is not None else "http"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        tls: dict[str, Any] = {}
        if ca is not None:
            self._dir = tempfile.TemporaryDirectory()
            cert = ca.issue_cert("127.0.0.1")
            key_file, cert_file = Path(self._dir.name, "key.pem"), Path(self._dir.name, "c.pem")
            cert.private_key_pem.write_to_path(str(key_file))
            cert.cert_chain_pems[0].write_to_path(str(cert_file))
            tls = {"ssl_keyfile": str(key_file), "ssl_certfile": str(cert_file)}
        config = uvicorn.Config(_app(handler or self._next_reply, chunk_size),
                                log_level="warning", lifespan="off", server_header=False,
                                date_header=False, backlog=512, **tls)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[sock])), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("loopback server did not start")
            time.sleep(0.005)

    def _next_reply(self, received: Received) -> Reply:
        with self.script.lock:
            self.script.received.append(received)
            if self.script.replies:
                return self.script.replies.popleft()
        return Reply(599, [], b"no reply scripted")

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @functools.cached_property
    def tls(self) -> ssl.SSLContext:
        """A client TLS context trusting this server (built once: building one is slow)."""
        ctx = ssl.create_default_context()
        if self.ca is not None:
            self.ca.configure_trust(ctx)
        return ctx

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


class LoopPool:
    """Like ``tests.support.loopback.Pool`` (same attributes), made of ``LoopServer``s.

    All servers share one ``script``; ``https`` servers trust ``ca``. Use it where a test sends
    many requests through the shared-case helpers and the ~40 ms per response matters.
    """

    def __init__(self, https: int = 4, http: int = 2) -> None:
        self.ca = trustme.CA()
        self.script = Script()
        self.https = [LoopServer(ca=self.ca) for _ in range(https)]
        self.http = [LoopServer() for _ in range(http)]
        for server in (*self.https, *self.http):
            server.script = self.script
        self._tls: ssl.SSLContext | None = None

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context trusting the pool's CA (one, reused)."""
        if self._tls is None:
            self._tls = ssl.create_default_context()
            self.ca.configure_trust(self._tls)
        return self._tls

    def stop(self) -> None:
        for server in (*self.https, *self.http):
            server.stop()


class StallingPort:
    """A listening 127.0.0.1 socket that never accepts: requests to it time out reading."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._sock.close()


def closed_port() -> int:
    """A 127.0.0.1 port that was free a moment ago and has no listener."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
