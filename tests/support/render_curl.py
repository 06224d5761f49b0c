"""Render a shared case (``tests/data/cases``) as a ``curl -v`` transcript, as pasted in a ticket.

Each exchange becomes an optional ``$ curl ...`` command line (with ``\\`` continuations; its
``-d``/``--data-raw`` carries the request body, which ``curl -v`` never echoes) followed by
curl's verbose output: ``*`` connection notes, ``>`` request lines, ``<`` response lines and the
response body after a ``{ [N bytes data]`` line. URLs stay the case's own (no loopback mapping).
"""

from __future__ import annotations

import shlex
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from tests.support.render_har import PlainExchange, iso_time, plain_exchanges

ADDRESS = "203.0.113.10"


def _command(ex: PlainExchange) -> list[str]:
    parts = ["$ curl -v"]
    if not (ex.method == "GET" and ex.body is None) and not (ex.method == "POST" and ex.body):
        parts.append(f"-X {ex.method}")
    parts.append(shlex.quote(ex.url))
    parts += [f"-H {shlex.quote(f'{n}: {v}')}" for n, v in ex.headers]
    if ex.body:
        form = (ex.header("content-type") or "").startswith("application/x-www-form-urlencoded")
        parts.append(f"{'-d' if form else '--data-raw'} {shlex.quote(ex.body.decode())}")
    return [p + " \\" for p in parts[:-1]] + [parts[-1]]


def exchange_to_curl(ex: PlainExchange, with_bodies: bool = True, with_command: bool = True,
                     connection: int = 0) -> list[str]:
    """The transcript lines of one exchange (no line ends)."""
    url = urlsplit(ex.url)
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    http2 = url.scheme == "https"
    target = url.path + (f"?{url.query}" if url.query else "")
    lines = _command(ex) if with_command else []
    lines += [f"* Host {host}:{port} was resolved.", f"*   Trying {ADDRESS}:{port}...",
              f"* Connected to {host} ({ADDRESS}) port {port}"]
    if http2:
        lines += ["* ALPN: curl offers h2,http/1.1",
                  "* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384 / X25519 / RSASSA-PSS",
                  "* ALPN: server accepted h2", "* using HTTP/2",
                  f"* [HTTP/2] [1] OPENED stream for {ex.url}"]
    lines += [f"> {ex.method} {target} {'HTTP/2' if http2 else 'HTTP/1.1'}", f"> Host: {host}",
              "> User-Agent: curl/8.5.0", "> Accept: */*"]
    lines += [f"> {n}: {v}" for n, v in ex.headers]
    if ex.body:
        lines.append(f"> Content-Length: {len(ex.body)}")
    lines.append(">")
    phrase = "" if http2 else " " + HTTPStatus(ex.status).phrase
    lines.append(f"< {'HTTP/2' if http2 else 'HTTP/1.1'} {ex.status}{phrase}")
    lines += [f"< {n}: {v}" for n, v in ex.response_headers]
    lines.append("<")
    if with_bodies and ex.response_body:
        lines.append(f"{{ [{len(ex.response_body)} bytes data]")
        lines += ex.response_body.decode().splitlines()
    lines.append(f"* Connection #{connection} to host {host} left intact")
    return lines


def case_to_curl(case: dict[str, Any], with_bodies: bool = True, with_command: bool = True,
                 timestamps: bool = False) -> str:
    """The ``curl -v`` transcript of every exchange of ``case``, one after the other.

    ``with_bodies``: print the response bodies; ``with_command``: precede each transcript with
    its command line (the only place a request body shows); ``timestamps``: prefix every line
    with the exchange's client time in ISO 8601 (as a log collector would), without which the
    reader can only use the server's ``Date``.
    """
    lines: list[str] = []
    for i, ex in enumerate(plain_exchanges(case)):
        block = exchange_to_curl(ex, with_bodies, with_command, connection=i)
        if timestamps:
            block = [f"{iso_time(ex.time)} {line}" for line in block]
        lines += block
    return "\n".join(lines) + "\n"
