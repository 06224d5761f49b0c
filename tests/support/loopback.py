"""Scripted HTTP(S) servers on 127.0.0.1 that answer what a test case says, over real sockets.

OpenTelemetry's httpx instrumentation wraps only real transports, so tests talk to these
servers instead of mock transports. ``https`` servers use a throwaway CA made with ``trustme``.
Each server pops the next scripted response from one shared queue and keeps what it received.
"""

from __future__ import annotations

import asyncio
import collections
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import trustme
import uvicorn


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


@dataclass
class Script:
    """The shared queue of replies and the log of received requests."""

    replies: collections.deque[Reply] = field(default_factory=collections.deque)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, replies: list[Reply]) -> None:
        with self.lock:
            self.replies = collections.deque(replies)
            self.received = []


def _app(script: Script):
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        target = scope["path"] + (("?" + scope["query_string"].decode()) if scope["query_string"] else "")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        with script.lock:
            script.received.append(Received(scope["method"], target, headers, body))
            reply = script.replies.popleft() if script.replies else Reply(599, [], b"no reply scripted")
        hdrs = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        if not any(k == b"content-length" for k, _ in hdrs):
            hdrs.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": hdrs})
        await send({"type": "http.response.body", "body": reply.body})

    return app


class Server:
    """A uvicorn server in a thread on 127.0.0.1 (``scheme`` http or https)."""

    def __init__(self, script: Script, scheme: str, ca: trustme.CA | None = None) -> None:
        self.scheme = scheme
        # IPPROTO_TCP given explicitly: asyncio only sets TCP_NODELAY on such sockets (else
        # every small response waits ~40 ms for the delayed ACK).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._sock = sock
        kwargs: dict[str, Any] = {}
        if scheme == "https":
            assert ca is not None
            cert = ca.issue_cert("127.0.0.1")
            self._files = []
            import tempfile

            keyf = tempfile.NamedTemporaryFile(suffix=".pem", delete=False)
            certf = tempfile.NamedTemporaryFile(suffix=".pem", delete=False)
            cert.private_key_pem.write_to_path(keyf.name)
            cert.cert_chain_pems[0].write_to_path(certf.name)
            kwargs = {"ssl_keyfile": keyf.name, "ssl_certfile": certf.name}
        config = uvicorn.Config(_app(script), log_level="warning", lifespan="off",
                                server_header=False, date_header=False, **kwargs)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("loopback server did not start")
            time.sleep(0.01)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self._sock]))

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


class Pool:
    """A few http and https servers sharing one script, and the CA the client must trust."""

    def __init__(self, https: int = 4, http: int = 2) -> None:
        self.ca = trustme.CA()
        self.script = Script()
        self.https = [Server(self.script, "https", self.ca) for _ in range(https)]
        self.http = [Server(self.script, "http") for _ in range(http)]

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx

    def stop(self) -> None:
        for s in (*self.https, *self.http):
            s.stop()
