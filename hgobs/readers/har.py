"""Reader for HAR 1.2 (HTTP Archive) files: each ``log.entries[i]`` -> one record or skip.

Browsers, proxies (mitmproxy, Charles, Fiddler) and API tools (Postman, Insomnia) export HAR.
A HAR is one JSON document, so the whole file is read (at most ``MAX_HAR_BYTES``; a larger file
is skipped with a reason). UTF-8 with or without a BOM, and UTF-16 with a BOM, are accepted.

Per entry (numbered from 1, source ``<file>#<n>``):

- time: ``startedDateTime`` (ISO 8601, the client's clock) as epoch seconds;
- duration: ``time`` minus ``timings.receive`` (send to response headers, as capture measures
  it), in seconds; ``time`` alone when ``receive`` is unknown;
- request: ``method``, ``url``, ``headers`` (HTTP/2 pseudo-headers such as ``:authority``
  dropped) and ``postData.text``, or the form rebuilt from ``postData.params`` when there is no
  text; no ``postData`` with ``bodySize`` 0 is an empty body, otherwise the body is unknown;
- response: ``status``, ``headers`` and ``content.text`` (base64-decoded when
  ``content.encoding`` is ``base64``); no text with ``content.size`` 0 is an empty body;
  ``status`` 0 means no response, and ``_error`` (Chrome's ``net::ERR_...``) names the error.

Entries that are not auth attempts are skipped with the reason ``hgobs.facts.attempt`` gives, so a browser
HAR full of stylesheets is accounted for. A file that is not JSON, is cut short, or has no
``log.entries`` list yields one skip ``<file>#0``; so does a HAR with no entries. A malformed
entry yields a skip for that entry only.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import urlencode

from hgobs.facts.exchange import Exchange, header_map
from hgobs.readers.base import Item, ReadContext
from hgobs.readers.raw import build
from hgobs.readers.spans import ends_early
from hgobs.readers.textlog import parse_time, safe_error_name

NAME = "har"
WHOLE_DOCUMENT = True
"""The whole (size-bounded) document is read before any item is yielded, so the items are put in
time order before the merge (exports are often newest first; ``hgobs.readers.read_file``)."""
MAX_HAR_BYTES = 256 << 20
"""Largest HAR file read (bytes); a larger one yields one skip ``<file>#0``."""

_HAR_START_RE = re.compile(r'^\{\s*"log"\s*:\s*\{')
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


class EntryError(ValueError):
    """A HAR entry lacks a field a record needs; the message is the skip reason."""


def decode(data: bytes) -> str:
    """The text of a HAR file by its BOM (UTF-8 when none). Raises ``UnicodeDecodeError``."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding)
    return data.decode("utf-8")


def _headers(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return []
    out: list[tuple[str, str]] = []
    for h in value:
        if isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str):
            if h["name"] and not h["name"].startswith(":"):
                out.append((h["name"], h["value"]))
    return out


def _request_body(request: dict[str, Any]) -> bytes | None:
    post = request.get("postData")
    if not isinstance(post, dict):
        return b"" if request.get("bodySize") == 0 else None
    text = post.get("text")
    if isinstance(text, str):
        return text.encode("utf-8", "surrogatepass")
    params = post.get("params")
    if isinstance(params, list):
        pairs = [(str(p.get("name", "")), str(p.get("value", ""))) for p in params if isinstance(p, dict)]
        return urlencode(pairs, errors="surrogatepass").encode()  # a lone surrogate, as text
    return None


def _response_body(content: Any) -> bytes | None:
    if not isinstance(content, dict):
        return None
    text = content.get("text")
    if not isinstance(text, str):
        return b"" if content.get("size") == 0 else None
    if str(content.get("encoding", "")).lower() == "base64":
        try:
            return base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            return None
    return text.encode("utf-8", "surrogatepass")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return float(value)


def exchange(entry: Any) -> Exchange:
    """The raw exchange of one HAR entry. Raises ``EntryError`` naming what is missing."""
    if not isinstance(entry, dict):
        raise EntryError("entry is not an object")
    request, response = entry.get("request"), entry.get("response")
    if not isinstance(request, dict):
        raise EntryError("entry has no request object")
    if not isinstance(request.get("method"), str) or not isinstance(request.get("url"), str):
        raise EntryError("entry has no request method or url")
    started = entry.get("startedDateTime")
    when = parse_time(started) if isinstance(started, str) else None
    if when is None:
        raise EntryError("entry has no valid startedDateTime")
    if response is not None and not isinstance(response, dict):
        raise EntryError("entry response is not an object")
    response = response or {}
    status = response.get("status", 0)
    if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status <= 999:
        raise EntryError("entry has no valid response status")
    total = _number(entry.get("time"))
    timings = entry.get("timings")
    receive = _number(timings.get("receive")) if isinstance(timings, dict) else None
    duration = None if total is None else max(0.0, total - (receive or 0.0)) / 1000.0
    error = response.get("_error")
    return Exchange(
        time=when, method=request["method"], url=request["url"],
        request_headers=header_map(_headers(request.get("headers"))),
        request_body=_request_body(request), status=status or None,
        response_headers=header_map(_headers(response.get("headers"))),
        response_body=_response_body(response.get("content")) if status else None,
        duration_s=duration,
        error=safe_error_name(error if isinstance(error, str) else None) if not status else None)


def _entries(stream: IO[bytes], max_bytes: int) -> list[Any] | str:
    """The ``log.entries`` list of a HAR stream, or why there is none."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        return f"HAR larger than {max_bytes} bytes"
    if not data.strip():
        return "empty file"
    try:
        text = decode(data)
    except UnicodeDecodeError as exc:
        return f"not UTF-8 or UTF-16 text (byte {exc.start})"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if ends_early(text, exc):
            return f"JSON ends early at line {exc.lineno} (file cut short?)"
        return f"not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"
    except RecursionError:
        return "JSON nested too deeply"
    log = doc.get("log") if isinstance(doc, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        return "not a HAR (no log.entries list)"
    if not entries:
        return "HAR has no entries"
    return entries


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None, *,
         max_bytes: int = MAX_HAR_BYTES) -> Iterator[Item]:
    """Items of a HAR ``stream`` named ``name``: one per entry, or one skip ``<name>#0``."""
    ctx = ctx or ReadContext()
    entries = _entries(stream, max_bytes)
    if isinstance(entries, str):
        yield Item(f"{name}#0", reason=entries)
        return
    for i, entry in enumerate(entries, start=1):
        source = f"{name}#{i}"
        try:
            raw = exchange(entry)
        except EntryError as exc:
            yield Item(source, reason=str(exc))
            continue
        yield build(raw, ctx, source)


def sniff(head: bytes, name: str = "") -> bool:
    """True for a ``.har`` file name, or when the first bytes (past any BOM and whitespace)
    open a JSON object whose first member is ``"log": {`` (as HAR 1.2 writes it)."""
    if name.lower().endswith((".har", ".har.gz")):
        return True
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            text = head[len(bom):].decode(encoding, "ignore")
            break
    else:
        text = head.decode("utf-8", "ignore")
    return _HAR_START_RE.match(text.lstrip()) is not None
