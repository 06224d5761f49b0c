"""Application-log events (fields of a JSON or logfmt line) -> the HTTP exchange they name.

Logging libraries define no HTTP fields, so an event is read by the key spellings that ECS,
Bunyan, pino(-http) and people's own structlog / python-json-logger calls use. Nested objects
are read as dotted keys (``{"http": {"response": {"status_code": 400}}}`` is
``http.response.status_code``); keys are matched in any letter case, the first spelling listed
that the event holds wins:

- time: ``@timestamp``, ``timestamp``, ``time``, ``ts``, ``asctime``, ``datetime``, ``date``
  (ISO 8601 text, no zone meaning UTC; or epoch seconds or milliseconds, as pino writes it);
- method: ``http.request.method``, ``req.method``, ``request.method``, ``http.method``,
  ``method``, ``request_method``;
- URL: ``url.full``, ``url.original``, ``req.url``, ``request.url``, ``http.url``, ``url``,
  ``request_url``, ``uri``, ``endpoint``; a path alone (pino-http's ``req.url``) is put on the
  ``host`` request header (``http`` for a loopback host, else ``https``); ECS's ``url.scheme`` +
  ``url.domain`` + ``url.port`` + ``url.path`` + ``url.query`` when there is no full URL;
- status: ``http.response.status_code``, ``res.statusCode``, ``response.status_code``,
  ``response.status``, ``http.status_code``, ``status_code``, ``statusCode``, ``status``,
  ``http_status``;
- response text: ``http.response.body.content``, ``res.body``, ``response.body``,
  ``response_body``, ``response``, ``body``, ``error``, ``error.message``, ``err.message``, then
  the message (``message``, ``msg``, ``event``): the first that holds an OAuth-shaped JSON
  object (``hgobs.readers.textlog.oauth_json``), or is one;
- headers: ``req.headers.*``/``request.headers.*``/``http.request.headers.*``/
  ``request_headers.*`` (request), ``res.headers.*``/``response.headers.*``/
  ``http.response.headers.*``/``response_headers.*`` (response), Bunyan's raw ``res.header``
  block, and ``www_authenticate``/``retry_after`` keys;
- a failure without a status: ``error.type``, ``err.code``, ``err.type``, ``err.name``,
  ``exception.type``, ``exc_type``, or the last line of a traceback (``error.stack_trace``,
  ``exception``, ``exc_info``, ``err.stack``, ``stack_trace``, ``traceback``), counted only when
  it names a transport failure (``transport_error``: connect, DNS, TLS, timeout, reset).

An event without URL keys whose message names one is read as a text-log line
(``hgobs.readers.textlog.extract``). Work is bounded: at most ``MAX_FIELDS`` keys and
``MAX_DEPTH`` levels per event, texts cut to ``MAX_TEXT`` characters before any matching.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

from hgobs.facts.exchange import Exchange, header_map
from hgobs.jsontext import REFUSED, fast_loads
from hgobs.profiles import TOKEN_EXCHANGE
from hgobs.readers.base import Item, ReadContext
from hgobs.readers.raw import build
from hgobs.readers.textlog import (
    extract,
    iter_lines,
    missing_part,
    oauth_json,
    parse_time,
    safe_error_name,
)

MAX_FIELDS = 512
"""Keys (nested ones included) read of one event; the rest are not looked at."""
MAX_DEPTH = 8
"""Nesting levels of one event read."""
MAX_TEXT = 64 << 10
"""Characters of one text value looked at (a response body, a traceback)."""
MAX_LINE_BYTES = 1 << 20
"""Longest line read (bytes); a longer one is skipped with a reason (never held whole)."""

TIME_KEYS = ("@timestamp", "timestamp", "time", "ts", "asctime", "datetime", "date")
METHOD_KEYS = ("http.request.method", "req.method", "request.method", "http.method", "method",
               "request_method")
URL_KEYS = ("url.full", "url.original", "req.url", "request.url", "http.url", "url",
            "request_url", "uri", "endpoint")
STATUS_KEYS = ("http.response.status_code", "res.statuscode", "response.status_code",
               "response.status", "http.status_code", "status_code", "statuscode", "status",
               "http_status")
BODY_KEYS = ("http.response.body.content", "res.body", "response.body", "response_body",
             "response", "body", "error", "error.message", "err.message")
MESSAGE_KEYS = ("message", "msg", "event")
ERROR_NAME_KEYS = ("error.type", "err.code", "err.type", "err.name", "exception.type",
                   "exc_type")
TRACEBACK_KEYS = ("error.stack_trace", "exception", "exc_info", "err.stack", "stack_trace",
                  "traceback")
REQUEST_HEADERS = ("req.headers.", "request.headers.", "http.request.headers.",
                   "request_headers.")
RESPONSE_HEADERS = ("res.headers.", "response.headers.", "http.response.headers.",
                    "response_headers.")
_LOOPBACK = ("127.", "localhost", "[::1]")

TRANSPORT_NAMES = frozenset({
    # httpx / httpcore
    "ConnectError", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout", "ReadError",
    "WriteError", "RemoteProtocolError", "ProxyError", "NetworkError", "TimeoutException",
    "TransportError", "UnsupportedProtocol",
    # the standard library, requests, urllib3, aiohttp
    "ConnectionError", "ConnectionRefusedError", "ConnectionResetError", "ConnectionAbortedError",
    "BrokenPipeError", "TimeoutError", "timeout", "gaierror", "herror", "SSLError",
    "SSLCertVerificationError", "SSLZeroReturnError", "URLError", "RemoteDisconnected",
    "ConnectTimeoutError", "ReadTimeoutError", "NewConnectionError", "NameResolutionError",
    "MaxRetryError", "ProtocolError", "ChunkedEncodingError", "ClientConnectorError",
    "ServerDisconnectedError", "ServerTimeoutError", "ClientOSError",
    # Node.js error codes (err.code)
    "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH",
    "ENETUNREACH", "EPIPE", "ECONNABORTED", "ESOCKETTIMEDOUT", "CERT_HAS_EXPIRED",
    "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UND_ERR_CONNECT_TIMEOUT",
    "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_SOCKET",
})
"""Exception class names and error codes of a request that got no HTTP answer."""


def transport_error(name: Any) -> str | None:
    """The exception name (module prefix dropped) when ``name`` names a transport failure
    (``TRANSPORT_NAMES``, or a name ending in ``Timeout``/``TimeoutError``/``ConnectionError``),
    else None."""
    if not isinstance(name, str) or not name or len(name) > 200:
        return None
    short = name.strip().rsplit(".", 1)[-1]
    if short in TRANSPORT_NAMES or short.endswith(("Timeout", "TimeoutError", "ConnectionError")):
        return safe_error_name(short)
    return None


def traceback_error(text: Any) -> str | None:
    """The transport failure a traceback's last exception line names (``httpx.ConnectError:
    [Errno 111] ...``), else None. Only the last ``MAX_TEXT`` characters are looked at."""
    if not isinstance(text, str):
        return None
    for line in reversed(text[-MAX_TEXT:].split("\n")):
        if not line.strip():
            continue
        if line[0] in " \t":  # a stack frame: the exception line is not last
            return None
        return transport_error(line.split(":", 1)[0].strip())
    return None


def flatten(event: Mapping[str, Any]) -> dict[str, Any]:
    """``event`` with nested objects also under dotted keys, all keys lower-cased (the first of
    two keys that differ only in case wins); at most ``MAX_FIELDS`` keys, ``MAX_DEPTH`` levels.
    A nested object stays under its own key too (a logged response body object)."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Mapping[str, Any], int]] = [("", event, 0)]
    while stack and len(out) < MAX_FIELDS:
        prefix, obj, depth = stack.pop()
        for key, value in obj.items():
            if len(out) >= MAX_FIELDS:
                break
            name = f"{prefix}{str(key).lower()}"
            out.setdefault(name, value)
            if isinstance(value, dict) and depth + 1 < MAX_DEPTH:
                stack.append((name + ".", value, depth + 1))
    return out


