"""Make real spans from the shared cases and render them as trace files (OTLP, Jaeger, Zipkin).

``replay_case`` runs a case through the hgobs-instrumented httpx client, sending to the case's
real URLs routed to loopback below the client (with or without OpenTelemetry's httpx
instrumentation) and returns the finished spans, the hgobs log
records and the JSON Lines records (once per case and mode: the spans are immutable, so test
modules share them); ``replay_plain`` runs it with OpenTelemetry's httpx
instrumentation only (a service without hgobs), capturing headers when asked. Either is read
back under ``--profile auto`` unless the case's provider must be named
(``tests.support.cases.analysis_profile``).

Renderers, from ``ReadableSpan`` objects:

- ``otlp_lines``: the real OTLP encoder (``encode_spans``) and protobuf ``json_format``; flavor
  ``protobuf`` is ``MessageToJson`` on one line (base64 ids, enum names), ``file`` is what the
  Collector's ``file`` exporter writes (hex ids, integer enums), ``pretty`` is ``MessageToJson``
  with its default indentation; ``otlp_log_lines`` the same for log records (``encode_logs``);
- ``jaeger_document``: the Jaeger query API's ``{"data": [trace]}`` shape, tags converted as the
  Collector's OTLP -> Jaeger translator does (``span.kind``, typed tags, arrays as JSON text,
  trace ids without leading zeros as Jaeger prints them);
- ``zipkin_spans``: Zipkin v2 spans as OpenTelemetry's Python Zipkin JSON exporter encodes them
  (string tags, arrays as compact JSON text, resource attributes as tags, ``kind`` null for
  internal spans, values cut to ``max_tag_value_length``).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
from google.protobuf.json_format import MessageToDict, MessageToJson
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from hgobs.profiles import Profile, ProfileSet
from hgobs.readers.base import Item, ReadContext
from tests.capture.test_cases_replay import replay
from tests.conftest import Telemetry
from tests.support.cases import (
    IDENTITY,
    RoutedTransport,
    analysis_profile,
    reply_for,
    request_kwargs,
)
from tests.support.servers import LoopPool
from tests.support.whole import classify

SERVICE = "case-replay"
"""``service.name`` of the resource the replays' tracer provider has."""


@dataclass
class Replayed:
    """What one replay produced: spans, hgobs log records, JSON Lines records, and the profile
    (or ``auto`` set) to read them with."""

    spans: list[ReadableSpan]
    logs: list[Any]
    records: list[dict[str, Any]]
    profile: Profile | ProfileSet


@contextmanager
def _hgobs_logs() -> Iterator[InMemoryLogRecordExporter]:
    """Export what the ``hgobs`` logger logs through OpenTelemetry's logging handler."""
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    with warnings.catch_warnings():  # the SDK's handler is deprecated, not gone
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    logger = logging.getLogger("hgobs")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield exporter
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        provider.shutdown()


_REPLAYS: dict[tuple[str, bool, int], Replayed] = {}


def replay_case(case: dict[str, Any], pool: LoopPool, otel_httpx: bool) -> Replayed:
    """Replay ``case`` with hgobs (and OpenTelemetry's httpx instrumentation if asked).

    Each case is replayed once per pool and mode; later calls return the same spans.
    """
    key = (case["id"], otel_httpx, id(pool))
    if key in _REPLAYS:
        return _REPLAYS[key]
    telemetry = Telemetry()
    try:
        with _hgobs_logs() as logs, tempfile.TemporaryDirectory() as tmp:
            records, _ = replay(case, pool, telemetry, Path(tmp), otel_httpx)
        profile = analysis_profile(case) or ProfileSet.auto()
        done = Replayed(telemetry.spans(), list(logs.get_finished_logs()), records, profile)
    finally:
        telemetry.tracer_provider.shutdown()
    _REPLAYS[key] = done
    return done


