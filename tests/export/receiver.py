"""A loopback OTLP/HTTP receiver: accepts protobuf exports on 127.0.0.1 and keeps them decoded.

``OtlpReceiver`` (a ``LoopServer`` with its own handler) answers ``POST /v1/traces``,
``/v1/metrics`` and ``/v1/logs`` with the empty protobuf response an OTLP/HTTP exporter
expects, and stores every request body. ``spans()`` and ``metrics()`` flatten what arrived
into plain dicts (attribute values as Python values), so tests assert on them without knowing
the protobuf classes.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tests.support.loopback import Received as Request
from tests.support.loopback import Reply
from tests.support.servers import LoopServer

_SERVICES = {
    "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest,
                   trace_service_pb2.ExportTraceServiceResponse),
    "/v1/metrics": (metrics_service_pb2.ExportMetricsServiceRequest,
                    metrics_service_pb2.ExportMetricsServiceResponse),
    "/v1/logs": (logs_service_pb2.ExportLogsServiceRequest,
                 logs_service_pb2.ExportLogsServiceResponse),
}
MAX_BODY = 64 * 1024 * 1024


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a Python value (arrays as lists, kvlists as dicts)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind is None:
        return None
    return getattr(value, kind)


def attributes(pairs: Any) -> dict[str, Any]:
    """Repeated ``KeyValue`` as a dict."""
    return {kv.key: any_value(kv.value) for kv in pairs if isinstance(kv, KeyValue)}


@dataclass
class Received:
    """One accepted export: request path, content type, raw (decompressed) body, decoded message."""

    path: str
    content_type: str
    body: bytes
    message: Any


@dataclass
class OtlpReceiver:
    """The receiver; ``endpoint`` is the base URL to put in ``OTEL_EXPORTER_OTLP_ENDPOINT``."""

    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._server = LoopServer(self._answer)

    def _answer(self, request: Request) -> Reply:
        service = _SERVICES.get(request.target)
        if request.method != "POST" or service is None:
            return Reply(404, [])
        if len(request.body) > MAX_BODY:
            return Reply(413, [])
        body = request.body
        encoding = request.headers.get("content-encoding", "").lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        request_type, response_type = service
        message = request_type()
        message.ParseFromString(body)
        with self._lock:
            self.received.append(Received(
                request.target, request.headers.get("content-type", ""), body, message))
        return Reply(200, [("content-type", "application/x-protobuf")],
                     response_type().SerializeToString())

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>`` (the exporter appends ``/v1/traces`` etc.)."""
        return self._server.origin

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.stop()

    def requests(self, path: str) -> list[Received]:
        """The accepted exports sent to ``path`` (``/v1/traces`` ...), in arrival order."""
        with self._lock:
            return [r for r in self.received if r.path == path]

    def raw(self) -> bytes:
        """Every body received, concatenated (to look for text that must never leave a process)."""
        with self._lock:
            return b"".join(r.body for r in self.received)

    def spans(self) -> list[dict[str, Any]]:
        """Every span received, flattened: name, kind, ids, status, duration, attributes, resource, scope."""
        out = []
        for req in self.requests("/v1/traces"):
            for rs in req.message.resource_spans:
                resource = attributes(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        out.append({
                            "name": span.name,
                            "kind": span.kind,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "status_code": span.status.code,
                            "status_message": span.status.message,
                            "duration_ns": span.end_time_unix_nano - span.start_time_unix_nano,
                            "attributes": attributes(span.attributes),
                            "resource": resource,
                            "scope": ss.scope.name,
                        })
        return out

    def metrics(self) -> list[dict[str, Any]]:
        """Every metric received, flattened: name, unit, kind, data points (attributes, values)."""
        out = []
        for req in self.requests("/v1/metrics"):
            for rm in req.message.resource_metrics:
                for sm in rm.scope_metrics:
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        points = []
                        for p in getattr(metric, kind).data_points:
                            point: dict[str, Any] = {"attributes": attributes(p.attributes)}
                            if kind == "histogram":
                                point.update(count=p.count, sum=p.sum,
                                             bounds=list(p.explicit_bounds),
                                             buckets=list(p.bucket_counts))
                            else:
                                point["value"] = getattr(p, p.WhichOneof("value"))
                            points.append(point)
                        out.append({"name": metric.name, "unit": metric.unit, "kind": kind,
                                    "scope": sm.scope.name, "points": points})
        return out

    def wait_for(self, predicate: Any, timeout_s: float = 10.0) -> bool:
        """Poll ``predicate(self)`` until it is true or ``timeout_s`` passes; its last result."""
        deadline = time.monotonic() + timeout_s
        while True:
            if predicate(self):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
