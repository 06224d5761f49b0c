"""Reader for ``curl -v`` transcripts (as pasted into tickets): each request -> one record or skip.

Lines are read by their prefix: ``> `` the request (``> POST /oauth/token HTTP/2``, headers, an
empty ``>``), ``< `` the response (``< HTTP/2 401``, headers, an empty ``<``), ``* `` curl's
notes, ``curl: (N)`` curl's error, and unprefixed lines the response body (``{ [25 bytes data]``
and progress meter lines are ignored). Each request line starts a new exchange, so one file may
hold many. A ``curl`` command line (``$ curl ...``, ``\\`` continuations joined) gives the body
of the first request after it (``-d``/``--data*``/``--json``/``-F``; curl never echoes it).

The URL is the request target when absolute; else scheme and host come from HTTP/2 notes
(``OPENED stream for URL``, ``[:scheme: https]``), the ``Host`` header, ``* Connected to HOST
(IP) port N`` or ``* Host HOST:N was resolved`` (port 443 or TLS notes: https), or the
command's URL; https when nothing says.

Time: a leading ISO 8601 timestamp on the request line is the client's clock. Else the response
``Date`` header is used, which is the SERVER's clock: clock skew cannot be judged for such
exchanges, and ``clock.offset_s`` is left out. ``--trace-time`` prefixes (time of day in an
unknown zone) only give the duration. An exchange with no time takes its nearest neighbour's.

A body the transcript does not show stays unknown (no ``request.body_*`` facts), never empty;
a request whose ``>`` headers have no ``Content-Length`` or ``Transfer-Encoding`` sent none.
Files the command names (``-d @file``) are never opened. Source: ``<file>:<request line>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO
from urllib.parse import urlsplit

from hgobs.facts.exchange import Exchange, header_map, http_date
from hgobs.readers.base import Item, ReadContext
from hgobs.readers.curlcmd import Command, parse_command
from hgobs.readers.raw import build
from hgobs.readers.textlog import iter_lines, leading_time

NAME = "curl-verbose"
WHOLE_DOCUMENT = False
"""Read line by line, in file order (see ``hgobs.readers.base.Reader``)."""
MAX_BODY_BYTES = 64 << 10
"""Most response body characters kept per exchange (the token endpoint's answers are small)."""
MAX_LINE_BYTES = 1 << 20
"""Longest line read (bytes); the rest of a longer line is dropped."""
MAX_COMMAND_LINES = 200
"""Most ``\\``-continued lines joined into one command line."""

_TOD_RE = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\.(\d{6}) ")
_REQUEST_RE = re.compile(r"^> ([A-Z]{3,10}) (\S+) (HTTP/[\d.]+)\s*$")
_STATUS_RE = re.compile(r"^< (HTTP/[\d.]+) ([1-9]\d\d)\b")
_COMMAND_RE = re.compile(r"^\s*(?:[$%#]\s*|PS [^>]{0,200}>\s*)?curl(?:\.exe)?\s")
_CONNECTED_RE = re.compile(r"^\* +Connected to (\S+) \([^)]*\) port (\d+)")
_RESOLVED_RE = re.compile(r"^\* +Host (\S+):(\d+) was resolved")
_URL_NOTE_RE = re.compile(r"^\* +(?:\[HTTP/[23]\] \[\d+\] OPENED stream for (https?://\S+)|"
                          r"Issue another request to this URL: '([^']+)')")
_PSEUDO_RE = re.compile(r"^\* +\[HTTP/[23]\] \[\d+\] \[:(scheme|authority): ([^\]\s]+)\]")
_TLS_RE = re.compile(r"^\* +(?:SSL connection|TLSv1|ALPN|Server certificate|SSL certificate)")
_CURL_ERROR_RE = re.compile(r"^curl: \((\d+)\)")
_CONNECTION_END_RE = re.compile(r"\* (?:Connection #\d+ to host|Closing connection)")
_IGNORED_RE = re.compile(r"^[{}] \[\d+ bytes data\]\s*$|^\s*(?:% Total\s+% Received|Dload\s+Upload)|"
                         r"^\s*\d{1,3}\s+[\d.]+[kMGTP]?\s+\d{1,3}\s+[\d.]+[kMGTP]?\s+\d{1,3}\s")
_CURL_ERRORS = {28: "ReadTimeout", 52: "RemoteProtocolError", 55: "WriteError", 56: "ReadError",
                92: "RemoteProtocolError"}
"""curl exit codes after the request was sent, as the httpx exception names capture records."""
@dataclass
class _Conn:
    """What curl's ``*`` notes said about the connection and the next request."""

    host: str | None = None
    port: int | None = None
    tls: bool = False
    url: str | None = None
    pseudo: dict[str, str] = field(default_factory=dict)


@dataclass
class _Exchange:
    """One exchange as assembled from transcript lines (times in epoch or day seconds)."""

    line: int
    method: str
    target: str
    conn: _Conn
    command: Command | None = None
    time: float | None = None
    tod: float | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    status: int | None = None
    status_time: float | None = None
    status_tod: float | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    in_body: bool = False
    late_body: bool = False
    closed: bool = False
    body: list[str] = field(default_factory=list)
    body_chars: int = 0
    error: str | None = None

    def header(self, name: str, response: bool = False) -> str | None:
        """The first value of header ``name`` (lower case) sent, or received."""
        pairs = self.response_headers if response else self.headers
        return next((v for n, v in pairs if n.lower() == name), None)

    def url(self) -> str | None:
        """The absolute request URL (see module doc), or None when no host is known."""
        if self.target.startswith(("http://", "https://")):
            return self.target
        c = self.conn
        hint = urlsplit(c.url or (self.command.url if self.command else None) or "")
        host = c.pseudo.get("authority") or self.header("host")
        if not host and c.host:
            host = c.host + (f":{c.port}" if c.port not in (None, 80, 443) else "")
        host = host or hint.netloc
        if not host:
            return None
        scheme = c.pseudo.get("scheme") or (
            hint.scheme if hint.hostname == urlsplit(f"//{host}").hostname else None)
        if not scheme:
            scheme = {443: "https", 80: "http"}.get(c.port or 0) or (
                "https" if c.tls or c.port is None else "http")
        path = self.target or hint.path + (f"?{hint.query}" if hint.query else "")
        return f"{scheme}://{host}{path or '/'}"

    def request_body(self) -> bytes | None:
        """None when unknown; b"" when the ``>`` headers show no length; else the command's."""
        length = self.header("content-length")
        if self.headers and self.header("transfer-encoding") is None and length in (None, "0"):
            return b""
        return self.command.body if self.command is not None else None

    def response_body(self) -> bytes | None:
        """The body lines, or b"" when the headers say there is none, else None (not shown)."""
        text = "\n".join(self.body).strip()
        if text:
            return text.encode("utf-8", "surrogateescape")
        if self.header("content-length", True) == "0" or self.method == "HEAD" or \
                self.status in (204, 304):
            return b""
        return None

    def duration(self) -> float | None:
        """Seconds from the request line to the status line, when both carry a time."""
        if self.time is not None and self.status_time is not None:
            return max(0.0, self.status_time - self.time)
        if self.tod is not None and self.status_tod is not None:
            return (self.status_tod - self.tod) % 86400.0
        return None


class _Parser:
    """Line-by-line state: the pending command, connection notes and the exchanges so far."""

    def __init__(self) -> None:
        self.exchanges: list[_Exchange] = []
        self.command: Command | None = None
        self.pending: list[str] | None = None
        self.conn = _Conn()

    def feed(self, lineno: int, text: str) -> None:
        """Read one line (without its end)."""
        when, text = leading_time(text)
        tod = None
        if (m := _TOD_RE.match(text)) is not None:
            tod = int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + int(m[4]) / 1e6
            text = text[m.end():]
        if self.pending is not None and (text.startswith(("> ", "< ", "* ")) or
                                         len(self.pending) >= MAX_COMMAND_LINES):
            self._end_command()  # a stray trailing backslash must not swallow the transcript
        if self.pending is not None or _COMMAND_RE.match(text):
            self.pending = [*(self.pending or []), text.rstrip()]
            if not text.rstrip().endswith(("\\", "^", "`")):
                self._end_command()
            return
        ex = self.exchanges[-1] if self.exchanges else None
        if (m := _REQUEST_RE.match(text)) is not None:
            c = self.conn
            self.exchanges.append(_Exchange(lineno, m[1], m[2], _Conn(
                c.host, c.port, c.tls, c.url, c.pseudo), self.command, when, tod))
            self.command, c.url, c.pseudo = None, None, {}
        elif text.startswith("*"):
            self._note(text, ex)
        elif ex is None:
            return
        elif text.startswith(">") and ex.status is None:
            name, colon, value = text[1:].strip().partition(":")
            if colon and name:
                ex.headers.append((name.strip(), value.strip()))
        elif (m := _STATUS_RE.match(text)) is not None:
            if ex.status is None or ex.status < 200:  # a 1xx is followed by the real status
                ex.status, ex.status_time, ex.status_tod = int(m[2]), when, tod
                ex.response_headers = []
        elif text.startswith("<") and ex.status is not None and not ex.in_body:
            name, colon, value = text[1:].strip().partition(":")
            if colon and name:
                ex.response_headers.append((name.strip(), value.strip()))
            elif not colon and ex.status >= 200:
                ex.in_body = True
        elif (m := _CURL_ERROR_RE.match(text)) is not None:
            if ex.status is None:
                ex.error = _CURL_ERRORS.get(int(m[1]), f"CurlError{int(m[1])}")
        elif ex.status is not None and ex.status >= 200 and not _IGNORED_RE.match(text) and (
                not ex.closed or ex.late_body or (not ex.body and text.lstrip()[:1] in "{[")):
            # With ``curl -v ... 2>&1`` the body (stdout, buffered) often comes after curl's
            # "Connection ... left intact" note (stderr): a JSON body there is still this one's.
            self._body(ex, text)
            ex.late_body = ex.closed and not _complete_json("\n".join(ex.body))

    def _end_command(self) -> None:
        self.command = parse_command(" ".join(p.rstrip("\\^`") for p in self.pending or ()))
        self.pending = None

    def _note(self, text: str, ex: _Exchange | None) -> None:
        if ex is not None and ex.status is not None and _CONNECTION_END_RE.match(text):
            ex.closed = True
        if (m := _CONNECTED_RE.match(text) or _RESOLVED_RE.match(text)) is not None:
            if (self.conn.host, self.conn.port) != (m[1], int(m[2])):
                self.conn = _Conn(m[1], int(m[2]), url=self.conn.url, pseudo=self.conn.pseudo)
        elif _TLS_RE.match(text):
            self.conn.tls = True
        elif (m := _URL_NOTE_RE.match(text)) is not None:
            self.conn.url = m[1] or m[2]
        elif (m := _PSEUDO_RE.match(text)) is not None:
            self.conn.pseudo[m[1]] = m[2]

    @staticmethod
    def _body(ex: _Exchange, text: str) -> None:
        if (m := _CONNECTION_END_RE.search(text)) is not None:  # a body without a final newline
            text, ex.closed = text[:m.start()], True
        if text and ex.body_chars < MAX_BODY_BYTES:
            ex.body.append(text[:MAX_BODY_BYTES - ex.body_chars])
            ex.body_chars += len(text) + 1
        ex.in_body = True


def _complete_json(text: str) -> bool:
    """True when ``text`` is one whole JSON value (a late body needs no more lines)."""
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _times(exchanges: list[_Exchange]) -> list[tuple[float | None, bool]]:
    """``(time, is the client clock)`` per exchange: its timestamp, else its ``Date``, else the
    nearest (earlier first) exchange's."""
    own = [(ex.time, True) if ex.time is not None else
           (http_date(ex.header("date", True)), False) for ex in exchanges]
    known = [(i, t) for i, (t, _) in enumerate(own) if t is not None]
    return [(t if t is not None or not known else
             min(known, key=lambda k: (abs(k[0] - i), k[0] > i))[1], client)
            for i, (t, client) in enumerate(own)]


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """Items of a ``curl -v`` transcript ``stream`` named ``name``: one per request line (see
    module doc); one skip ``<name>:1`` when a non-blank file holds no request line at all."""
    ctx = ctx or ReadContext()
    parser = _Parser()
    seen_text = False
    for lineno, raw, _too_long in iter_lines(stream, MAX_LINE_BYTES):
        text = raw.decode("utf-8", "surrogateescape")
        seen_text = seen_text or bool(text.strip())
        parser.feed(lineno, text)
    exchanges = parser.exchanges
    if not exchanges and seen_text:
        yield Item(f"{name}:1", reason="no curl -v request line found")
    for ex, (when, client_clock) in zip(exchanges, _times(exchanges), strict=True):
        source = f"{name}:{ex.line}"
        try:
            url = ex.url()
        except ValueError:  # e.g. a Host header urlsplit refuses ("[" without "]")
            yield Item(source, reason="request line and Host header do not form a URL")
            continue
        if ex.method == "CONNECT":
            yield Item(source, reason="proxy tunnel request (CONNECT), not an HTTP exchange")
        elif url is None:
            yield Item(source, reason="no host for the request (no Host header or connection note)")
        elif when is None:
            yield Item(source, reason="no time: no timestamp and no Date header in the transcript")
        else:
            body = ex.request_body()
            exchange = Exchange(
                time=when, method=ex.method, url=url, request_headers=header_map(ex.headers),
                request_body=body, status=ex.status,
                response_headers=header_map(ex.response_headers),
                response_body=ex.response_body() if ex.status else None,
                duration_s=ex.duration(), error=None if ex.status else ex.error or "NoResponse",
                client_clock=client_clock)
            yield build(exchange, ctx, source)


def sniff(head: bytes, name: str = "") -> bool:
    """True when the first bytes hold a ``curl -v`` request line (``> POST /path HTTP/1.1``),
    with or without a leading timestamp."""
    for line in head.decode("utf-8", "replace").splitlines():
        line = leading_time(line)[1]
        if _REQUEST_RE.match(line[m.end():] if (m := _TOD_RE.match(line)) else line):
            return True
    return False
