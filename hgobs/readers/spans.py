"""Spans and log records of any trace format -> auth attempt records (OTLP, Jaeger, Zipkin).

``SpanMapper`` turns each decoded ``Span`` (or log record) into exactly one ``Item``:

- **our spans** (attribute ``hgobs.endpoint.kind``): the ``hgobs.<field>`` attributes with the
  prefix stripped (``hgobs.schema`` fields only), each typed by ``coerce`` (what does not fit is
  dropped), plus the resource's ``service.name`` when absent and the span's ``trace_id`` and
  ``span_id``; ``time`` falls back to the span's start when missing.
- **plain HTTP client spans** (kind client, a method, a URL; stable or older HTTP semantic
  conventions) become a plain ``hgobs.facts.exchange.Exchange``, with captured headers
  (``http.request.header.<name>``/``http.response.header.<name>``, ``-`` or ``_`` in names; the
  ``[REDACTED]`` values of sanitized headers ignored) and no bodies (``hgobs.facts.attempt`` then says
  nothing about them); ``presented.*`` is removed when no credential header was captured.
- skipped: an HTTP client span of an hgobs attempt in the same input (a child of our token
  exchange span, the parent of our ``api_call`` span), so one attempt is one record; a span
  whose trace and span id were already read; a log record whose attempt's span is in the input.

Call ``SpanMapper.note`` on every span of an input before its first ``item``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hgobs.facts.exchange import Exchange, header_map
from hgobs.facts.text import valid_text
from hgobs.readers import raw
from hgobs.readers.base import Item, ReadContext
from hgobs.schema import ATTRIBUTE_PREFIX, FIELDS_BY_NAME, Record

MARKER = ATTRIBUTE_PREFIX + "endpoint.kind"
"""The attribute that makes a span (or log record) one of ours; ``MARKER.encode()`` is what
readers look for in raw bytes."""
ENDPOINT_KINDS = ("token_exchange", "api_call")
REQUEST_HEADER = "http.request.header."
RESPONSE_HEADER = "http.response.header."
SANITIZED = "[REDACTED]"
"""The value OpenTelemetry instrumentations put in place of a sanitized header."""
_INT_RE = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Span:
    """One span of a trace file, decoded.

    ``trace_id`` is 32 and ``span_id``/``parent_id`` 16 lower-case hex digits (``parent_id`` is
    None for a root span); ``kind`` is ``client``, ``server``, ``internal``, ``producer``,
    ``consumer`` or ``""`` when unknown; ``start_s`` is epoch seconds and ``duration_s`` seconds
    (None when unknown); ``attributes`` maps keys to decoded values (str, int, float, bool,
    bytes, lists, dicts); ``service`` is the ``service.name`` of its resource or process.
    """

    trace_id: str
    span_id: str
    parent_id: str | None = None
    kind: str = ""
    start_s: float | None = None
    duration_s: float | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    service: str | None = None


def hex_id(value: Any, digits: int) -> str | None:
    """A trace (32) or span (16 ``digits``) id as lower-case hex, left-padded with zeros (Jaeger
    drops leading zeros); None when it is not hex, too long, or all zeros (invalid)."""
    if not isinstance(value, str) or not value or len(value) > digits:
        return None
    try:
        if int(value, 16) == 0:
            return None
    except ValueError:
        return None
    return value.lower().zfill(digits)


def decode(data: bytes) -> tuple[str, int | None]:
    """JSON bytes as text (UTF-8/16/32 detected as RFC 8259 says, BOM dropped) and the byte
    offset where undecodable bytes begin (None when everything decodes)."""
    encoding = json.detect_encoding(data[:4])
    try:
        return data.decode(encoding).lstrip("\ufeff"), None
    except UnicodeDecodeError as exc:
        return data[:exc.start].decode(encoding, "ignore").lstrip("\ufeff"), exc.start


def ends_early(text: str, error: json.JSONDecodeError) -> bool:
    """True when JSON ``text`` fails because it is cut short (inside a string, or within the
    last few characters of its last line, e.g. ``tru``), not because of what it holds."""
    if error.msg.startswith("Extra data"):  # a whole value, then something after it
        return False
    rest = text[error.pos:].rstrip()
    return error.msg.startswith("Unterminated string") or (len(rest) <= 16 and "\n" not in rest)


def head_text(head: bytes) -> str:
    """The first bytes of a file as text, for sniffing (encoding detected, BOM dropped)."""
    return head.decode(json.detect_encoding(head[:4]), "ignore").lstrip("\ufeff")


# -- values -------------------------------------------------------------------------------------

INT64 = 2**63
"""Attribute integers are int64 (OTLP, Jaeger); anything larger is not a number we keep."""


def _number(value: Any) -> int | float | None:
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.fullmatch(text):
            if len(text) > 20:
                return None
            value = int(text)
        else:
            try:
                value = float(text)
            except ValueError:
                return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):
        return value if -INT64 <= value < INT64 else None
    return value if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    number = _number(value)
    if isinstance(number, int):
        return number
    return int(number) if number is not None and number.is_integer() else None


def seconds(value: Any, per_second: int) -> float | None:
    """A time or duration in ``1/per_second`` units (a number or digit string) as seconds."""
    number = _number(value)
    return None if number is None else number / per_second


def _json_strings(text: str) -> list[str] | None:
    """The list of a JSON array of strings (how exporters write array tags), else None."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, list):
        return list(value) if all(isinstance(v, str) for v in value) else None
    if not isinstance(value, str):
        return None
    parsed = _json_strings(value) if value.lstrip().startswith("[") else None
    return parsed if parsed is not None else [p.strip() for p in value.split(",") if p.strip()]


