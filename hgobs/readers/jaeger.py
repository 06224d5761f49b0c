"""Reader for Jaeger JSON: the query API's ``/api/traces`` answer and the UI's trace download.

Shapes: ``{"data": [trace, ...], "errors": ...}`` (API answer and UI download), a bare array of
traces (older exports) or one trace object; a file may hold several documents (one per line).
A trace is ``{"traceID", "spans": [span, ...], "processes": {"p1": {"serviceName", "tags"}}}``;
a span is ``{"traceID", "spanID", "operationName", "references": [{"refType": "CHILD_OF",
"spanID"}], "startTime": µs since the epoch, "duration": µs, "tags": [{"key", "type",
"value"}], "processID"}`` (older files: an inline ``"process"``, ``"parentSpanID"``). Ids may
lack leading zeros; the kind is the ``span.kind`` tag; array attributes arrive as JSON text.
Spans become records through ``hgobs.readers.spans``.

Items, in input order: one per span entry, source ``<file>#<n>`` with spans numbered from 1
across the file; one skip at ``<file>:<line>`` for a document that is not Jaeger JSON, and one
for a break in the JSON (a truncated file, junk, bytes that are not UTF-8), after the spans that
precede it. A span cut by the break is a skip of its own.

``read_documents`` (also used by the Zipkin reader) reads the JSON documents of such a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any, NamedTuple

from hgobs.readers.base import Item, ReadContext
from hgobs.readers.files import READ_ERRORS
from hgobs.readers.spans import (
    Span,
    decode,
    ends_early,
    head_text,
    hex_id,
    map_units,
    seconds,
)

NAME = "jaeger-json"
WHOLE_DOCUMENT = True
"""The whole (size-bounded) document is read before any item is yielded, so the items are put in
time order before the merge (exports are often newest first; ``hgobs.readers.read_file``)."""
MAX_DOCUMENT_BYTES = 128 << 20
"""Most bytes of a document file read (128 MiB); the rest is reported as not read."""
CUT_SPAN = "span cut off where the JSON breaks"
_SNIFF = re.compile(r'\s*(?:\{\s*"data"\s*:\s*)?\[?\s*\{\s*"traceID"\s*:')
_WS = re.compile(r"[ \t\r\n]*")
_NEXT_DOCUMENT = re.compile(r"^[\[{]", re.M)
_DECODER = json.JSONDecoder()
_LOST = object()


# -- JSON documents (Jaeger, Zipkin) -----------------------------------------------------------

class CutDict(dict):  # type: ignore[type-arg]
    """A JSON object that breaks off: the members before the break."""


class CutList(list):  # type: ignore[type-arg]
    """A JSON array that breaks off: the elements before the break."""


class Document(NamedTuple):
    """A top-level JSON value: the ``line`` it starts on, the ``value`` (None when nothing
    parsed; containers cut by a break are ``CutDict``/``CutList``) and the ``broken`` line and
    reason of a break (None for a complete value)."""

    line: int
    value: Any
    broken: tuple[int, str] | None = None


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]


def _partial(text: str, pos: int, depth: int) -> tuple[Any, int, json.JSONDecodeError | None]:
    """``(value, end, None)`` for the complete JSON value at ``pos``; for a broken one, its
    containers (``depth`` levels) with their complete members, or ``_LOST``, and the error
    (``raw_decode`` reports the first, innermost failure, so the outermost error is kept)."""
    try:
        return (*_DECODER.raw_decode(text, pos), None)
    except json.JSONDecodeError as exc:
        error = exc
    except RecursionError:
        return _LOST, pos, json.JSONDecodeError("nested too deeply", text, pos)
    if depth <= 0 or text[pos:pos + 1] not in ("[", "{"):
        return _LOST, error.pos, error
    out: CutDict | CutList = CutList() if text[pos] == "[" else CutDict()
    p = _skip(text, pos + 1)
    while p < error.pos:
        key: Any = None
        if isinstance(out, CutDict):
            key, p, broken = _partial(text, p, 0)
            p = _skip(text, p)
            if broken is not None or text[p:p + 1] != ":":
                break
            p = _skip(text, p + 1)
        value, p, broken = _partial(text, p, depth - 1)
        if value is not _LOST and isinstance(out, CutDict):
            out[key] = value
        elif value is not _LOST and isinstance(out, CutList):
            out.append(value)
        p = _skip(text, p)
        if broken is not None or text[p:p + 1] != ",":
            break
        p = _skip(text, p + 1)
    return out, error.pos, error


def _read_bytes(stream: IO[bytes], limit: int) -> tuple[bytes, str | None]:
    """Up to ``limit`` bytes of ``stream``, and the name of the error that ended it early.

    Reads with ``read1`` where there is one, so a failing stream (a cut ``.gz``) loses no more
    than what it could not deliver."""
    read = getattr(stream, "read1", stream.read)
    chunks: list[bytes] = []
    size = 0
    try:
        while size < limit and (chunk := read(min(1 << 20, limit - size))):
            chunks.append(chunk)
            size += len(chunk)
    except READ_ERRORS as exc:
        return b"".join(chunks), type(exc).__name__
    return b"".join(chunks), None


def read_documents(stream: IO[bytes]) -> Iterator[Document]:
    """The JSON values of a document file, keeping what precedes a break.

    A file holds one document (pretty-printed or not) or several (one per line); after a break,
    reading resumes at the next line that starts with ``{`` or ``[``. At most
    ``MAX_DOCUMENT_BYTES`` are read.
    """
    data, failure = _read_bytes(stream, MAX_DOCUMENT_BYTES + 1)
    text, bad_byte = decode(data[:MAX_DOCUMENT_BYTES])
    if bad_byte is not None:
        end_reason = f"not UTF-8 from byte {bad_byte} on: the rest is not read"
    elif len(data) > MAX_DOCUMENT_BYTES:
        end_reason = f"file longer than {MAX_DOCUMENT_BYTES} bytes: the rest is not read"
    elif failure is not None:
        end_reason = f"file ends early ({failure}): the rest is not read"
    else:
        end_reason = "JSON ends early (truncated file?)"
    pos, counted, line = _skip(text, 0), 0, 1
    while pos < len(text):
        line, counted = line + text.count("\n", counted, pos), pos
        value, end, error = _partial(text, pos, 8)
        if error is None:
            yield Document(line, value)
            pos = _skip(text, end)
            continue
        if ends_early(text, error):
            reason = end_reason
        elif "\x00" in text[error.pos:error.pos + 64]:
            reason = "not UTF-8 JSON (NUL bytes)"
        else:
            reason = f"not valid JSON ({error.msg}, column {error.colno})"
        yield Document(line, None if value is _LOST else value, (error.lineno, reason))
        if reason == end_reason:
            return
        found = _NEXT_DOCUMENT.search(text, max(error.pos, pos) + 1)
        pos = found.start() if found else len(text)
    if not end_reason.startswith("JSON"):  # the text stops before the file does
        yield Document(line, None, (text.count("\n") + 1, end_reason))


# -- Jaeger ----------------------------------------------------------------------------------

def _traces(value: Any) -> tuple[list[Any], str | None]:
    """The trace entries of one document, or why it holds none (None for a document cut
    before it shows its shape: the break is reported instead)."""
    if isinstance(value, dict) and "data" in value:
        if isinstance(value["data"], list):
            return value["data"], None
        errors = value.get("errors")
        return [], f"Jaeger answer without traces ({len(errors or ())} errors)"
    if isinstance(value, dict) and "spans" in value:
        return [value], None
    if isinstance(value, list):
        return value, None
    return [], None if isinstance(value, CutDict) else "not a Jaeger trace document"


def _tags(tags: Any) -> dict[str, Any]:
    """Jaeger ``[{"key", "type", "value"}]`` as a mapping (binary values dropped)."""
    out: dict[str, Any] = {}
    for tag in tags if isinstance(tags, list) else ():
        if isinstance(tag, dict) and isinstance(tag.get("key"), str) and tag.get("type") != "binary":
            out[tag["key"]] = tag.get("value")
    return out


def _parent(span: dict[str, Any], trace_id: str) -> str | None:
    """The span id of the ``CHILD_OF`` (else first) reference in the same trace, if any."""
    references = span.get("references")
    refs = [r for r in references if isinstance(r, dict)] if isinstance(references, list) else []
    for ref in sorted(refs, key=lambda r: r.get("refType") != "CHILD_OF"):
        parent = hex_id(ref.get("spanID"), 16)
        if parent and hex_id(ref.get("traceID") or span.get("traceID"), 32) == trace_id:
            return parent
    return hex_id(span.get("parentSpanID"), 16)


def decode_span(entry: Any, processes: Any) -> Span | str:
    """One Jaeger span entry as a ``Span``, or why it is not one."""
    if isinstance(entry, CutDict):
        return CUT_SPAN
    if not isinstance(entry, dict):
        return "span entry is not a JSON object"
    trace_id, span_id = hex_id(entry.get("traceID"), 32), hex_id(entry.get("spanID"), 16)
    if trace_id is None or span_id is None:
        return "span without a valid traceID and spanID"
    process = entry.get("process")
    if not isinstance(process, dict) and isinstance(processes, dict):
        pid = entry.get("processID")
        process = processes.get(pid) if isinstance(pid, str) else None
    service = process.get("serviceName") if isinstance(process, dict) else None
    tags = _tags(entry.get("tags"))
    kind = tags.get("span.kind")
    return Span(trace_id, span_id, _parent(entry, trace_id),
                kind=kind.lower() if isinstance(kind, str) else "",
                start_s=seconds(entry.get("startTime"), 1_000_000),
                duration_s=seconds(entry.get("duration"), 1_000_000),
                attributes=tags, service=service if isinstance(service, str) else None)


def read(stream: IO[bytes], name: str, ctx: ReadContext | None = None) -> Iterator[Item]:
    """Items of a Jaeger JSON file (see module doc)."""
    units: list[tuple[str, Span | str]] = []
    n = 0
    for doc in read_documents(stream):
        if doc.value is not None:
            traces, reason = _traces(doc.value)
            if reason is not None:
                units.append((f"{name}:{doc.line}", reason))
            for trace in traces:
                if not isinstance(trace, dict):
                    units.append((f"{name}:{doc.line}", "trace entry is not a JSON object"))
                    continue
                spans = trace.get("spans")
                if not isinstance(spans, list) and not isinstance(trace, CutDict):
                    units.append((f"{name}:{doc.line}", "trace entry without a spans array"))
                for entry in spans if isinstance(spans, list) else ():
                    n += 1
                    units.append((f"{name}#{n}", decode_span(entry, trace.get("processes"))))
        if doc.broken is not None:
            units.append((f"{name}:{doc.broken[0]}", doc.broken[1]))
    yield from map_units(units, ctx or ReadContext())


def sniff(head: bytes, name: str = "") -> bool:
    """True when a file starts like Jaeger JSON (``{"data": [{"traceID"``, ``[{"traceID"``)."""
    return _SNIFF.match(head_text(head)) is not None
