"""One HTTP exchange as plain data (no httpx): what capture saw, or what a raw input shows.

Capture adapts an ``httpx.Request``/``httpx.Response`` pair to an ``Exchange``
(``hgobs.capture.record``); the HAR, ``curl -v``, text-log and span readers build one directly.
``hgobs.facts.record`` turns it into the redacted record. Raw secrets (assertions, tokens,
client secrets) are in it: it never leaves the process and is never written anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

from hgobs.profiles import split_url

Headers = Mapping[str, str]
"""Header fields as a mapping from the lower-cased name to the value, repeated fields joined
with ``", "`` (RFC 9110 section 5.3), iterated in the order first seen: what ``httpx.Headers``
gives for ``get``, iteration and ``items``, and what ``header_map`` builds from pairs."""


@dataclass(frozen=True, slots=True)
class Redirects:
    """The redirects an exchange followed (RFC 9110 section 15.4): how many, the first
    response's status and ``Location`` value, the final request's method and body size in
    bytes (0 when not held in memory), its URL (``""`` when not known) and whether it carried
    ``Authorization`` (None when not known)."""

    count: int
    status: int
    location: str
    final_method: str
    final_body_bytes: int
    final_url: str = ""
    final_authorization: bool | None = None


@dataclass(slots=True)
class Exchange:
    """One HTTP request and what came back.

    ``time`` is the client's clock at send (epoch seconds); ``duration_s`` the time to the
    response headers (seconds), when known. ``status`` is None when no response arrived
    (``error`` then names why, an exception class name such as ``ConnectTimeout``). Bodies are
    bytes at most the reader's or capture's bound long, or None when not read or not shown
    (unknown, not empty). ``credentials_known`` False: the input does not show the request's
    credentials header, so nothing is said about it. ``client_clock`` False: ``time`` was taken
    from the server's ``Date``, so no clock offset can be known. Not frozen (a frozen
    dataclass costs capture about a microsecond per exchange), but never changed once built:
    ``dataclasses.replace`` makes a changed copy.
    """

    time: float
    method: str
    url: str
    request_headers: Headers
    request_body: bytes | None = None
    status: int | None = None
    response_headers: Headers = field(default_factory=dict)
    response_body: bytes | None = None
    duration_s: float | None = None
    error: str | None = None
    redirects: Redirects | None = None
    credentials_known: bool = True
    client_clock: bool = True


def header_map(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``Headers`` of ``(name, value)`` pairs as an input shows them (names in any case)."""
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


MAX_URL_CHARS = 65536
"""Longest request URL read (httpx refuses longer ones too)."""


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a request URL, as an exception class name (``InvalidURL``), or
    None. Refused (as httpx refuses them): an ASCII control character, more than
    ``MAX_URL_CHARS`` characters, a URL ``urllib.parse.urlsplit`` refuses, a port that is not
    a number, and a host that is neither ASCII nor IDNA-encodable (RFC 3986 section 3.2.2,
    RFC 5890). A port number out of range is accepted: no profile URL has it."""
    if len(url) > MAX_URL_CHARS or (not url.isprintable() and any(
            c.isascii() and not c.isprintable() for c in url)):
        return "InvalidURL"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "InvalidURL"
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        if not parts.netloc.rpartition(":")[2].isdigit():
            return "InvalidURL"
    if not host.isascii():
        try:
            host.encode("idna")
        except UnicodeError:
            return "InvalidURL"
    return None


def text_problem(headers: Headers) -> str | None:
    """``UnicodeEncodeError`` when a header name or value is not ASCII (what a client sends
    unencoded, RFC 9110 section 5.5), else None."""
    for name, value in headers.items():
        if not name.isascii() or not value.isascii():
            return "UnicodeEncodeError"
    return None


def request_url(url: str) -> str:
    """``url`` (one ``url_problem`` accepts) as a client sends it: without a port that is its
    scheme's default (RFC 9110 section 4.2: ``https://h:443/`` is ``https://h/``; the default
    ports are those ``hgobs.profiles.split_url`` drops), and with the path's dot segments
    removed (RFC 3986 section 5.2.4, by ``urllib.parse.urljoin``)."""
    parts = urlsplit(url)
    try:
        default_port = parts.port is not None and split_url(url)[1] is None
    except ValueError:  # a port out of range: left as it is
        default_port = False
    if default_port:
        parts = parts._replace(netloc=parts.netloc.rpartition(":")[0])
    if "/." in parts.path:
        parts = parts._replace(path=urlsplit(urljoin(url, parts.path)).path)
    return urlunsplit(parts) if default_port or "/." in url else url


def http_date(value: str | None) -> float | None:
    """An RFC 7231 HTTP date as epoch seconds, or None when absent or unparsable."""
    global _last_date
    if not value:
        return None
    last = _last_date
    if last[0] == value:  # a server's Date changes once a second: often the last one seen
        return last[1]
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    _last_date = (value, when)
    return when


_last_date: tuple[str, float] = ("", 0.0)
"""The last Date header value ``http_date`` parsed, and its epoch seconds."""
