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
import sys
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
from hgobs.capture.guard import guarded, report
from hgobs.capture.record import Plan, RecordBuilder, plan_request
from hgobs.capture.streams import AsyncTeeStream, TeeStream, decode_bounded
from hgobs.capture.text import valid_text
from hgobs.config import Options, resolve_options
from hgobs.diagnose import History, diagnose
from hgobs.errors import HgobsError
from hgobs.package import _instruments
from hgobs.profiles import API_CALL
from hgobs.schema import Record
from hgobs.sinks import jsonl as jsonl_sink
from hgobs.sinks import otel as otel_sink
from hgobs.sinks.logging import log_record

LOG = logging.getLogger("hgobs.internal")
REFUSED_STATUSES = frozenset({401, 403, 429})
WRAPPED = ("send", "_send_handling_redirects")
"""``send`` records the application's request; ``_send_handling_redirects`` (httpx's step per
request of an ``httpx.Auth`` flow, redirects included) records requests an auth flow makes
itself, such as a token request yielded before the API call. The same request is recorded once."""
HANDLING = "_hgobs_recording"
"""Attribute set on a request while hgobs records it: a nested ``send`` of the same request
(per-client and global instrumentation together) passes through; other requests, even nested
ones made from an ``httpx.Auth`` flow by another client, are recorded. (An attribute of the
request itself: cheaper to set and test than membership of a weak set.) For an API call its
value is an ``_Attempts``: each attempt of an ``httpx.Auth`` flow that yields the same request
again (refresh on 401) is seen by ``_send_handling_redirects`` and a refused one recorded there,
once, with the request's credential as it was sent."""


def _otel_httpx_enabled(client: Any) -> bool:
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
        # A tracer or meter provider that raises leaves hgobs without spans or metrics, never
        # the application without its request.
        tracer = guarded("tracer", otel_sink.get_tracer, tracer_provider)
        self.tracer: trace.Tracer = tracer if tracer is not None else trace.NoOpTracer()
        self.metrics: otel_sink.Metrics | None = guarded(
            "meter", otel_sink.Metrics, meter_provider,
            [e.name for e in options.profile.environments])
        self.jsonl = jsonl_sink.open_sink(options.jsonl_path, self._dropped) \
            if options.jsonl_path else None
        self._tracer_provider = tracer_provider
        self._service: str | None = None

    def now(self) -> float:
        """``options.clock()``; the system clock when that raises (the error is reported)."""
        try:
            return self.options.clock()
        except Exception as exc:
            report("clock", exc)
            return time.time()

    def _dropped(self) -> None:
        if self.metrics is not None:
            guarded("metrics", self.metrics.record_dropped)

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
            valid_text(record)
            record.update(_ids(span))
            if duration_s is not None:
                record["duration_s"] = round(duration_s, 6)
            service = self.service_name()
            if service:
                record["service.name"] = service
            self.history.annotate(record)
            record.update(diagnose(record, self.options.profile).as_fields())
            otel_sink.finish_span(span, record, http_attributes=http_attributes,
                                  template=self.options.url_template)
        finally:
            span.end()
        if self.metrics is not None:
            guarded("metrics", self.metrics.record, record, duration_s, span)
        if self.jsonl is not None:
            guarded("jsonl", self.jsonl.write, record)
        guarded("log", log_record, record)