def _str_or_strings(value: Any) -> str | list[str] | None:
    if isinstance(value, str):
        parsed = _json_strings(value) if value.lstrip().startswith("[") else None
        return value if parsed is None else parsed
    return _strings(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "str": lambda v: v if isinstance(v, str) else None,
    "bool": lambda v: v if isinstance(v, bool) else {"true": True, "false": False}.get(
        v.strip().lower() if isinstance(v, str) else ""),
    "int": _int,
    "float": lambda v: None if (n := _number(v)) is None else float(n),
    "number": _number,
    "list[str]": _strings,
    "str|list[str]": _str_or_strings,
}


def coerce(type_: str, value: Any) -> Any:
    """``value`` as the documented type of a schema field (``Field.type``), or None.

    Typed formats give native values; string-only formats (Zipkin tags, array attributes that
    exporters turn into JSON text) give text, which is parsed back: ``"401"`` for an ``int``,
    ``"true"`` for a ``bool``, ``'["a","b"]'`` or ``"a,b"`` for a ``list[str]``.
    """
    converter = _CONVERTERS.get(type_)
    return converter(value) if converter is not None else None


_ATTRIBUTE_FIELDS = {ATTRIBUTE_PREFIX + f.name: (f.name, f.type == "str", _CONVERTERS[f.type])
                     for f in FIELDS_BY_NAME.values()}
"""Per ``hgobs.<field>`` attribute key: the field name, whether it is text, its converter."""


def attempt_record(attributes: Mapping[str, Any]) -> Record:
    """The record carried by ``hgobs.<field>`` attributes, each typed by ``coerce``, lone
    surrogates in its text replaced by U+FFFD (``hgobs.facts.text.valid_text``, as capture
    and the JSON Lines reader do)."""
    record: Record = {}
    fields = _ATTRIBUTE_FIELDS
    for key, value in attributes.items():
        found = fields.get(key)
        if found is None or value is None:
            continue
        name, text, convert = found
        if text and value.__class__ is str:  # the usual text field: as it is
            record[name] = value
            continue
        typed = convert(value)
        if typed is not None:
            record[name] = typed
    valid_text(record)  # a lone surrogate (JSON allows one) would break every report format
    return record


def _valid(record: Record, fallback_time: float | None) -> str | None:
    """Complete ``record`` in place; the reason it is not a usable record, else None."""
    if record.get("endpoint.kind") not in ENDPOINT_KINDS:
        return "hgobs attributes without a valid 'endpoint.kind'"
    if "time" not in record and fallback_time is not None:
        record["time"] = fallback_time
    if not isinstance(record.get("time"), (int, float)):
        return "hgobs attributes without a numeric 'time'"
    return None


# -- plain HTTP client spans ----------------------------------------------------------------------

def _first(attrs: Mapping[str, Any], *keys: str) -> Any:
    return next((attrs[k] for k in keys if attrs.get(k) not in (None, "")), None)


def span_url(attrs: Mapping[str, Any]) -> str | None:
    """The request URL of an HTTP client span: ``url.full``/``http.url``, else put together
    from scheme, ``server.address``/``net.peer.name``/``http.host``, port and path."""
    url = _first(attrs, "url.full", "http.url")
    if isinstance(url, str):
        return url
    host = _first(attrs, "server.address", "net.peer.name", "http.host")
    if not isinstance(host, str):
        return None
    port = _int(_first(attrs, "server.port", "net.peer.port"))
    scheme = _first(attrs, "url.scheme", "http.scheme")
    if not isinstance(scheme, str):
        scheme = "http" if port == 80 else "https"
    netloc = host if port is None or ":" in host else f"{host}:{port}"
    target = _first(attrs, "http.target", "url.path", "http.path")
    target = target if isinstance(target, str) else "/"
    query = attrs.get("url.query")
    if isinstance(query, str) and query and "?" not in target:
        target = f"{target}?{query}"
    return f"{scheme}://{netloc}{target if target.startswith('/') else '/' + target}"


