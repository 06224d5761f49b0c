"""The instrumentor: wrap ``httpx.Client.send``/``AsyncClient.send`` and record auth attempts.

We wrap ``send`` (above the transport) so that, for a token exchange, our span is current while
the transport runs: OpenTelemetry's httpx instrumentation (which wraps the transport) then makes
its HTTP CLIENT span a child of ours, once per redirect hop. Without it, our span is the CLIENT
span and carries the HTTP semantic-convention attributes itself.

An API call costs one URL match and one status check when it succeeds: no span, no parsing.
Only a refused one (401, 403, 429) is recorded, after the fact, with its span started at the
send time; since the HTTP span already exists then, ours becomes its child instead of its parent.

Every hgobs step runs under ``guard.guarded``; the application's own result or exception passes
through untouched.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Collection
from typing import Any

import httpx
import wrapt
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from hgobs.capture import foreign
from hgobs.capture.guard import guarded
from hgobs.capture.record import Plan, RecordBuilder, plan_request
from hgobs.capture.streams import AsyncTeeStream, TeeStream
from hgobs.config import ENV_VARS, Options, resolve_options
from hgobs.diagnose import History, diagnose
from hgobs.errors import HgobsError
from hgobs.profiles import API_CALL
from hgobs.schema import ATTRIBUTE_PREFIX, Record, scalar_attributes
from hgobs.sinks import otel as otel_sink
from hgobs.sinks.jsonl import JsonlSink

RECORD_LOG = logging.getLogger("hgobs")
LOG = logging.getLogger("hgobs.internal")
OPTION_NAMES = (*ENV_VARS, "clock", "max_body_bytes", "history_entries")
REFUSED_STATUSES = frozenset({401, 403, 429})
WRAPPED = ("send", "_send_handling_redirects")
"""``send`` records the application's request; ``_send_handling_redirects`` (httpx's step per
request of an ``httpx.Auth`` flow, redirects included) records requests an auth flow makes
itself, such as a token request yielded before the API call. The same request is recorded once."""
HANDLING = "_hgobs_recording"
"""Attribute set on a request while hgobs records it: a nested ``send`` of the same request
(per-client and global instrumentation together) passes through; other requests, even nested
ones made from an ``httpx.Auth`` flow by another client, are recorded. (An attribute of the
request itself: cheaper to set and test than membership of a weak set.)"""


def _otel_httpx_enabled(client: Any) -> bool:
    """True when OpenTelemetry's httpx instrumentation is on, globally or for ``client``."""
    if getattr(client, "_is_instrumented_by_opentelemetry", False):
        return True
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    except ImportError:  # pragma: no cover - it is a dependency
        return False
    return bool(HTTPXClientInstrumentor().is_instrumented_by_opentelemetry)


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


def _http_span_context(request: httpx.Request) -> trace.SpanContext | None:
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


def _has_http_child(request: httpx.Request, span: trace.Span) -> bool:
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
    child = _http_span_context(request)
    return child is not None and child.trace_id == own.trace_id and child.span_id != own.span_id


def _ids(span: trace.Span) -> dict[str, str]:
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return {}
    return {"trace_id": trace.format_trace_id(ctx.trace_id),
            "span_id": trace.format_span_id(ctx.span_id)}


class Recorder:
    """One instrumentation's state: options, record builder, history, tracer, metrics, sinks."""

    def __init__(self, options: Options, tracer_provider: Any = None,
                 meter_provider: Any = None) -> None:
        self.options = options
        self.builder = RecordBuilder(options)
        self.history = History(max_entries=options.history_entries)
        self.tracer = otel_sink.get_tracer(tracer_provider)
        self.metrics = otel_sink.Metrics(meter_provider,
                                         [e.name for e in options.profile.environments])
        self.jsonl = JsonlSink(options.jsonl_path) if options.jsonl_path else None
        self._tracer_provider = tracer_provider
        self._service: str | None = None

    def service_name(self) -> str | None:
        """``service.name`` of the tracer provider's resource, looked up once."""
        if self._service is None:
            provider = self._tracer_provider or trace.get_tracer_provider()
            resource = getattr(provider, "resource", None)
            name = resource.attributes.get("service.name") if resource is not None else None
            self._service = str(name) if name else ""
        return self._service or None

    def complete(self, record: Record, span: trace.Span, http_attributes: bool,
                 duration_s: float | None) -> None:
        """Diagnose ``record``, put it on ``span`` (and end it), and send it to every sink."""
        try:
            record.update(_ids(span))
            if duration_s is not None:
                record["duration_s"] = round(duration_s, 6)
            service = self.service_name()
            if service:
                record["service.name"] = service
            self.history.annotate(record)
            record.update(diagnose(record, self.options.profile).as_fields())
            otel_sink.finish_span(span, record, http_attributes=http_attributes)
        finally:
            span.end()
        guarded("metrics", self.metrics.record, record, duration_s)
        if self.jsonl is not None:
            guarded("jsonl", self.jsonl.write, record)
        guarded("log", _log_record, record)


