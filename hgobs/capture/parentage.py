"""Span parentage: whether OpenTelemetry's httpx instrumentation made an HTTP span for a request.

hgobs wraps ``Client.send`` above the transport. When OpenTelemetry's httpx instrumentation is
on, its HTTP CLIENT span is made inside ours (token exchange) or before we know the status (API
call); either way its context travels in the propagation headers it injected into the request,
which is where these functions read it.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import httpx
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator


def otel_httpx_enabled(client: Any) -> bool:
    """True when OpenTelemetry's httpx instrumentation is on, globally or for ``client``."""
    if getattr(client, "_is_instrumented_by_opentelemetry", False):
        return True
    # Optional (hgobs does not depend on it), and on only if already imported: looked up in
    # sys.modules, since a failing import would search sys.path on every request (~17 us).
    module = sys.modules.get("opentelemetry.instrumentation.httpx")
    instrumentor = getattr(module, "HTTPXClientInstrumentor", None)
    return instrumentor is not None and bool(instrumentor().is_instrumented_by_opentelemetry)


_textmap: tuple[object, TraceContextTextMapPropagator | None] = (None, None)
"""The global propagator last seen, and its W3C trace-context part when that is the only part
that reads a span context (the default ``tracecontext,baggage``)."""


def _trace_context_propagator() -> TraceContextTextMapPropagator | None:
    """The W3C trace-context propagator when it alone of the global propagator's parts reads a
    span context, else None (then the whole global propagator is asked)."""
    global _textmap
    textmap = propagate.get_global_textmap()
    if _textmap[0] is not textmap:
        parts = getattr(textmap, "_propagators", None) \
            if type(textmap) is CompositePropagator else [textmap]
        found = None
        if isinstance(parts, (list, tuple)) and all(
                type(p) in (TraceContextTextMapPropagator, W3CBaggagePropagator) for p in parts):
            w3c = [p for p in parts if type(p) is TraceContextTextMapPropagator]
            found = w3c[0] if len(w3c) == 1 else None
        _textmap = (textmap, found)
    return _textmap[1]


def http_span_context(request: httpx.Request) -> trace.SpanContext | None:
    """The HTTP CLIENT span OpenTelemetry's httpx instrumentation made for ``request``, read
    from the propagation headers it injected into the request; None when there is none.

    With the default propagators only the trace-context headers are handed to the W3C
    propagator (baggage carries no span); any other setup asks the global propagator."""
    headers = request.headers
    traceparent = headers.get("traceparent")
    if traceparent is None:
        return None
    w3c = _trace_context_propagator()
    if w3c is not None:
        carrier = {"traceparent": traceparent}
        tracestate = headers.get("tracestate")
        if tracestate is not None:
            carrier["tracestate"] = tracestate
        extracted = w3c.extract(carrier)
    else:
        extracted = propagate.extract(headers)
    ctx = trace.get_current_span(extracted).get_span_context()
    return ctx if ctx.is_valid else None


_CANONICAL_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
"""A version-00 ``traceparent`` exactly as OpenTelemetry writes it: nothing before or after."""
_ZERO_TRACE_ID, _ZERO_SPAN_ID = "0" * 32, "0" * 16


def has_http_child(request: httpx.Request, span: trace.Span) -> bool:
    """True when an HTTP span was made for ``request`` inside our ``span``.

    With the default propagators, a ``traceparent`` in the canonical form without a
    ``tracestate`` is read by comparing its hex ids with ours: the W3C propagator would extract
    the same ids from it (and no valid span from all-zero ones), without the span context it
    builds. Any other header or propagator setup is extracted in full."""
    own = span.get_span_context()
    headers = request.headers
    traceparent = headers.get("traceparent")
    if traceparent is None:
        return False
    if _trace_context_propagator() is not None and "tracestate" not in headers:
        match = _CANONICAL_TRACEPARENT.fullmatch(traceparent)
        if match is not None:
            trace_hex, span_hex = match.groups()
            return trace_hex != _ZERO_TRACE_ID and span_hex != _ZERO_SPAN_ID \
                and trace_hex == trace.format_trace_id(own.trace_id) \
                and span_hex != trace.format_span_id(own.span_id)
    child = http_span_context(request)
    return child is not None and child.trace_id == own.trace_id and child.span_id != own.span_id


def span_ids(span: trace.Span) -> dict[str, str]:
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": trace.format_trace_id(ctx.trace_id),
            "span_id": trace.format_span_id(ctx.span_id)}
