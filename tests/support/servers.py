"""Loopback test servers on 127.0.0.1: one family for HTTP/1.1 (uvicorn), one for HTTP/2 (hypercorn).

OpenTelemetry's httpx instrumentation wraps only real transports, so tests talk to these
servers over real sockets instead of mock transports. Both answer with the app of
``tests.support.loopback`` (a ``handler``, or the next reply of their ``script``):

- ``LoopServer``: HTTP/1.1, plain or (given a ``trustme`` CA) TLS. Its socket is made with
  ``IPPROTO_TCP`` so asyncio sets ``TCP_NODELAY``: otherwise every response waits ~40 ms for the
  client's delayed ACK (Nagle). ``LoopPool``: a few https and http ``LoopServer``s sharing one
  script, and the CA the client must trust.
- ``H2Server``: HTTP/2 over TLS (ALPN ``h2``, with ``http/1.1`` offered too), for
  ``httpx.Client(http2=True)``; httpx speaks HTTP/2 only over TLS.

Also ``StallingPort``, which accepts TCP connections and never answers (a read timeout), and
``closed_port``, a 127.0.0.1 port nothing listens on (connection refused).
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import trustme
import uvicorn

from .loopback import Handler, Received, Reply, Script, asgi_app

START_TIMEOUT_S = 10.0
"""Seconds a server may take to start listening before the test fails."""


def _write_cert(ca: trustme.CA, folder: str) -> tuple[str, str]:
    """A certificate for 127.0.0.1 issued by ``ca``, written to ``folder``: (key, cert) paths."""
    cert = ca.issue_cert("127.0.0.1")
    key_file, cert_file = Path(folder, "key.pem"), Path(folder, "cert.pem")
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    return str(key_file), str(cert_file)


def _trusting(ca: trustme.CA | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca is not None:
        ca.configure_trust(ctx)
    return ctx


class LoopServer:
    """An HTTP/1.1 uvicorn server on 127.0.0.1 answering from ``handler`` or from its ``script``.

    ``ca`` makes it https; ``chunk_size`` sends each body in pieces of that many bytes.
    """

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
            key_file, cert_file = _write_cert(ca, self._dir.name)
            tls = {"ssl_keyfile": key_file, "ssl_certfile": cert_file}
        config = uvicorn.Config(asgi_app(handler or self._next_reply, chunk_size),
                                log_level="warning", lifespan="off", server_header=False,
                                date_header=False, backlog=512, **tls)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[sock])), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("loopback server did not start")
            time.sleep(0.005)

    def _next_reply(self, received: Received) -> Reply:
        return self.script.answer(received)  # looked up per request: a pool swaps the script

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @functools.cached_property
    def tls(self) -> ssl.SSLContext:
        """A client TLS context trusting this server (built once: building one is slow)."""
        return _trusting(self.ca)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


class LoopPool:
    """``https`` TLS and ``http`` plain ``LoopServer``s sharing one ``script``; TLS ones trust ``ca``."""

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
            self._tls = _trusting(self.ca)
        return self._tls

    def stop(self) -> None:
        for server in (*self.https, *self.http):
            server.stop()


class H2Server:
    """An HTTP/2 hypercorn server on 127.0.0.1 over TLS (ALPN h2 and http/1.1), answering from
    ``handler`` or from its ``script``; bodies go out in ``chunk_size`` pieces (64 KiB)."""

    def __init__(self, handler: Handler | None = None, *, ca: trustme.CA | None = None,
                 chunk_size: int | None = 1 << 16) -> None:
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        self.script = Script()
        self.ca = ca or trustme.CA()
        self._dir = tempfile.TemporaryDirectory()
        key_file, cert_file = _write_cert(self.ca, self._dir.name)
        self.port = closed_port()
        config = Config()
        config.bind = [f"127.0.0.1:{self.port}"]
        config.certfile, config.keyfile = cert_file, key_file
        config.loglevel = "WARNING"
        config.accesslog = None
        app = asgi_app(handler or self._next_reply, chunk_size)
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await serve(app, config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]

        self.thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or not self.thread.is_alive():
                    raise RuntimeError("HTTP/2 server did not start") from None
                time.sleep(0.01)

    def _next_reply(self, received: Received) -> Reply:
        return self.script.answer(received)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @functools.cached_property
    def tls(self) -> ssl.SSLContext:
        """A client TLS context trusting this server (built once: building one is slow)."""
        return _trusting(self.ca)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(timeout=5)


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
