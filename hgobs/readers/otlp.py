"""Reader for OTLP JSON: ``TracesData``/``LogsData`` objects, one per line.

Accepted, line by line:

- the OTLP/JSON encoding as the OpenTelemetry Collector's ``file`` exporter and the SDKs' file
  exporters write it: ``{"resourceSpans": [{"resource": {"attributes": [...]}, "scopeSpans":
  [{"scope": {...}, "spans": [...]}]}]}`` or ``{"resourceLogs": [... "scopeLogs": [{
  "logRecords": [...]}]]}``; hex ``traceId``/``spanId``; ``kind`` an integer (3 = client);
  int64 values (``intValue``, ``startTimeUnixNano`` in ns since the epoch) as strings or
  numbers; attribute values ``{"stringValue"}``, ``{"intValue"}``, ``{"doubleValue"}``,
  ``{"boolValue"}``, ``{"arrayValue": {"values": [...]}}``, ``{"kvlistValue"}``, ``{"bytesValue"}``;
- the protobuf JSON mapping of ``ExportTraceServiceRequest``/``ExportLogsServiceRequest``
  (``MessageToJson``): the same shape with base64 ids and enum names (``SPAN_KIND_CLIENT``);
  snake_case names (``resource_spans``) and the pre-1.0 ``instrumentationLibrarySpans`` too;
- one object pretty-printed over several lines: a line holding only ``{`` opens it and a line
  holding only ``}`` at its start closes it (as ``json.dumps(indent=...)`` writes it).

Attribute values are read by ``hgobs.readers.otlp_values``; spans and log records become records
through ``hgobs.readers.spans`` (log records of the ``hgobs`` logger carry the same ``hgobs.*``
attributes as our spans).

Items, in input order, one per span and per log record: source ``<file>:<line>`` when the line
holds one, ``<file>:<line>#<k>`` (k from 1, spans then log records, in order) when it holds
several; a line that cannot be read, or holds neither, is one skip at ``<file>:<line>``.

The input is read twice: first the lines that mention ``hgobs.endpoint.kind`` are parsed to find
our spans (an HTTP span may come before the hgobs span it belongs to), then every line. A stream
that cannot seek (stdin), or UTF-16/32 text, is first copied, as UTF-8, to a temporary file.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any, NamedTuple

from hgobs.jsontext import REFUSED, fast_loads
from hgobs.readers.base import Item, ReadContext
from hgobs.readers.files import READ_ERRORS
from hgobs.readers.otlp_values import attributes, get_field, list_field
from hgobs.readers.spans import (
    MARKER,
    Span,
    SpanMapper,
    ends_early,
    head_text,
    hex_id,
    seconds,
)

NAME = "otlp-json"
WHOLE_DOCUMENT = False
"""Read line by line, in file order (see ``hgobs.readers.base.Reader``)."""
MAX_LINE_BYTES = 64 << 20
"""Longest line (or pretty-printed object) read, in bytes; longer ones are skipped."""
SPOOL_MEMORY_BYTES = 16 << 20
"""Bytes of a copied stream kept in memory before the copy moves to disk."""
_SNIFF = re.compile(r'\s*\{\s*"resource_?(?:[Ss]pans|[Ll]ogs)"\s*:')
_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_BOM = codecs.BOM_UTF8


class LogUnit(NamedTuple):
    """One OTLP log record: its ``attributes``, the resource's ``service`` name and the
    record's ``time_s`` (epoch seconds)."""

    attributes: dict[str, Any]
    service: str | None
    time_s: float | None


Unit = Span | LogUnit | str
"""What one span or log record entry of a line is: decoded, or the reason it is not."""


