"""Record one auth attempt: diagnose it, put it on its span, and send it to every sink.

``Recorder`` holds one instrumentation's state (options, record builder, history, tracer,
metrics, sinks); ``Exchange`` is a token exchange in flight (its span is started before the
transport runs); ``record_api`` records a refused API call after the fact. Every step of
hgobs runs under ``guard.guarded``; spans end on every path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from opentelemetry import trace

from hgobs.capture.guard import LOG, guarded, report
from hgobs.capture.parentage import has_http_child, http_span_context, otel_httpx_enabled, span_ids
from hgobs.capture.record import Plan, RecordBuilder
from hgobs.capture.routes import Routes
from hgobs.capture.streams import AsyncTeeStream, TeeStream, decode_bounded
from hgobs.config import Options
from hgobs.diagnosis import History, diagnose
from hgobs.facts.text import valid_text
from hgobs.profiles import Profile
from hgobs.schema import Record, time_in_range
from hgobs.sinks import Sink
from hgobs.sinks import jsonl as jsonl_sink
from hgobs.sinks import otel as otel_sink
from hgobs.sinks.logging import LogSink


class Recorder:
    """One instrumentation's state: options, the routes to its providers, record builder,
    history (shared by the providers: a trace may cross them), tracer, metrics, sinks."""

    def __init__(self, options: Options, tracer_provider: Any = None,
                 meter_provider: Any = None) -> None:
        self.options = options
        self.routes = Routes.of(options)
        self.builder = RecordBuilder(options, routes=self.routes)
        self.history = History(max_entries=options.history_entries, profile=options.profile)
        self._overflow_said = False
        # A tracer or meter provider that raises leaves hgobs without spans or metrics, never
        # the application without its request.
        tracer = guarded("tracer", otel_sink.get_tracer, tracer_provider)
        self.tracer: trace.Tracer = tracer if tracer is not None else trace.NoOpTracer()
        self.metrics: otel_sink.Metrics | None = guarded(
            "meter", otel_sink.Metrics, meter_provider,
            [(p.name, e.name) for p in self.routes.profiles for e in p.environments])
        self.jsonl = jsonl_sink.open_sink(options.jsonl_path, self._dropped) \
            if options.jsonl_path else None
        sinks: list[tuple[str, Sink]] = [("jsonl", self.jsonl)] if self.jsonl is not None else []
        self.sinks: tuple[tuple[str, Sink], ...] = (*sinks, ("log", LogSink()))
        """Each sink with the step name its failures are reported under, in write order."""
        self._tracer_provider = tracer_provider
        self._service: str | None = None
        # The default clock needs no checks: read it directly (once per recorded request).
        self.now: Callable[[], float] = time.time if options.clock is time.time \
            else self._checked_now
        """``options.clock()`` as float epoch seconds (see ``_checked_now``)."""

    def _checked_now(self) -> float:
        """``options.clock()`` as float epoch seconds; the system clock when that raises or
        returns anything but a number that is a record time in range (``None``, a string, NaN,
        ``10**400``, milliseconds: ``hgobs.schema.time_in_range``, the analyzer's bound too):
        the error is reported once, the record kept."""
        try:
            now = self.options.clock()
            if isinstance(now, bool) or not isinstance(now, (int, float)) \
                    or not time_in_range(now := float(now)):
                raise TypeError("clock() returned no epoch seconds from 1970 to 2100")
            return now
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
                 duration_s: float | None, plan: Plan | None = None) -> None:
        """Diagnose ``record`` under the profile of the provider ``plan`` was routed to (the
        first provider's without one), put it on ``span`` (and end it), and send it to every
        sink."""
        fields = None
        try:
            valid_text(record)
            record.update(span_ids(span))
            if duration_s is not None:
                record["duration_s"] = round(duration_s, 6)
            service = self.service_name()
            if service:
                record["service.name"] = service
            self.history.annotate(record)
            if self.history.overflowed and not self._overflow_said:
                self._overflow_said = True
                LOG.warning("hgobs: the history table is full (history_entries=%d): entries are "
                            "dropped before their horizon, so a reused assertion or a token's "
                            "age may go unseen; raise history_entries", self.history.max_entries)
            profile: Profile = self.routes.provider(plan).profile if plan is not None \
                else self.options.profile
            record.update(diagnose(record, profile).as_fields())
            fields = otel_sink.finish_span(span, record, http_attributes=http_attributes,
                                           template=self.options.url_template)
        finally:
            span.end()
        if self.metrics is not None:
            guarded("metrics", self.metrics.record, record, duration_s, span)
        for step, sink in self.sinks:
            guarded(step, sink.write, record, fields)


    def close(self) -> None:
        """Close every sink (each flushes first, within its own bound); a sink's failure is
        reported under ``<step>.close`` and does not stop the others."""
        for step, sink in self.sinks:
            guarded(f"{step}.close", sink.close)


class Exchange:
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
        client_span = not otel_httpx_enabled(client)
        self.span = recorder.tracer.start_span(
            otel_sink.span_name(plan.kind, request.method if client_span else None),
            kind=otel_sink.span_kind(client_span))
        self.started = time.perf_counter()
        self._ended = False

    def _complete(self, record: Record, duration: float) -> None:
        http_attributes = not has_http_child(self.request, self.span)
        self._ended = True
        self.recorder.complete(record, self.span, http_attributes, duration, self.plan)

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


def record_api(recorder: Recorder, request: httpx.Request, plan: Plan,
                now: float, start_ns: int, started: float, response: httpx.Response) -> None:
    duration = time.perf_counter() - started
    record = recorder.builder.api_call(request, plan, now, response)
    # The HTTP span, if any, is over; its context is in the propagation headers it injected.
    http_span = http_span_context(response.request)
    parent = trace.set_span_in_context(trace.NonRecordingSpan(http_span)) if http_span else None
    span = recorder.tracer.start_span(
        otel_sink.span_name(plan.kind, None if http_span else request.method), context=parent,
        start_time=start_ns, kind=otel_sink.span_kind(http_span is None))
    recorder.complete(record, span, http_span is None, duration, plan)
