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

import contextvars
import logging
import time
from collections.abc import Collection
from typing import Any

import httpx
import wrapt
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap

from hgobs.capture.guard import guarded
from hgobs.capture.record import Plan, RecordBuilder, plan_request
from hgobs.capture.streams import AsyncTeeStream, TeeStream
from hgobs.config import Options, resolve_options
from hgobs.diagnose import History, diagnose
from hgobs.profiles import API_CALL
from hgobs.schema import ATTRIBUTE_PREFIX, Record, scalar_attributes
from hgobs.sinks import otel as otel_sink
from hgobs.sinks.jsonl import JsonlSink

RECORD_LOG = logging.getLogger("hgobs")
REFUSED_STATUSES = frozenset({401, 403, 429})
_IN_HGOBS: contextvars.ContextVar[bool] = contextvars.ContextVar("hgobs_active", default=False)


def _otel_httpx_active(client: Any, request: httpx.Request) -> bool:
    """True when OpenTelemetry's httpx instrumentation will make an HTTP span for ``request``."""
    if getattr(client, "_is_instrumented_by_opentelemetry", False):
        return True
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    except ImportError:  # pragma: no cover - it is a dependency
        return False
    if not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry:
        return False
    transport = client._transport_for_url(request.url)
    return isinstance(transport, (httpx.HTTPTransport, httpx.AsyncHTTPTransport))


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
        self.metrics = otel_sink.Metrics(meter_provider)
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
    """A token exchange in flight: our span, started before the transport runs."""

    def __init__(self, recorder: Recorder, client: Any, request: httpx.Request, plan: Plan):
        self.recorder = recorder
        self.request = request
        self.plan = plan
        self.now = recorder.options.clock()
        self.http_attributes = not _otel_httpx_active(client, request)
        self.span = recorder.tracer.start_span(
            otel_sink.span_name(plan.kind), kind=otel_sink.span_kind(self.http_attributes))
        self.started = time.perf_counter()
        self.duration: float | None = None

    def fail(self, exc: BaseException) -> None:
        record = self.recorder.builder.transport_error(self.request, self.plan, self.now,
                                                       type(exc).__qualname__)
        self.recorder.complete(record, self.span, self.http_attributes,
                               time.perf_counter() - self.started)

    def respond(self, response: httpx.Response, asynchronous: bool) -> None:
        duration = time.perf_counter() - self.started
        limit = self.recorder.options.max_body_bytes
        content = getattr(response, "_content", None)
        if isinstance(content, bytes) or response.is_closed:
            body = content if isinstance(content, bytes) and len(content) <= limit else None
            record, _ = self.recorder.builder.exchange(self.request, self.plan, self.now,
                                                       response, body)
            self.recorder.complete(record, self.span, self.http_attributes, duration)
            return
        record, known = self.recorder.builder.exchange(self.request, self.plan, self.now,
                                                       response, None)

        def done(body: bytes | None) -> None:
            self.recorder.builder.add_body(record, body, known)
            self.recorder.complete(record, self.span, self.http_attributes, duration)

        tee = AsyncTeeStream if asynchronous else TeeStream
        response.stream = tee(response.stream, limit, done)


def _record_api(recorder: Recorder, client: Any, request: httpx.Request, plan: Plan,
                now: float, start_ns: int, started: float, response: httpx.Response) -> None:
    duration = time.perf_counter() - started
    http_attributes = not _otel_httpx_active(client, request)
    parent = None
    if not http_attributes:
        # The HTTP span is over; its context is in the propagation headers it injected.
        parent = propagate.extract(response.request.headers)
        if not trace.get_current_span(parent).get_span_context().is_valid:
            parent = None
    span = recorder.tracer.start_span(
        otel_sink.span_name(plan.kind), context=parent, start_time=start_ns,
        kind=otel_sink.span_kind(http_attributes))
    record = recorder.builder.api_call(request, plan, now, response)
    recorder.complete(record, span, http_attributes, duration)


def _plan(recorder: Recorder | None, args: tuple[Any, ...], kwargs: dict[str, Any]
          ) -> tuple[httpx.Request, Plan] | None:
    if recorder is None or _IN_HGOBS.get() or not is_instrumentation_enabled():
        return None
    request = args[0] if args else kwargs.get("request")
    if not isinstance(request, httpx.Request):
        return None
    plan = plan_request(request, recorder.options)
    return (request, plan) if plan is not None else None