def _id(value: Any, size: int) -> str | None:
    """A trace (16 bytes) or span (8 ``size``) id: hex, or base64 (protobuf JSON)."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) == 2 * size:
        return hex_id(value, 2 * size)
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return hex_id(raw.hex(), 2 * size) if len(raw) == size else None


def _nanos(entry: dict[str, Any], *names: str) -> float | None:
    """The first non-zero of the ns-since-epoch fields ``names``, in seconds."""
    for name in names:
        value = seconds(get_field(entry, name), 1_000_000_000)
        if value:
            return value
    return None


def _span(entry: Any, service: str | None) -> Span | str:
    if not isinstance(entry, dict):
        return "span entry is not a JSON object"
    trace_id, span_id = _id(get_field(entry, "traceId"), 16), _id(get_field(entry, "spanId"), 8)
    if trace_id is None or span_id is None:
        return "span without a valid traceId and spanId"
    kind = get_field(entry, "kind")
    if isinstance(kind, str):
        kind = kind.removeprefix("SPAN_KIND_").lower()
    start, end = _nanos(entry, "startTimeUnixNano"), _nanos(entry, "endTimeUnixNano")
    return Span(trace_id, span_id, _id(get_field(entry, "parentSpanId"), 8),
                kind=_KINDS.get(kind, "") if isinstance(kind, int) else (kind or ""),
                start_s=start, duration_s=end - start if start and end and end >= start else None,
                attributes=attributes(get_field(entry, "attributes")), service=service)


def _log(entry: Any, service: str | None) -> LogUnit | str:
    if not isinstance(entry, dict):
        return "log record entry is not a JSON object"
    return LogUnit(attributes(get_field(entry, "attributes")), service,
                   _nanos(entry, "timeUnixNano", "observedTimeUnixNano"))


_SHAPES = (("resourceSpans", ("scopeSpans", "instrumentationLibrarySpans"), "spans", _span),
           ("resourceLogs", ("scopeLogs", "instrumentationLibraryLogs"), "logRecords", _log))


def _marked_span(entry: Any, service: str | None) -> Span | None:
    """``_span`` of a span entry that has our marker attribute, carrying that attribute only
    (all ``SpanMapper.note`` reads); None for any other entry. The first pass over a file
    needs no more, and most attributes of most spans are then never converted."""
    if not isinstance(entry, dict):
        return None
    kvs = get_field(entry, "attributes")
    marked = [kv for kv in kvs if isinstance(kv, dict) and kv.get("key") == MARKER] \
        if isinstance(kvs, list) else []
    if not marked:
        return None
    span = _span({**entry, "attributes": marked}, service)
    return span if isinstance(span, Span) else None


def units(obj: dict[str, Any], spans: Callable[[Any, str | None], Any] = _span) -> list[Unit]:
    """The spans, log records and reasons of one ``TracesData``/``LogsData`` object, in order;
    each span entry decoded by ``spans`` (``_marked_span`` for the first pass)."""
    out: list[Unit] = []
    found = False
    for name, scope_names, entry_name, decode in _SHAPES:
        decode = spans if decode is _span else decode
        resources = get_field(obj, name)
        if resources is None:
            continue
        found = True
        for resource in resources if isinstance(resources, list) else [None]:
            if not isinstance(resource, dict):
                out.append(f"{name} entry is not a JSON object")
                continue
            described = get_field(resource, "resource")
            service = attributes(get_field(described, "attributes") if isinstance(described, dict)
                                 else None).get("service.name")
            service = service if isinstance(service, str) else None
            for scope in list_field(resource, *scope_names):
                if not isinstance(scope, dict):
                    out.append("scope entry is not a JSON object")
                    continue
                out.extend(decode(entry, service) for entry in list_field(scope, entry_name))
    if not found:
        return ["OTLP metrics, not spans or log records" if get_field(obj, "resourceMetrics")
                is not None else "not OTLP JSON (no resourceSpans or resourceLogs)"]
    return out or ["no spans or log records"]


# -- lines -----------------------------------------------------------------------------------

def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | str]]:
    """``(line number, bytes)`` of each line, or ``(line number, reason)`` for a line longer
    than ``MAX_LINE_BYTES`` and for a stream that fails (a truncated ``.gz``), which ends it."""
    lineno = 0
    try:
        while line := stream.readline(MAX_LINE_BYTES + 1):
            lineno += 1
            if lineno == 1 and line.startswith(_BOM):
                line = line[len(_BOM):]
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                    pass
                yield lineno, f"line longer than {MAX_LINE_BYTES} bytes"
            else:
                yield lineno, line
    except READ_ERRORS as exc:
        yield lineno + 1, f"file ends early ({type(exc).__name__}): the rest is not read"


def json_documents(stream: IO[bytes], wanted: Callable[[bytes], bool] | None = None
               ) -> Iterator[tuple[int, bytes | None, str | None]]:
    """The JSON objects of an OTLP JSON file or of a console exporter's output (objects one
    a line, or indented across lines): ``(line, JSON bytes, None)`` per object (only those
    ``wanted``), or ``(line, None, reason)`` for what cannot be read."""
    block: list[bytes] = []
    start = size = 0
    for lineno, line in _lines(stream):
        text = line if isinstance(line, bytes) else None
        if block and text is not None and (text[:1] in (b" ", b"\t") or not text.strip()):
            size += len(text)
            if size <= MAX_LINE_BYTES:
                block.append(text)
            continue
        if block and text is not None and text.rstrip() == b"}":
            joined, block = b"".join((*block, text)), []
            if size + len(text) > MAX_LINE_BYTES:
                yield start, None, f"object longer than {MAX_LINE_BYTES} bytes"
            elif wanted is None or wanted(joined):
                yield start, joined, None
            continue
        if block:
            block = []
            yield start, None, "object over several lines that does not close"
        if isinstance(line, str):
            yield lineno, None, line
        elif line.strip() == b"{":
            block, start, size = [line], lineno, len(line)
        elif line.strip() and (wanted is None or wanted(line)):
            yield lineno, line, None
    if block:
        yield start, None, "JSON ends early (truncated file?)"


def parse(data: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """One line's JSON object, or the reason it cannot be read (never quoting it)."""
    obj = fast_loads(data)
    if obj is not REFUSED:
        return (obj, None) if isinstance(obj, dict) else (None, "not a JSON object")
    if b"\x00" in data:
        return None, "not UTF-8 JSON (NUL bytes)"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte {exc.start})"
    try:
        obj = json.loads(text)
    except RecursionError:
        return None, "JSON nested too deeply"
    except json.JSONDecodeError as exc:
        if ends_early(text, exc):
            return None, "JSON ends early (line cut off?)"
        return None, f"not JSON ({exc.msg}, column {exc.colno})"
    return (obj, None) if isinstance(obj, dict) else (None, "not a JSON object")