class _Exchange:
    """A token exchange in flight: our span, started before the transport runs.

    The span kind is CLIENT only when OpenTelemetry's httpx instrumentation is off; whether our
    span also carries the HTTP attributes is decided at the end, from whether an HTTP span was
    really made inside it (a custom transport may not be wrapped), and its name then follows
    that role (``otel_sink.finish_span``). The span is ended on every path, also when a step of
    hgobs fails.
    """

    def __init__(self, recorder: Recorder, client: Any, request: httpx.Request, plan: Plan):
        self.recorder = recorder
        self.request = request
        self.plan = plan
        self.now = recorder.now()
        client_span = not _otel_httpx_enabled(client)
        self.span = recorder.tracer.start_span(
            otel_sink.span_name(plan.kind, request.method if client_span else None),
            kind=otel_sink.span_kind(client_span))
        self.started = time.perf_counter()
        self._ended = False

    def _complete(self, record: Record, duration: float) -> None:
        http_attributes = not _has_http_child(self.request, self.span)
        self._ended = True
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
            # An application exception may raise from its attributes: then it has no response.
            response = guarded("fail.response", getattr, exc, "response", None)
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
                    body = decode_bounded(raw, headers, limit)
                    self.recorder.builder.add_body(record, body, known)
                    self._complete(record, duration)
                finally:
                    self.end()  # from the tee on, only ``done`` ends the span

            stream_type = AsyncTeeStream if asynchronous else TeeStream
            response.stream = stream_type(response.stream, limit, done)
        except BaseException:
            self.end()
            raise


def _record_api(recorder: Recorder, request: httpx.Request, plan: Plan,
                now: float, start_ns: int, started: float, response: httpx.Response) -> None:
    duration = time.perf_counter() - started
    record = recorder.builder.api_call(request, plan, now, response)
    # The HTTP span, if any, is over; its context is in the propagation headers it injected.
    http_span = _http_span_context(response.request)
    parent = trace.set_span_in_context(trace.NonRecordingSpan(http_span)) if http_span else None
    span = recorder.tracer.start_span(
        otel_sink.span_name(plan.kind, None if http_span else request.method), context=parent,
        start_time=start_ns, kind=otel_sink.span_kind(http_span is None))
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


RECORDED = "_hgobs_recorded"
"""Attribute set on a refused response once recorded, so the outer ``send`` (or another
instrumentation of the same client) does not record it again."""


class _Attempts:
    """An API call being recorded (the value of ``HANDLING`` on its request): the send time of
    the attempt in flight. Each attempt of an ``httpx.Auth`` flow passes ``_send_handling_redirects``
    once; a refused one is recorded there, at once (the flow may change the request's
    credential before it retries), and marked ``RECORDED``."""

    __slots__ = ("attempts", "inside", "now", "plan", "recorder", "start_ns", "started")

    def __init__(self, recorder: Recorder, plan: Plan) -> None:
        self.recorder = recorder
        self.plan = plan
        self.now, self.start_ns, self.started = recorder.now(), time.time_ns(), time.perf_counter()
        self.attempts = 0
        self.inside = False

    def retry(self) -> None:
        """A later attempt starts (the first keeps the send time of ``send``): take its own."""
        self.now, self.start_ns = self.recorder.now(), time.time_ns()
        self.started = time.perf_counter()

    def seen(self, request: httpx.Request, response: httpx.Response) -> None:
        """Record the refused ``response`` to ``request`` unless it was recorded already."""
        if RECORDED not in response.__dict__:
            response.__dict__[RECORDED] = True
            _record_api(self.recorder, request, self.plan, self.now, self.start_ns,
                        self.started, response)


def _api_error(state: _Attempts, request: httpx.Request, exc: BaseException) -> None:
    refused = guarded("refused", _refused, exc)
    if refused is not None:
        guarded("api_call", state.seen, request, refused)