def _log_record(record: Record) -> None:
    if not RECORD_LOG.isEnabledFor(logging.INFO):
        return
    level = logging.WARNING if record.get("outcome") == "failed" else logging.INFO
    extra = {ATTRIBUTE_PREFIX + k: v for k, v in scalar_attributes(record).items()}
    RECORD_LOG.log(level, "hgobs auth attempt %s %s: %s", record.get("endpoint.kind"),
                   record.get("environment"), record.get("category"), extra=extra)


class _Exchange:
    """A token exchange in flight: our span, started before the transport runs.

    The span kind is CLIENT only when OpenTelemetry's httpx instrumentation is off; whether our
    span also carries the HTTP attributes is decided at the end, from whether an HTTP span was
    really made inside it (a custom transport may not be wrapped). The span is ended on every
    path, also when a step of hgobs fails.
    """

    def __init__(self, recorder: Recorder, client: Any, request: httpx.Request, plan: Plan):
        self.recorder = recorder
        self.request = request
        self.plan = plan
        self.now = recorder.options.clock()
        self.span = recorder.tracer.start_span(
            otel_sink.span_name(plan.kind),
            kind=otel_sink.span_kind(not _otel_httpx_enabled(client)))
        self.started = time.perf_counter()
        self._ended = False

    def _complete(self, record: Record, duration: float) -> None:
        self._ended = True
        http_attributes = not _has_http_child(self.request, self.span)
        self.recorder.complete(record, self.span, http_attributes, duration)

    def end(self) -> None:
        """End the span if no record completed it (a step of hgobs failed)."""
        if not self._ended:
            self._ended = True
            self.span.end()

    def fail(self, exc: BaseException) -> None:
        """Record the exchange that raised ``exc``; an exception carrying the response (an
        event hook's ``raise_for_status``) is recorded with that response."""
        try:
            response = getattr(exc, "response", None)
            if isinstance(response, httpx.Response):
                self.respond(response, asynchronous=False, tee=False)
                return
            record = self.recorder.builder.transport_error(self.request, self.plan, self.now,
                                                           type(exc).__qualname__)
            self._complete(record, time.perf_counter() - self.started)
        finally:
            self.end()

    def respond(self, response: httpx.Response, asynchronous: bool, tee: bool = True) -> None:
        """Record the exchange now (body already read, or never to be read), or when the
        application closes a streamed body."""
        try:
            duration = time.perf_counter() - self.started
            limit = self.recorder.options.max_body_bytes
            content = getattr(response, "_content", None)
            if isinstance(content, bytes) or response.is_closed or not tee:
                body = content if isinstance(content, bytes) and len(content) <= limit else None
                record, _ = self.recorder.builder.exchange(self.request, self.plan, self.now,
                                                           response, body)
                self._complete(record, duration)
                return
            record, known = self.recorder.builder.exchange(self.request, self.plan, self.now,
                                                           response, None)
            headers = response.headers

            def done(raw: bytes | None) -> None:
                try:
                    body = decoded(raw, headers, limit)
                    self.recorder.builder.add_body(record, body, known)
                    self._complete(record, duration)
                finally:
                    self.end()

            stream_type = AsyncTeeStream if asynchronous else TeeStream
            response.stream = stream_type(response.stream, limit, done)
            self._ended = True  # from here on, ``done`` ends the span
        except BaseException:
            self.end()
            raise


def decoded(raw: bytes | None, headers: httpx.Headers, limit: int) -> bytes | None:
    """The body as the application reads it: ``raw`` bytes of a streamed response with their
    ``Content-Encoding`` (gzip, deflate, br, zstd) undone by httpx; None when over ``limit``."""
    if raw is None or "content-encoding" not in headers:
        return raw
    data = httpx.Response(200, headers=headers, stream=httpx.ByteStream(raw)).read()
    return data if len(data) <= limit else None