def _seekable_utf8(stream: IO[bytes]) -> tuple[IO[bytes], IO[bytes] | None]:
    """``stream`` itself when it can seek and is UTF-8, else a UTF-8 copy (returned twice)."""
    under = getattr(stream, "fileobj", None)  # a gzip stream: can seek back only if this can
    try:
        seekable = stream.seekable() and (under is None or under.seekable())
        start = stream.tell() if seekable else None
    except (OSError, ValueError):
        start = None
    head = stream.read(4)
    encoding = json.detect_encoding(head) if head else "utf-8"
    if encoding.startswith("utf-8") and start is not None:
        try:
            stream.seek(start)
            return stream, None
        except (OSError, ValueError):  # a gzip stream over a pipe says it can seek
            pass
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
    decoder = None if encoding.startswith("utf-8") else codecs.getincrementaldecoder(
        encoding)("replace")
    chunk = head
    try:
        while chunk:
            spool.write(chunk if decoder is None else decoder.decode(chunk).encode("utf-8"))
            chunk = stream.read(1 << 20)
    except READ_ERRORS:
        pass  # what was copied is read; its last line shows the cut
    if decoder is not None:
        spool.write(decoder.decode(b"", final=True).encode("utf-8"))
    spool.seek(0)
    return spool, spool


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """Items of an OTLP JSON file (see module doc)."""
    mapper = SpanMapper(ctx or ReadContext())
    source, spool = _seekable_utf8(stream)
    marker = MARKER.encode()
    try:
        start = source.tell()
        for _, data, _ in json_documents(source, lambda text: marker in text):
            obj, _ = parse(data or b"")
            for unit in units(obj, _marked_span) if obj is not None else ():
                if isinstance(unit, Span):
                    mapper.note(unit)
        source.seek(start)
        for lineno, data, reason in json_documents(source):
            obj, reason = parse(data) if data is not None else (None, reason)
            if obj is None:
                yield Item(f"{name}:{lineno}", reason=reason)
                continue
            found = units(obj)
            for k, unit in enumerate(found, start=1):
                where = f"{name}:{lineno}" if len(found) == 1 else f"{name}:{lineno}#{k}"
                if isinstance(unit, str):
                    yield Item(where, reason=unit)
                elif isinstance(unit, Span):
                    yield mapper.item(unit, where)
                else:
                    yield mapper.log_item(*unit, where)
    finally:
        if spool is not None:
            spool.close()


def sniff(head: bytes, name: str = "") -> bool:
    """True when a file starts with a JSON object whose first key is ``resourceSpans`` or
    ``resourceLogs`` (whitespace and line breaks allowed)."""
    return _SNIFF.match(head_text(head)) is not None