def _headers(attrs: Mapping[str, Any], prefix: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in attrs.items():
        if not key.startswith(prefix) or len(key) == len(prefix):
            continue
        name = key[len(prefix):].replace("_", "-")
        if isinstance(value, str):
            values = _json_strings(value) if value.lstrip().startswith("[") else None
            values = [value] if values is None else values
        elif isinstance(value, list):
            values = [v for v in value if isinstance(v, str)]
        else:
            continue
        out.extend((name, v) for v in values if v != SANITIZED)
    return out


def http_exchange(span: Span) -> Exchange | str:
    """The HTTP exchange a client span describes (no bodies), or why it is not one."""
    attrs = span.attributes
    method = _first(attrs, "http.request.method_original", "http.request.method", "http.method")
    if span.kind != "client" or not isinstance(method, str):
        return "not an HTTP client span"
    url = span_url(attrs)
    if url is None:
        return "HTTP client span without a URL"
    if span.start_s is None:
        return "HTTP client span without a start time"
    status = _int(_first(attrs, "http.response.status_code", "http.status_code"))
    error = attrs.get("error.type")
    return Exchange(
        time=span.start_s, method=method, url=url,
        request_headers=header_map(_headers(attrs, REQUEST_HEADER)),
        status=status, response_headers=header_map(_headers(attrs, RESPONSE_HEADER)),
        duration_s=span.duration_s,
        error=error if isinstance(error, str) and status is None else None)


def _drop_unknown(record: Record) -> None:
    """Remove ``presented.*`` when no credential header was captured: a span shows only the
    headers its instrumentation was told to capture, so "absent" is not known.

    (``Exchange.credentials_known`` cannot say this: whether the credential header is among
    the captured ones is only known once the record is built, misspellings included.)
    """
    if record.get("presented.kind") == "absent":
        for name in [k for k in record if k.startswith("presented.")]:
            del record[name]


class SpanMapper:
    """Turns the spans and log records of one input into items (see module doc)."""

    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self._ours: set[tuple[str, str]] = set()
        self._api_parents: set[tuple[str, str]] = set()
        self._read: set[tuple[Any, Any]] = set()

    def note(self, span: Span) -> None:
        """Remember ``span`` if it is one of ours (call for every span before ``item``)."""
        kind = span.attributes.get(MARKER)
        if kind is not None:
            self._ours.add((span.trace_id, span.span_id))
            if kind == "api_call" and span.parent_id:
                self._api_parents.add((span.trace_id, span.parent_id))

    def _done(self, record: Record, what: str, source: str) -> Item:
        """The item of a finished ``record``, unless its trace and span id were read before."""
        key = (record.get("trace_id"), record.get("span_id"))
        if key[0] and key[1]:
            if key in self._read:
                return Item(source, reason=f"{what} already read (same trace and span id)")
            self._read.add(key)
        return Item(source, record=record)

    def item(self, span: Span, source: str) -> Item:
        """The item of one span: our record, a record built from HTTP, or a skip."""
        if MARKER in span.attributes:
            record = attempt_record(span.attributes)
            reason = _valid(record, span.start_s)
            if reason is not None:
                return Item(source, reason=reason)
            if span.service and "service.name" not in record:
                record["service.name"] = span.service
        else:
            exchange = http_exchange(span)
            if isinstance(exchange, str):
                return Item(source, reason=exchange)
            if ((span.trace_id, span.parent_id) in self._ours
                    or (span.trace_id, span.span_id) in self._api_parents):
                return Item(source, reason="HTTP span of an hgobs attempt already read")
            item = raw.build(exchange, self.ctx, source)
            if item.record is None:
                return item
            record = item.record
            _drop_unknown(record)
            if span.service:
                record["service.name"] = span.service
        record["trace_id"], record["span_id"] = span.trace_id, span.span_id
        return self._done(record, "span", source)

    def log_item(self, attributes: Mapping[str, Any], service: str | None,
                 time_s: float | None, source: str) -> Item:
        """The item of one log record: our record when it has hgobs attributes, else a skip."""
        if MARKER not in attributes:
            return Item(source, reason="log record without hgobs attributes")
        record = attempt_record(attributes)
        reason = _valid(record, time_s)
        if reason is not None:
            return Item(source, reason=reason)
        if (record.get("trace_id"), record.get("span_id")) in self._ours:
            return Item(source, reason="log record of an hgobs attempt whose span is read")
        if service and "service.name" not in record:
            record["service.name"] = service
        return self._done(record, "log record", source)


def map_units(units: list[tuple[str, Span | str]], ctx: ReadContext) -> Iterator[Item]:
    """Items of a whole document's units, in order: every span is noted first (so an HTTP span
    of an attempt read elsewhere in the file is recognised), then each unit becomes an item;
    a unit that is a string is the reason its part of the input was skipped."""
    mapper = SpanMapper(ctx)
    for _, unit in units:
        if isinstance(unit, Span):
            mapper.note(unit)
    for source, unit in units:
        yield mapper.item(unit, source) if isinstance(unit, Span) else Item(source, reason=unit)