def _record_api(recorder: Recorder, request: httpx.Request, plan: Plan,
                now: float, start_ns: int, started: float, response: httpx.Response) -> None:
    duration = time.perf_counter() - started
    record = recorder.builder.api_call(request, plan, now, response)
    # The HTTP span, if any, is over; its context is in the propagation headers it injected.
    http_span = _http_span_context(response.request)
    parent = trace.set_span_in_context(trace.NonRecordingSpan(http_span)) if http_span else None
    span = recorder.tracer.start_span(
        otel_sink.span_name(plan.kind), context=parent, start_time=start_ns,
        kind=otel_sink.span_kind(http_span is None))
    recorder.complete(record, span, http_span is None, duration)


def _plan(recorder: Recorder | None, args: tuple[Any, ...], kwargs: dict[str, Any]
          ) -> tuple[httpx.Request, Plan] | None:
    if recorder is None:
        return None
    request = args[0] if args else kwargs.get("request")
    # The inner step of a request the outer wrapper is recording: leave at once (every request).
    if not isinstance(request, httpx.Request) or HANDLING in request.__dict__:
        return None
    if not is_instrumentation_enabled():
        return None
    if foreign.pending():  # redaction of other spans waits for an SDK tracer provider
        foreign.retry()
    plan = plan_request(request, recorder.options)
    return (request, plan) if plan is not None else None


def _refused(exc: BaseException) -> httpx.Response | None:
    """The refused response an exception carries (an event hook's ``raise_for_status``)."""
    response = getattr(exc, "response", None)
    if isinstance(response, httpx.Response) and response.status_code in REFUSED_STATUSES:
        return response
    return None