def _sync_attempt(state: _Attempts, wrapped: Any, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
    """One attempt (``_send_handling_redirects``) of an API call an outer ``send`` records."""
    request = args[0] if args else kwargs["request"]
    state.inside = True
    state.attempts += 1
    if state.attempts > 1:
        guarded("attempt", state.retry)
    try:
        response = wrapped(*args, **kwargs)
    except Exception as exc:
        _api_error(state, request, exc)
        raise
    finally:
        state.inside = False
    if response.status_code in REFUSED_STATUSES:
        guarded("api_call", state.seen, request, response)
    return response


async def _async_attempt(state: _Attempts, wrapped: Any, args: tuple[Any, ...],
                         kwargs: dict[str, Any]) -> Any:
    """The async twin of ``_sync_attempt``."""
    request = args[0] if args else kwargs["request"]
    state.inside = True
    state.attempts += 1
    if state.attempts > 1:
        guarded("attempt", state.retry)
    try:
        response = await wrapped(*args, **kwargs)
    except Exception as exc:
        _api_error(state, request, exc)
        raise
    finally:
        state.inside = False
    if response.status_code in REFUSED_STATUSES:
        guarded("api_call", state.seen, request, response)
    return response


def sync_send(recorder: Recorder | None, client: Any, wrapped: Any,
              args: tuple[Any, ...], kwargs: dict[str, Any], inner: bool = False) -> Any:
    """Run ``Client.send`` (``wrapped``; ``inner``: ``_send_handling_redirects``) and record
    it when it is an auth attempt."""
    if inner:  # an attempt of an API call an outer ``send`` records (see ``_Attempts``)
        try:
            state = (args[0] if args else kwargs["request"]).__dict__.get(HANDLING)
        except Exception:
            state = None
        if type(state) is _Attempts and not state.inside:
            return _sync_attempt(state, wrapped, args, kwargs)
    planned = guarded("plan", _plan, recorder, args, kwargs)
    if planned is None:
        return wrapped(*args, **kwargs)
    assert recorder is not None
    request, plan = planned
    try:
        if plan.kind == API_CALL:
            state = _Attempts(recorder, plan)
            setattr(request, HANDLING, state)
            try:
                response = wrapped(*args, **kwargs)
            except Exception as exc:
                _api_error(state, request, exc)
                raise
            if response.status_code in REFUSED_STATUSES:
                guarded("api_call", state.seen, request, response)
            return response
        setattr(request, HANDLING, True)
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
                     args: tuple[Any, ...], kwargs: dict[str, Any], inner: bool = False) -> Any:
    """The async twin of ``sync_send`` for ``AsyncClient.send``."""
    if inner:
        try:
            state = (args[0] if args else kwargs["request"]).__dict__.get(HANDLING)
        except Exception:
            state = None
        if type(state) is _Attempts and not state.inside:
            return await _async_attempt(state, wrapped, args, kwargs)
    planned = guarded("plan", _plan, recorder, args, kwargs)
    if planned is None:
        return await wrapped(*args, **kwargs)
    assert recorder is not None
    request, plan = planned
    try:
        if plan.kind == API_CALL:
            state = _Attempts(recorder, plan)
            setattr(request, HANDLING, state)
            try:
                response = await wrapped(*args, **kwargs)
            except Exception as exc:
                _api_error(state, request, exc)
                raise
            if response.status_code in REFUSED_STATUSES:
                guarded("api_call", state.seen, request, response)
            return response
        setattr(request, HANDLING, True)
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
    ``opentelemetry-instrument`` loads it. Never raises into the application: a bad option
    (keyword or ``HGOBS_*`` variable: ``ConfigError``/``ProfileError``), a tracer or meter
    provider that raises, or any other failure is logged on ``hgobs.internal`` and leaves hgobs
    off (``is_instrumented_by_opentelemetry`` stays False, so ``instrument`` may be called
    again), so it never stops the application nor the other instrumentations of an
    ``opentelemetry-instrument`` run. (The one exception is OpenTelemetry's own
    ``DependencyConflictError`` when the caller passes ``raise_exception_on_conflict=True``,
    as ``opentelemetry-instrument`` does to skip an instrumentation.)
    """

    _recorder: Recorder | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        """The httpx versions this instrumentation supports: ``hgobs.package._instruments``,
        the ``instruments`` extra of ``pyproject.toml`` (OpenTelemetry's convention)."""
        return _instruments

    def instrument(self, **kwargs: Any) -> Any:
        """``BaseInstrumentor.instrument``, never raising into the application (see the class
        docstring); hgobs stays off after a failure."""
        try:
            result = super().instrument(**kwargs)
        except Exception as exc:
            if kwargs.get("raise_exception_on_conflict") \
                    and type(exc).__name__ == "DependencyConflictError":
                raise
            LOG.warning("hgobs: not instrumenting (%s)", type(exc).__qualname__)
            result = None
            guarded("uninstrument", self._uninstrument)
        if self._recorder is None:
            self._is_instrumented_by_opentelemetry = False
        return result

    def _instrument(self, **kwargs: Any) -> None:
        try:
            options = resolve_options(**kwargs)
        except HgobsError as exc:
            # A bad option (in code, or a HGOBS_* value under opentelemetry-instrument) must
            # stop neither the application nor the other instrumentations; hgobs stays off.
            LOG.warning("hgobs: not instrumenting, bad setting: %s", exc)
            return
        self._recorder = Recorder(options, kwargs.get("tracer_provider"),
                                  kwargs.get("meter_provider"))
        if options.redact_spans:
            guarded("attach", foreign.attach, options.profile, kwargs.get("tracer_provider"))
        instrumentor = self

        def wrappers(inner: bool) -> tuple[Any, Any]:
            def sync_wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
                return sync_send(instrumentor._recorder, instance, wrapped, args, kw, inner)

            async def async_wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
                return await async_send(instrumentor._recorder, instance, wrapped, args, kw,
                                        inner)
            return sync_wrapper, async_wrapper

        for name in WRAPPED:
            if hasattr(httpx.Client, name):
                sync_wrapper, async_wrapper = wrappers(name != "send")
                wrapt.wrap_function_wrapper(httpx.Client, name, sync_wrapper)
                wrapt.wrap_function_wrapper(httpx.AsyncClient, name, async_wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        for name in WRAPPED:
            for cls in (httpx.Client, httpx.AsyncClient):
                if hasattr(getattr(cls, name, None), "__wrapped__"):
                    unwrap(cls, name)
        if self._recorder is not None and self._recorder.jsonl is not None:
            guarded("jsonl.close", self._recorder.jsonl.close)
        self._recorder = None


def instrument_client(client: httpx.Client | httpx.AsyncClient, **kwargs: Any) -> None:
    """Record the auth attempts of one ``httpx.Client`` or ``httpx.AsyncClient``.

    Takes the same keyword arguments as ``HGAuthInstrumentor.instrument``. Calling it twice on
    one client is a no-op. Never raises: a bad option (``ConfigError``/``ProfileError``) or any
    other failure is logged on ``hgobs.internal`` and leaves the client as it was.
    """
    try:
        if getattr(client, "_hgobs_recorder", None) is not None:
            return
        recorder = Recorder(resolve_options(**kwargs), kwargs.get("tracer_provider"),
                            kwargs.get("meter_provider"))
        if recorder.options.redact_spans:
            guarded("attach", foreign.attach, recorder.options.profile,
                    kwargs.get("tracer_provider"))
        wrapped = {name: _bound_wrapper(recorder, client, original, name != "send")
                   for name in WRAPPED if (original := getattr(client, name, None)) is not None}
        for name, wrapper in wrapped.items():
            setattr(client, name, wrapper)
        client._hgobs_recorder = recorder  # type: ignore[union-attr]
    except HgobsError as exc:
        LOG.warning("hgobs: not instrumenting this client, bad setting: %s", exc)
    except Exception as exc:
        LOG.warning("hgobs: not instrumenting this client (%s)", type(exc).__qualname__)


def _bound_wrapper(recorder: Recorder, client: Any, original: Any, inner: bool) -> Any:
    if isinstance(client, httpx.AsyncClient):
        async def async_bound(*args: Any, **kw: Any) -> Any:
            return await async_send(recorder, client, original, args, kw, inner)
        return async_bound

    def bound(*args: Any, **kw: Any) -> Any:
        return sync_send(recorder, client, original, args, kw, inner)
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
        guarded("jsonl.close", recorder.jsonl.close)
