"""Reader for the OpenTelemetry SDK's console exporters: ``ConsoleSpanExporter`` and ``ConsoleLogExporter``.

Both print each span or log record as ``to_json()`` does: a JSON object pretty-printed with
an indent of four, one after another (a line holding only ``{`` opens one, a line holding only
``}`` closes it; one object per line is read too). A span has ``name``, ``context``
(``trace_id``/``span_id`` as ``0x``-prefixed hex), ``kind`` (``SpanKind.CLIENT``),
``parent_id``, ``start_time``/``end_time`` (ISO 8601), ``attributes``, ``events`` and
``resource``; a log record has ``body``, ``severity_text``, ``attributes``, ``timestamp``,
``trace_id``, ``span_id`` and ``resource``. Reference: opentelemetry-python,
``opentelemetry.sdk.trace.ReadableSpan.to_json`` and ``opentelemetry.sdk._logs.LogRecord.to_json``.

Spans go through ``hgobs.readers.spans`` as OTLP spans do (our spans by their ``hgobs.*``
attributes, plain HTTP client spans as exchanges). A client span that failed without an
answer carries no ``error.type`` under the older HTTP conventions: the ``exception`` event's
``exception.type`` is taken when it names a transport failure. A log record with ``hgobs.*``
attributes is our record; any other is read as an application log event
(``hgobs.readers.appfields``: its attributes, its body as the message).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from hgobs.readers.appfields import event_exchange, flatten, transport_error
from hgobs.readers.base import Item, ReadContext
from hgobs.readers.otlp import json_documents, parse
from hgobs.readers.raw import build
from hgobs.readers.spans import MARKER, Span, SpanMapper, hex_id
from hgobs.readers.textlog import parse_time

NAME = "otel-console"
WHOLE_DOCUMENT = True
"""Read whole (its spans are noted before any is mapped), then put in time order."""
MAX_OBJECTS = 200_000
"""Spans and log records read of one file; the rest are one skip."""


def _hex(value: Any, digits: int) -> str | None:
    return hex_id(value[2:], digits) if isinstance(value, str) and value.startswith("0x") else None


def _service(obj: dict[str, Any]) -> str | None:
    resource = obj.get("resource")
    attributes = resource.get("attributes") if isinstance(resource, dict) else None
    name = attributes.get("service.name") if isinstance(attributes, dict) else None
    return name if isinstance(name, str) else None


def _time(value: Any) -> float | None:
    return parse_time(value[:64]) if isinstance(value, str) else None


def _span(obj: dict[str, Any]) -> Span | str:
    context = obj.get("context")
    context = context if isinstance(context, dict) else {}
    trace_id, span_id = _hex(context.get("trace_id"), 32), _hex(context.get("span_id"), 16)
    if trace_id is None or span_id is None:
        return "span without a valid trace_id and span_id"
    attributes = obj.get("attributes")
    attributes = dict(attributes) if isinstance(attributes, dict) else {}
    if "error.type" not in attributes:
        events = obj.get("events") if isinstance(obj.get("events"), list) else []
        for event in events:
            found = event.get("attributes") if isinstance(event, dict) else None
            error = transport_error(found.get("exception.type")) if isinstance(found, dict) else None
            if error is not None:
                attributes["error.type"] = error
                break
    kind = obj.get("kind")
    start, end = _time(obj.get("start_time")), _time(obj.get("end_time"))
    return Span(trace_id, span_id, _hex(obj.get("parent_id"), 16),
                kind=kind.removeprefix("SpanKind.").lower() if isinstance(kind, str) else "",
                start_s=start, duration_s=end - start if start and end and end >= start else None,
                attributes=attributes, service=_service(obj))


def _log_item(mapper: SpanMapper, obj: dict[str, Any], ctx: ReadContext, source: str) -> Item:
    attributes = obj.get("attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    when = _time(obj.get("timestamp")) or _time(obj.get("observed_timestamp"))
    if MARKER in attributes:
        return mapper.log_item(attributes, _service(obj), when, source)
    fields = flatten(attributes)
    body = obj.get("body")
    if isinstance(body, (str, dict)) and "message" not in fields:
        fields["message"] = body
    found = event_exchange(fields, ctx, when)
    return Item(source, reason=found) if isinstance(found, str) else build(found, ctx, source)


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """One item per span and log record (source ``<file>:<line where it opens>``), or one
    skip per object that cannot be read (see module doc)."""
    ctx = ctx or ReadContext()
    units: list[tuple[str, Span | dict[str, Any] | str]] = []
    for lineno, data, reason in json_documents(stream):
        source = f"{name}:{lineno}"
        if len(units) >= MAX_OBJECTS:
            units.append((source, f"more than {MAX_OBJECTS} objects in one file: not read"))
            break
        if data is None:
            units.append((source, reason or "cannot be read"))
            continue
        obj, why = parse(data)
        if obj is None:
            units.append((source, why or "not a JSON object"))
        elif "context" in obj and "kind" in obj:
            units.append((source, _span(obj)))
        elif "severity_number" in obj or "observed_timestamp" in obj or "body" in obj:
            units.append((source, obj))
        else:
            units.append((source, "neither a span nor a log record of the console exporters"))
    mapper = SpanMapper(ctx)
    for _, unit in units:
        if isinstance(unit, Span):
            mapper.note(unit)
    for source, unit in units:
        if isinstance(unit, Span):
            yield mapper.item(unit, source)
        elif isinstance(unit, dict):
            yield _log_item(mapper, unit, ctx, source)
        else:
            yield Item(source, reason=unit)


def sniff(head: bytes, name: str = "") -> bool:
    """True when the head starts with a JSON object (``{``) and holds a console span's
    ``"kind": "SpanKind.`` or a console log record's ``"severity_number":`` or
    ``"observed_timestamp":``, or its first key is a log record's ``"body":``."""
    text = head.lstrip()
    if not text.startswith(b"{"):
        return False
    second = text[1:].lstrip()
    return (b'"kind": "SpanKind.' in text or b'"severity_number":' in text
            or b'"observed_timestamp":' in text or second.startswith(b'"body":'))