def replay_plain(case: dict[str, Any], pool: LoopPool, capture_headers: bool) -> Replayed:
    """Replay ``case`` with OpenTelemetry's httpx instrumentation only (no hgobs)."""
    profile = analysis_profile(case) or ProfileSet.auto()
    exchanges = case["exchanges"]
    pool.script.load([reply_for(e["response"], IDENTITY) for e in exchanges])
    telemetry = Telemetry()
    env = {"OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST": ".*",
           "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_RESPONSE": ".*"}
    try:
        with mock.patch.dict(os.environ, env if capture_headers else {}), httpx.Client(
                transport=RoutedTransport(pool), follow_redirects=True) as client:
            HTTPXClientInstrumentor().instrument_client(
                client, tracer_provider=telemetry.tracer_provider)
            i = 0
            while i < len(exchanges):
                response = client.request(**request_kwargs(exchanges[i]["request"], IDENTITY))
                i += 1 + len(response.history)
        return Replayed(telemetry.spans(), [], [], profile)
    finally:
        telemetry.tracer_provider.shutdown()


# -- OTLP ----------------------------------------------------------------------------------------

def _hex_ids(value: Any) -> Any:
    """Protobuf JSON -> OTLP/JSON file flavor: base64 ids become hex."""
    if isinstance(value, dict):
        return {k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId")
                    and isinstance(v, str) else _hex_ids(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_hex_ids(v) for v in value]
    return value


def _otlp_text(message: Any, flavor: str) -> str:
    if flavor == "protobuf":
        return MessageToJson(message, indent=None) + "\n"
    if flavor == "pretty":
        return MessageToJson(message) + "\n"
    if flavor == "file":
        return json.dumps(_hex_ids(MessageToDict(message, use_integers_for_enums=True)),
                          separators=(",", ":")) + "\n"
    raise ValueError(flavor)


def otlp_lines(spans: Sequence[ReadableSpan], flavor: str = "protobuf",
               per_line: int | None = None) -> str:
    """Spans as OTLP JSON text, ``per_line`` spans per object (None: all on one line)."""
    step = per_line or max(1, len(spans))
    return "".join(_otlp_text(encode_spans(spans[i:i + step]), flavor)
                   for i in range(0, len(spans), step))


def otlp_log_lines(logs: Sequence[Any], flavor: str = "protobuf") -> str:
    """Log records as OTLP JSON text, all on one line."""
    return _otlp_text(encode_logs(logs), flavor) if logs else ""


# -- Jaeger --------------------------------------------------------------------------------------

def _jaeger_tag(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "type": "bool", "value": value}
    if isinstance(value, int):
        return {"key": key, "type": "int64", "value": value}
    if isinstance(value, float):
        return {"key": key, "type": "float64", "value": value}
    if isinstance(value, (list, tuple)):
        return {"key": key, "type": "string", "value": json.dumps(list(value), separators=(",", ":"))}
    return {"key": key, "type": "string", "value": str(value)}


def _jaeger_trace_id(trace_id: int) -> str:
    high, low = trace_id >> 64, trace_id & ((1 << 64) - 1)
    return f"{low:016x}" if high == 0 else f"{high:x}{low:016x}"


def jaeger_document(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """Spans as the Jaeger query API answers them: ``{"data": [trace, ...]}``."""
    traces: dict[int, list[ReadableSpan]] = defaultdict(list)
    for span in spans:
        traces[span.context.trace_id].append(span)
    data = []
    for trace_id, members in traces.items():
        processes: dict[str, dict[str, Any]] = {}
        out = []
        for span in members:
            resource = dict(span.resource.attributes)
            service = str(resource.pop("service.name", "unknown"))
            process = {"serviceName": service,
                       "tags": [_jaeger_tag(k, v) for k, v in resource.items()]}
            pid = next((p for p, v in processes.items() if v == process), None)
            if pid is None:
                pid = f"p{len(processes) + 1}"
                processes[pid] = process
            tags = [_jaeger_tag(k, v) for k, v in (span.attributes or {}).items()]
            tags.append(_jaeger_tag("otel.scope.name", span.instrumentation_scope.name))
            if span.kind is not SpanKind.INTERNAL:
                tags.append(_jaeger_tag("span.kind", span.kind.name.lower()))
            if span.status.status_code is StatusCode.ERROR:
                tags += [_jaeger_tag("otel.status_code", "ERROR"), _jaeger_tag("error", True)]
            refs = []
            if span.parent is not None:
                refs.append({"refType": "CHILD_OF", "traceID": _jaeger_trace_id(trace_id),
                             "spanID": f"{span.parent.span_id:016x}"})
            out.append({
                "traceID": _jaeger_trace_id(trace_id), "spanID": f"{span.context.span_id:016x}",
                "operationName": span.name, "references": refs, "flags": 1,
                "startTime": span.start_time // 1000,
                "duration": (span.end_time - span.start_time) // 1000,
                "tags": tags, "logs": [], "processID": pid, "warnings": None})
        data.append({"traceID": _jaeger_trace_id(trace_id), "spans": out,
                     "processes": processes, "warnings": None})
    return {"data": data, "total": 0, "limit": 0, "offset": 0, "errors": None}


# -- Zipkin --------------------------------------------------------------------------------------

def _zipkin_value(value: Any, limit: int | None) -> str:
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, (list, tuple)):
        items: list[str] = []
        length = 2
        for item in value:
            element = str(item).lower() if isinstance(item, bool) else str(item)
            length += len(element) + 2 + (1 if items else 0)
            if limit and length > limit:
                break
            items.append(element)
        text = json.dumps(items, separators=(",", ":"))
    else:
        text = str(value)
    return text[:limit] if limit else text


def zipkin_spans(spans: Sequence[ReadableSpan], max_tag_value_length: int | None = 128,
                 per_trace: bool = False) -> list[Any]:
    """Spans as Zipkin v2 JSON: a flat array, or one array per trace (``/api/v2/traces``)."""
    kinds = {SpanKind.INTERNAL: None, SpanKind.SERVER: "SERVER", SpanKind.CLIENT: "CLIENT",
             SpanKind.PRODUCER: "PRODUCER", SpanKind.CONSUMER: "CONSUMER"}
    out = []
    for span in spans:
        tags = {k: _zipkin_value(v, max_tag_value_length)
                for k, v in {**(span.attributes or {}), **span.resource.attributes}.items()}
        tags["otel.library.name"] = span.instrumentation_scope.name
        if span.status.status_code is not StatusCode.UNSET:
            tags["otel.status_code"] = span.status.status_code.name
            if span.status.status_code is StatusCode.ERROR:
                tags["error"] = span.status.description or ""
        encoded: dict[str, Any] = {
            "traceId": f"{span.context.trace_id:032x}", "id": f"{span.context.span_id:016x}",
            "name": span.name, "timestamp": (span.start_time + 500) // 1000,
            "duration": (span.end_time - span.start_time + 500) // 1000,
            "localEndpoint": {"serviceName": span.resource.attributes.get("service.name")},
            "kind": kinds[span.kind], "tags": tags}
        if span.parent is not None:
            encoded["parentId"] = f"{span.parent.span_id:016x}"
        out.append(encoded)
    if not per_trace:
        return out
    traces: dict[str, list[Any]] = defaultdict(list)
    for encoded in out:
        traces[encoded["traceId"]].append(encoded)
    return list(traces.values())


# -- reading back --------------------------------------------------------------------------------

def read_all(reader: Any, data: bytes | str, ctx: ReadContext | None = None,
             name: str = "trace.json") -> list[Item]:
    """Every item ``reader`` (a reader module) yields for ``data``."""
    raw = data.encode() if isinstance(data, str) else data
    return list(reader.read(io.BytesIO(raw), name, ctx or ReadContext()))


def classified(items: Sequence[Item], profile: Profile | ProfileSet) -> list[dict[str, Any]]:
    """The records of ``items`` as ``hgobs.analysis.classify`` judges them, in input order."""
    return [c.record for c in classify(items, profile).classified]


def context(replayed: Replayed, case: dict[str, Any]) -> ReadContext:
    """The read context of a case: the profile it is read with and its client id."""
    return ReadContext(profile=replayed.profile, client_id=case["client_id"])