def sync_send(recorder: Recorder | None, client: Any, wrapped: Any,
              args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run ``Client.send`` (``wrapped``) and record it when it is an auth attempt."""
    planned = guarded("plan", _plan, recorder, args, kwargs)
    if planned is None:
        return wrapped(*args, **kwargs)
    assert recorder is not None
    request, plan = planned
    setattr(request, HANDLING, True)
    try:
        if plan.kind == API_CALL:
            now, start_ns, started = recorder.options.clock(), time.time_ns(), time.perf_counter()
            try:
                response = wrapped(*args, **kwargs)
            except Exception as exc:
                if (refused := _refused(exc)) is not None:
                    guarded("api_call", _record_api, recorder, request, plan, now, start_ns,
                            started, refused)
                raise
            if response.status_code in REFUSED_STATUSES:
                guarded("api_call", _record_api, recorder, request, plan, now, start_ns,
                        started, response)
            return response
        exchange = guarded("start", _Exchange, recorder, client, request, plan)
        if exchange is None:
            return wrapped(*args, **kwargs)
        token = otel_context.attach(trace.set_span_in_context(exchange.span))
        try:
            response = wrapped(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(token)
            guarded("fail", exchange.fail, exc)
            raise
        otel_context.detach(token)
        guarded("respond", exchange.respond, response, False)
        return response
    finally:
        request.__dict__.pop(HANDLING, None)


async def async_send(recorder: Recorder | None, client: Any, wrapped: Any,
                     args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The async twin of ``sync_send`` for ``AsyncClient.send``."""
    planned = guarded("plan", _plan, recorder, args, kwargs)
    if planned is None:
        return await wrapped(*args, **kwargs)
    assert recorder is not None
    request, plan = planned
    setattr(request, HANDLING, True)
    try:
        if plan.kind == API_CALL:
            now, start_ns, started = recorder.options.clock(), time.time_ns(), time.perf_counter()
            try:
                response = await wrapped(*args, **kwargs)
            except Exception as exc:
                if (refused := _refused(exc)) is not None:
                    guarded("api_call", _record_api, recorder, request, plan, now, start_ns,
                            started, refused)
                raise
            if response.status_code in REFUSED_STATUSES:
                guarded("api_call", _record_api, recorder, request, plan, now, start_ns,
                        started, response)
            return response
        exchange = guarded("start", _Exchange, recorder, client, request, plan)
        if exchange is None:
            return await wrapped(*args, **kwargs)
        token = otel_context.attach(trace.set_span_in_context(exchange.span))
        try:
            response = await wrapped(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(token)
            guarded("fail", exchange.fail, exc)
            raise
        otel_context.detach(token)
        guarded("respond", exchange.respond, response, True)
        return response
    finally:
        request.__dict__.pop(HANDLING, None)


class HGAuthInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """OpenTelemetry instrumentor for auth attempts made with httpx (sync and async).

    ``HGAuthInstrumentor().instrument(**kwargs)`` wraps every ``httpx.Client`` and
    ``httpx.AsyncClient``. Keyword arguments: ``tracer_provider``, ``meter_provider`` and the
    ``hgobs.config.Options`` fields (``profile``, ``client_id``, ``jsonl_path``,
    ``fingerprint_key``, ``clock``, ``max_body_bytes``); the rest come from ``HGOBS_*`` env vars.
    Registered as entry point ``hgobs`` in group ``opentelemetry_instrumentor``, so
    ``opentelemetry-instrument`` loads it. Raises ``ConfigError``/``ProfileError`` for a bad
    keyword option; a bad ``HGOBS_*`` variable is logged on ``hgobs.internal`` and leaves hgobs
    off, so it never stops the other instrumentations of an ``opentelemetry-instrument`` run.
    """

    _recorder: Recorder | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        """The httpx versions this instrumentation supports."""
        return ("httpx >= 0.23",)

    def _instrument(self, **kwargs: Any) -> None:
        try:
            options = resolve_options(**kwargs)
        except HgobsError as exc:
            if any(kwargs.get(name) is not None for name in OPTION_NAMES):
                raise  # a caller passed the bad option: tell the caller
            # Settings from the environment only (e.g. under opentelemetry-instrument): a bad
            # HGOBS_* value must not stop the other instrumentations; hgobs stays off.
            LOG.warning("hgobs: not instrumenting, bad setting: %s", exc)
            return
        self._recorder = Recorder(options, kwargs.get("tracer_provider"),
                                  kwargs.get("meter_provider"))
        if options.redact_spans:
            foreign.attach(options.profile, kwargs.get("tracer_provider"))
        instrumentor = self

        def sync_wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
            return sync_send(instrumentor._recorder, instance, wrapped, args, kw)

        async def async_wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
            return await async_send(instrumentor._recorder, instance, wrapped, args, kw)

        for name in WRAPPED:
            if hasattr(httpx.Client, name):
                wrapt.wrap_function_wrapper(httpx.Client, name, sync_wrapper)
                wrapt.wrap_function_wrapper(httpx.AsyncClient, name, async_wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        for name in WRAPPED:
            if hasattr(httpx.Client, name):
                unwrap(httpx.Client, name)
                unwrap(httpx.AsyncClient, name)
        if self._recorder is not None and self._recorder.jsonl is not None:
            self._recorder.jsonl.close()
        self._recorder = None


def instrument_client(client: httpx.Client | httpx.AsyncClient, **kwargs: Any) -> None:
    """Record the auth attempts of one ``httpx.Client`` or ``httpx.AsyncClient``.

    Takes the same keyword arguments as ``HGAuthInstrumentor.instrument``. Calling it twice on
    one client is a no-op. Raises ``ConfigError``/``ProfileError`` for bad options.
    """
    if getattr(client, "_hgobs_recorder", None) is not None:
        return
    recorder = Recorder(resolve_options(**kwargs), kwargs.get("tracer_provider"),
                        kwargs.get("meter_provider"))
    if recorder.options.redact_spans:
        foreign.attach(recorder.options.profile, kwargs.get("tracer_provider"))
    for name in WRAPPED:
        original = getattr(client, name, None)
        if original is None:
            continue
        setattr(client, name, _bound_wrapper(recorder, client, original))
    client._hgobs_recorder = recorder  # type: ignore[union-attr]


def _bound_wrapper(recorder: Recorder, client: Any, original: Any) -> Any:
    if isinstance(client, httpx.AsyncClient):
        async def async_bound(*args: Any, **kw: Any) -> Any:
            return await async_send(recorder, client, original, args, kw)
        return async_bound

    def bound(*args: Any, **kw: Any) -> Any:
        return sync_send(recorder, client, original, args, kw)
    return bound


def uninstrument_client(client: httpx.Client | httpx.AsyncClient) -> None:
    """Undo ``instrument_client`` (no-op for a client it did not instrument)."""
    recorder = getattr(client, "_hgobs_recorder", None)
    if recorder is None:
        return
    for name in WRAPPED:
        if name in vars(client):
            delattr(client, name)
    client._hgobs_recorder = None  # type: ignore[union-attr]
    if recorder.jsonl is not None:
        recorder.jsonl.close()
