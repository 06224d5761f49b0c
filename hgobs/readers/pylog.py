"""Reader for Python logging text with httpx's request lines and tracebacks (multi-line records).

A service that logs with the standard ``logging`` module writes httpx's own INFO line for every
response (``HTTP Request: POST https://host/oauth/token "HTTP/1.1 400 Bad Request"``), its own
line with the error text it read (``token exchange failed: {"error":"invalid_grant"}``), and,
for a request that got no answer, a traceback ending in the exception
(``httpx.ConnectError: [Errno 111] Connection refused``). Read here:

- lines are grouped into log records: a record is a line with its continuation lines (indented
  lines, a ``Traceback (most recent call last):`` block up to its exception line, chained
  tracebacks); each continuation line is one skip, so totals reconcile;
- an httpx line gives method, URL and status; the first OAuth-shaped JSON object
  (``hgobs.readers.textlog.oauth_json``) in the next ``JOIN_RECORDS`` records, before another
  httpx line, is its response body (that record is then a skip saying so);
- a record whose traceback ends in a transport failure (``hgobs.readers.appfields.
  transport_error``) is an exchange without an answer, its URL the first one its line names
  (or the ``host=``/``url:`` of a requests/urllib3 message);
- any other record is read as ``hgobs.readers.textlog`` reads a line.

Times as ``textlog`` reads them (``%(asctime)s`` included); a record without one takes the
time of the last record that had one. Lines are capped at ``textlog.MAX_LINE_BYTES``; of a
record's continuation lines only their numbers and its last exception line are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from hgobs.facts.exchange import Exchange
from hgobs.readers.appfields import MAX_TEXT, transport_error
from hgobs.readers.base import Item, ReadContext
from hgobs.readers.raw import build
from hgobs.readers.textlog import MAX_LINE_BYTES, extract, iter_lines, leading_time, oauth_json

NAME = "python-log"
WHOLE_DOCUMENT = False
"""Read line by line, in file order (see ``hgobs.readers.base.Reader``)."""
JOIN_RECORDS = 5
"""How many log records after an httpx line are searched for its error text."""
HTTPX_MARK = "HTTP Request: "
TRACEBACK = "Traceback (most recent call last):"
_CHAINED = ("The above exception was the direct cause", "During handling of the above exception")
_LEVELS = (b"DEBUG:", b"INFO:", b"WARNING:", b"ERROR:", b"CRITICAL:")
CONTINUATION = "part of the log record above (a traceback or continuation line)"
JOINED = "error text of the httpx request line above (joined to it)"


@dataclass
class _Record:
    """One log record: its first line (number, text) and its continuation lines."""

    lineno: int
    text: str
    too_long: bool = False
    more: list[int] = field(default_factory=list)
    last_exception: str = ""
    in_traceback: bool = False


def _records(stream: IO[bytes]) -> Iterator[_Record]:
    """The log records of ``stream`` (see module doc); blank lines belong to no record."""
    current: _Record | None = None
    for lineno, raw, too_long in iter_lines(stream, MAX_LINE_BYTES):
        text = raw.decode("utf-8", "surrogateescape")
        if not text.strip():
            continue
        if current is not None and _continues(current, text):
            current.more.append(lineno)
            continue
        if current is not None:
            yield current
        current = _Record(lineno, text, too_long)
        if TRACEBACK in text:
            current.in_traceback = True
    if current is not None:
        yield current


def _continues(record: _Record, text: str) -> bool:
    """Whether ``text`` continues ``record`` (updating its traceback state)."""
    if text.startswith(TRACEBACK) or text.startswith(_CHAINED):
        record.in_traceback = True
        return True
    if text[0] in " \t":
        return True
    if record.in_traceback and leading_time(text)[0] is None:
        record.in_traceback = False  # the exception line ends the traceback
        record.last_exception = text[:MAX_TEXT]
        return True
    return False


def _httpx(text: str) -> tuple[str, str, int] | None:
    """``(method, URL, status)`` of an httpx ``HTTP Request:`` line, else None."""
    at = text.find(HTTPX_MARK)
    if at < 0:
        return None
    method, _, rest = text[at + len(HTTPX_MARK):].partition(" ")
    url, _, rest = rest.partition(" ")
    version, _, rest = rest.lstrip('"').partition(" ")
    code = rest[:3]
    if not (method.isalpha() and url.startswith(("http://", "https://"))
            and version.startswith("HTTP/") and code.isdigit()):
        return None
    return method, url, int(code)


def _requests_url(line: str) -> str | None:
    """The URL of a requests/urllib3 message: ``HTTPSConnectionPool(host='h', port=443): ...
    url: /path``."""
    host_at, url_at = line.find("host='"), line.find("url: ")
    if host_at < 0 or url_at < 0:
        return None
    host = line[host_at + 6:].split("'", 1)[0]
    path = line[url_at + 5:].split(" ", 1)[0]
    scheme = "https" if "HTTPSConnectionPool" in line else "http"
    return f"{scheme}://{host}{path}" if host and path.startswith("/") else None


class _Reader:
    """The items of one file, in line order (see module doc)."""

    def __init__(self, name: str, ctx: ReadContext) -> None:
        self.name, self.ctx = name, ctx
        self.last_time: float | None = None
        self.open: tuple[_Record, Exchange] | None = None
        self.held: list[_Record] = []

    def _items(self, record: _Record, item: Item) -> Iterator[Item]:
        yield item
        for lineno in record.more:
            yield Item(f"{self.name}:{lineno}", reason=CONTINUATION)

    def _own(self, record: _Record, rest: str) -> Item:
        """The item of a record that is no httpx line: a transport failure, or a text-log line."""
        source = f"{self.name}:{record.lineno}"
        if record.too_long:
            return Item(source, reason=f"line longer than {MAX_LINE_BYTES} bytes")
        error = transport_error(record.last_exception.split(":", 1)[0].strip()) \
            if record.last_exception else None
        if error is not None:
            url = _requests_url(record.last_exception)
            rest = f"{rest} {url} {error}" if url and "://" not in rest else f"{rest} {error}"
        found = extract(rest[:MAX_TEXT], self.ctx, self.last_time)
        return Item(source, reason=found) if isinstance(found, str) \
            else build(found[0], self.ctx, source)

    def _flush(self, body: bytes | None = None) -> Iterator[Item]:
        if self.open is not None:
            record, exchange = self.open
            exchange.response_body = body
            yield from self._items(record, build(exchange, self.ctx, f"{self.name}:{record.lineno}"))
        held, self.open, self.held = self.held, None, []
        for index, record in enumerate(held):
            when, rest = leading_time(record.text)
            self.last_time = when if when is not None else self.last_time
            item = Item(f"{self.name}:{record.lineno}", reason=JOINED) if body is not None \
                and index == len(held) - 1 else self._own(record, rest)
            yield from self._items(record, item)

    def feed(self, record: _Record) -> Iterator[Item]:
        """The items ``record`` completes (this one's, or a held exchange and those after)."""
        when, rest = leading_time(record.text)
        found = None if record.too_long else _httpx(rest)
        if found is not None:
            yield from self._flush()
            self.last_time = when if when is not None else self.last_time
            if self.last_time is None:
                yield from self._items(record, Item(f"{self.name}:{record.lineno}",
                                                    reason="no timestamp on this or any earlier line"))
                return
            method, url, status = found
            self.open = (record, Exchange(time=self.last_time, method=method, url=url,
                                          request_headers={}, status=status,
                                          credentials_known=False))
            return
        if self.open is not None:
            self.held.append(record)
            body = oauth_json(rest[:MAX_TEXT]) if "{" in rest and not record.too_long else None
            if body is not None and isinstance(extract(rest[:MAX_TEXT], self.ctx, when), str):
                yield from self._flush(body[0].encode("utf-8", "surrogateescape"))
            elif len(self.held) >= JOIN_RECORDS:
                yield from self._flush()
            return
        self.last_time = when if when is not None else self.last_time
        yield from self._items(record, self._own(record, rest))

    def finish(self) -> Iterator[Item]:
        yield from self._flush()


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """One item per non-blank line of a Python log (see module doc)."""
    reader = _Reader(name, ctx or ReadContext())
    for record in _records(stream):
        yield from reader.feed(record)
    yield from reader.finish()


def sniff(head: bytes, name: str = "") -> bool:
    """True when the head holds an httpx ``HTTP Request: `` line or a ``Traceback (most recent
    call last):`` line, and its first line starts with a timestamp or a level prefix
    (``INFO:``, ``ERROR:`` ..., as ``logging.basicConfig`` writes them)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if HTTPX_MARK.encode() not in text and TRACEBACK.encode() not in text:
        return False
    first = text.split(b"\n", 1)[0].decode("utf-8", "replace")
    return first.encode().startswith(_LEVELS) or leading_time(first)[0] is not None