def _first(fields: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    return next((fields[k] for k in keys if fields.get(k) not in (None, "")), None)


def event_time(fields: Mapping[str, Any]) -> float | None:
    """The event's time as epoch seconds (see module doc), or None."""
    value = _first(fields, TIME_KEYS)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if value != value or value <= 0:
            return None
        return value / 1000.0 if value > 1e11 else float(value)
    return parse_time(value[:64]) if isinstance(value, str) else None


def _status(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 3:
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return value
    return None


def _url(fields: Mapping[str, Any]) -> str | None:
    url = _first(fields, URL_KEYS)
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return url[:MAX_TEXT]
    if isinstance(url, str) and url.startswith("/"):
        host = _first(fields, tuple(p + "host" for p in REQUEST_HEADERS))
        if isinstance(host, str) and host and "/" not in host:
            scheme = "http" if host.startswith(_LOOPBACK) else "https"
            return f"{scheme}://{host}{url[:MAX_TEXT]}"
        return None
    domain, path = fields.get("url.domain"), fields.get("url.path")
    if isinstance(domain, str) and domain and isinstance(path, str) and path.startswith("/"):
        scheme = fields.get("url.scheme")
        port = fields.get("url.port")
        query = fields.get("url.query")
        netloc = f"{domain}:{port}" if isinstance(port, int) and not isinstance(port, bool) else domain
        tail = f"?{query}" if isinstance(query, str) and query else ""
        return f"{scheme if scheme in ('http', 'https') else 'https'}://{netloc}{path}{tail}"[:MAX_TEXT]
    return None


def _body(fields: Mapping[str, Any]) -> bytes | None:
    """The OAuth-shaped JSON the event's response or message text holds (see module doc)."""
    for key in (*BODY_KEYS, *MESSAGE_KEYS):
        value = fields.get(key)
        if isinstance(value, dict):
            try:
                value = json.dumps(value)[:MAX_TEXT]
            except (TypeError, ValueError, RecursionError):
                continue
        if isinstance(value, str) and "{" in value:
            found = oauth_json(value[:MAX_TEXT])
            if found is not None:
                return found[0].encode("utf-8", "surrogateescape")
    return None


def _headers(fields: Mapping[str, Any], prefixes: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for key, value in fields.items():
        prefix = next((p for p in prefixes if key.startswith(p)), None)
        if prefix is None or not isinstance(value, (str, int)) or isinstance(value, bool):
            continue
        out.append((key[len(prefix):], str(value)[:MAX_TEXT]))
    return out


def _raw_header_block(value: Any) -> list[tuple[str, str]]:
    """Header fields of a raw response head (Bunyan's ``res.header``: status line, then
    ``Name: value`` lines)."""
    if not isinstance(value, str):
        return []
    out = []
    for line in value[:MAX_TEXT].split("\n")[1:]:
        name, sep, rest = line.partition(":")
        if sep and name.strip() and " " not in name.strip():
            out.append((name.strip(), rest.strip()))
    return out


def event_exchange(fields: Mapping[str, Any], ctx: ReadContext, when: float | None
                   ) -> Exchange | str:
    """The exchange one log event names, or why it names none (a reason never quoting it).

    ``fields`` is the event ``flatten`` gave; ``when`` its time (epoch seconds: its own, else
    the last one seen), or None."""
    url = _url(fields)
    if url is None:
        message = _first(fields, MESSAGE_KEYS)
        if isinstance(message, str) and "://" in message:
            found = extract(message[:MAX_TEXT], ctx, when)
            return found if isinstance(found, str) else found[0]
    status = _status(_first(fields, STATUS_KEYS))
    error = None
    if status is None:
        error = next((e for k in ERROR_NAME_KEYS if (e := transport_error(fields.get(k)))), None) \
            or next((e for k in TRACEBACK_KEYS if (e := traceback_error(fields.get(k)))), None)
    missing = missing_part(url, status, error is not None, when)
    if missing is not None or url is None or when is None:
        return missing or "no HTTP exchange found"
    response = _headers(fields, RESPONSE_HEADERS) + _raw_header_block(fields.get("res.header"))
    for key, name in (("www_authenticate", "www-authenticate"), ("retry_after", "retry-after")):
        if isinstance(fields.get(key), (str, int)) and not isinstance(fields.get(key), bool):
            response.append((name, str(fields[key])[:MAX_TEXT]))
    request = _headers(fields, REQUEST_HEADERS)
    known = any(name.lower() in ("authorization", "authorisation", "x-authorization")
                for name, _ in request)
    method = _first(fields, METHOD_KEYS)
    kind = ctx.profiles.match(url)[0]
    return Exchange(
        time=when, method=method.upper() if isinstance(method, str) and method.isalpha()
        else ("POST" if kind == TOKEN_EXCHANGE else "GET"), url=url,
        request_headers=header_map(request), status=status,
        response_headers=header_map(response), response_body=_body(fields),
        error=error, credentials_known=known)


def parse_event(raw: bytes) -> dict[str, Any] | str:
    """One line as a JSON object, or the reason it is none (never quoting it)."""
    obj = fast_loads(raw)
    if obj is REFUSED:
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            return f"not UTF-8 (byte {exc.start})"
        except RecursionError:
            return "not JSON (nested too deeply)"
        except ValueError as exc:
            return f"not JSON ({type(exc).__name__} at column {getattr(exc, 'colno', '?')})"
    return obj if isinstance(obj, dict) else "not a JSON object"


def read_events(stream: IO[bytes], name: str, ctx: ReadContext | None = None,
                parse: Callable[[bytes], dict[str, Any] | str] | None = None) -> Iterator[Item]:
    """One ``Item`` per non-blank line of an application log (see module doc): a record, or a
    skip with the reason; an event without a time takes the last one seen. ``parse`` turns
    one line into its event or the reason it is none (default ``parse_event``: JSON lines;
    logfmt passes its own)."""
    ctx = ctx or ReadContext()
    parse = parse or parse_event
    last_time: float | None = None
    for lineno, raw, too_long in iter_lines(stream, MAX_LINE_BYTES):
        source = f"{name}:{lineno}"
        if too_long:
            yield Item(source, reason=f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        if not raw.strip():
            continue
        event = parse(raw)
        if isinstance(event, str):
            yield Item(source, reason=event)
            continue
        fields = flatten(event)
        when = event_time(fields)
        last_time = last_time if when is None else when
        found = event_exchange(fields, ctx, last_time)
        yield Item(source, reason=found) if isinstance(found, str) else build(found, ctx, source)


def first_event(head: bytes) -> dict[str, Any] | None:
    """The JSON object on the first line of ``head`` (a sniffed head), or None; a first line
    longer than the head is not read."""
    line, newline, _ = head.lstrip().partition(b"\n")
    if (not newline and len(head) >= 4096) or not line.startswith(b"{"):
        return None
    event = parse_event(line.rstrip())
    return event if isinstance(event, dict) else None
