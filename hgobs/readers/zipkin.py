"""Reader for Zipkin v2 JSON: an array of spans (what exporters POST to ``/api/v2/spans``), or
an array of traces, each an array of spans (what ``/api/v2/traces`` answers).

A span is ``{"traceId", "id", "parentId", "name", "kind": "CLIENT" | "SERVER" | ... | null,
"timestamp": µs since the epoch, "duration": µs, "localEndpoint": {"serviceName"},
"tags": {"key": "text"}}``. Tags are strings only: numbers and booleans are their text
(``"401"``, ``"true"``), and arrays are JSON text (``'["a","b"]'``: OpenTelemetry's Zipkin
exporters) or comma-joined text; each ``hgobs.*`` value is parsed back to its documented type
(``hgobs.readers.spans.coerce``). OpenTelemetry's Python exporter cuts tag values to 128
characters by default, which can shorten long texts. A file may hold several documents (one
per line); a single span object is read too.

Items, in input order: one per span entry, source ``<file>#<n>`` with spans numbered from 1
across the file; one skip at ``<file>:<line>`` for a document that is not Zipkin JSON, and one
for a break in the JSON (``hgobs.readers.jaeger.read_documents``), after the spans before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from hgobs.readers.base import Item, ReadContext
from hgobs.readers.jaeger import CUT_SPAN, CutDict, read_documents
from hgobs.readers.spans import Span, head_text, hex_id, map_units, seconds

NAME = "zipkin-json"
WHOLE_DOCUMENT = True
"""The whole (size-bounded) document is read before any item is yielded, so the items are put in
time order before the merge (exports are often newest first; ``hgobs.readers.read_file``)."""
_SNIFF = re.compile(r'\s*\[\s*\[?\s*\{\s*"(?:traceId|id|parentId|name|kind)"\s*:')


def _entries(value: Any) -> tuple[list[Any], str | None]:
    """The span entries of one document (traces flattened), or why it holds none."""
    if isinstance(value, dict) and "traceId" in value:
        return [value], None
    if isinstance(value, CutDict):
        return [], None  # cut before it shows its shape: the break is reported
    if not isinstance(value, list):
        return [], "not a Zipkin span document"
    out: list[Any] = []
    for element in value:
        out.extend(element if isinstance(element, list) else [element])
    return out, None


def decode_span(entry: Any) -> Span | str:
    """One Zipkin v2 span entry as a ``Span``, or why it is not one."""
    if isinstance(entry, CutDict):
        return CUT_SPAN
    if not isinstance(entry, dict):
        return "span entry is not a JSON object"
    trace_id, span_id = hex_id(entry.get("traceId"), 32), hex_id(entry.get("id"), 16)
    if trace_id is None or span_id is None:
        return "span without a valid traceId and id"
    tags = entry.get("tags")
    endpoint = entry.get("localEndpoint")
    service = endpoint.get("serviceName") if isinstance(endpoint, dict) else None
    kind = entry.get("kind")
    return Span(trace_id, span_id, hex_id(entry.get("parentId"), 16),
                kind=kind.lower() if isinstance(kind, str) else "",
                start_s=seconds(entry.get("timestamp"), 1_000_000),
                duration_s=seconds(entry.get("duration"), 1_000_000),
                attributes={k: v for k, v in tags.items() if isinstance(k, str)}
                if isinstance(tags, dict) else {},
                service=service if isinstance(service, str) else None)


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """Items of a Zipkin v2 JSON file (see module doc)."""
    units: list[tuple[str, Span | str]] = []
    n = 0
    for doc in read_documents(stream):
        if doc.value is not None:
            entries, reason = _entries(doc.value)
            if reason is not None:
                units.append((f"{name}:{doc.line}", reason))
            for entry in entries:
                n += 1
                units.append((f"{name}#{n}", decode_span(entry)))
        if doc.broken is not None:
            units.append((f"{name}:{doc.broken[0]}", doc.broken[1]))
    yield from map_units(units, ctx or ReadContext())


def sniff(head: bytes, name: str = "") -> bool:
    """True when a file starts like Zipkin v2 JSON: an array (of arrays) of span objects."""
    text = head_text(head)
    return _SNIFF.match(text) is not None and '"traceId"' in text and '"traceID"' not in text