def sync_send(recorder: Recorder | None, client: Any, wrapped: Any,
              args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run ``Client.send`` (``wrapped``) and record it when it is an auth attempt."""
    planned = guarded("plan", _plan, recorder, args, kwargs)
    if planned is None:
        return wrapped(*args, **kwargs)
    assert recorder is not None
    request, plan = planned
    if plan.kind == API_CALL:
        now, start_ns, started = recorder.options.clock(), time.time_ns(), time.perf_counter()
        marker = _IN_HGOBS.set(True)
        try:
            response = wrapped(*args, **kwargs)
        finally:
            _IN_HGOBS.reset(marker)
        if response.status_code in REFUSED_STATUSES:
            guarded("api_call", _record_api, recorder, client, request, plan, now, start_ns,
                    started, response)
        return response
    exchange = guarded("start", _Exchange, recorder, client, request, plan)
    if exchange is None:
        return wrapped(*args, **kwargs)
    token = otel_context.attach(trace.set_span_in_context(exchange.span))
    marker = _IN_HGOBS.set(True)
    try:
        response = wrapped(*args, **kwargs)
    except BaseException as exc:
        _IN_HGOBS.reset(marker)
        otel_context.detach(token)
        guarded("fail", exchange.fail, exc)
        raise
    _IN_HGOBS.reset(marker)
    otel_context.detach(token)
    guarded("respond", exchange.respond, response, False)
    return response


async def async_send(recorder: Recorder | None, client: Any, wrapped: Any,
                     args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The async twin of ``sync_send`` for ``AsyncClient.send``."""
    planned = guarded("plan", _plan, recorder, args, kwargs)
    if planned is None:
        return await wrapped(*args, **kwargs)
    assert recorder is not None
    request, plan = planned
    if plan.kind == API_CALL:
        now, start_ns, started = recorder.options.clock(), time.time_ns(), time.perf_counter()
        marker = _IN_HGOBS.set(True)
        try:
            response = await wrapped(*args, **kwargs)
        finally:
            _IN_HGOBS.reset(marker)
        if response.status_code in REFUSED_STATUSES:
            guarded("api_call", _record_api, recorder, client, request, plan, now, start_ns,
                    started, response)
        return response
    exchange = guarded("start", _Exchange, recorder, client, request, plan)
    if exchange is None:
        return await wrapped(*args, **kwargs)
    token = otel_context.attach(trace.set_span_in_context(exchange.span))
    marker = _IN_HGOBS.set(True)
    try:
        response = await wrapped(*args, **kwargs)
    except BaseException as exc:
        _IN_HGOBS.reset(marker)
        otel_context.detach(token)
        guarded("fail", exchange.fail, exc)
        raise
    _IN_HGOBS.reset(marker)
    otel_context.detach(token)
    guarded("respond", exchange.respond, response, True)
    return response


class HGAuthInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """OpenTelemetry instrumentor for auth attempts made with httpx (sync and async).

    ``HGAuthInstrumentor().instrument(**kwargs)`` wraps every ``httpx.Client`` and
    ``httpx.AsyncClient``. Keyword arguments: ``tracer_provider``, ``meter_provider`` and the
    ``hgobs.config.Options`` fields (``profile``, ``client_id``, ``jsonl_path``,
    ``fingerprint_key``, ``clock``, ``max_body_bytes``); the rest come from ``HGOBS_*`` env vars.
    Registered as entry point ``hgobs`` in group ``opentelemetry_instrumentor``, so
    ``opentelemetry-instrument`` loads it. Raises ``ConfigError``/``ProfileError`` for bad options.
    """

    _recorder: Recorder | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        """The httpx versions this instrumentation supports."""
        return ("httpx >= 0.23",)

    def _instrument(self, **kwargs: Any) -> None:
        options = resolve_options(**kwargs)
        self._recorder = Recorder(options, kwargs.get("tracer_provider"),
                                  kwargs.get("meter_provider"))
        instrumentor = self

        def sync_wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
            return sync_send(instrumentor._recorder, instance, wrapped, args, kw)

        async def async_wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
            return await async_send(instrumentor._recorder, instance, wrapped, args, kw)

        wrapt.wrap_function_wrapper(httpx.Client, "send", sync_wrapper)
        wrapt.wrap_function_wrapper(httpx.AsyncClient, "send", async_wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        unwrap(httpx.Client, "send")
        unwrap(httpx.AsyncClient, "send")
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
    original = client.send
    if isinstance(client, httpx.AsyncClient):
        async def send(*args: Any, **kw: Any) -> Any:
            return await async_send(recorder, client, original, args, kw)
    else:
        def send(*args: Any, **kw: Any) -> Any:
            return sync_send(recorder, client, original, args, kw)
    client._hgobs_recorder = recorder  # type: ignore[union-attr]
    client.send = send  # type: ignore[method-assign]


def uninstrument_client(client: httpx.Client | httpx.AsyncClient) -> None:
    """Undo ``instrument_client`` (no-op for a client it did not instrument)."""
    recorder = getattr(client, "_hgobs_recorder", None)
    if recorder is None:
        return
    del client.send  # type: ignore[attr-defined]
    client._hgobs_recorder = None  # type: ignore[union-attr]
    if recorder.jsonl is not None:
        recorder.jsonl.close()
