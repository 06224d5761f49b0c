"""OpenTelemetry sink: put a record on a span and count it in metrics.

Span attributes are ``hgobs.<field>`` (see ``hgobs.schema``). When OpenTelemetry's own httpx
instrumentation is not active, our span is the HTTP client span: kind CLIENT, named
``{method}`` (``HTTP`` for a method outside RFC 9110 and RFC 5789), and it also carries the HTTP
semantic-convention attributes (``http.request.method``, ``url.full`` redacted,
``server.address``, ``server.port``, ``http.response.status_code``, ``error.type``). Otherwise
it is an INTERNAL span named ``hgobs <endpoint kind>``. A failure sets the span status to ERROR
with the category id as description, and ``error.type`` (see ``error_type``). The conventions
followed are those of ``SCHEMA_URL``, set on the tracer and the meter.

Metrics (OpenTelemetry metrics API; bounded attributes only - no client id, URL, fingerprint or
free text), recorded in the context of our span so that an exemplar filter links them to it:

- ``hgobs.attempts`` counter, unit ``{attempt}``: ``hgobs.outcome``, ``hgobs.category``,
  ``hgobs.environment``, ``hgobs.endpoint.kind``, ``hgobs.profile`` (the provider profile's
  name), and ``error.type`` (the category id) on failures;
- ``hgobs.exchange.duration`` histogram, unit ``s``: token exchange duration (attributes
  ``hgobs.environment``, ``hgobs.outcome``, ``hgobs.profile``, as the next);
- ``hgobs.assertion.expiry`` histogram, unit ``s``: the assertion's seconds to expiry at send
  (0 for an assertion already expired: histograms take no negative values);
- ``hgobs.records.dropped`` counter, unit ``{record}``, no attributes: records the JSON Lines
  sink could not write (its queue was full: a stalled or slow file system; or the write
  failed: a full disk), started at 0.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from hgobs.diagnosis.catalog import CATEGORIES, OK
from hgobs.schema import ATTRIBUTE_PREFIX, FIELDS, Record

INSTRUMENTATION_NAME = "hgobs"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.27.0"
"""The semantic conventions our attributes and span names follow: the stable HTTP client span
attributes and name rule, and the ``error.type`` attribute (semconv 1.27.0)."""
KNOWN_METHODS = frozenset({"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
                           "TRACE"})
"""The methods of RFC 9110 section 9 and PATCH (RFC 5789): the HTTP semconv's known methods;
any other is ``_OTHER`` in ``http.request.method`` and ``HTTP`` in the span name."""
METRIC_ATTRIBUTES = ("outcome", "category", "environment", "endpoint.kind", "profile")
HISTOGRAM_ATTRIBUTES = ("environment", "outcome", "profile")
"""The histograms' attributes: a subset of ``METRIC_ATTRIBUTES``."""
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
                      30.0, 60.0)
EXPIRY_BUCKETS_S = (0.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 86400.0)
"""Seconds to expiry at send. Histograms take no negative values, so an assertion that had
already expired is recorded as 0 and lands in the first bucket (<= 0)."""


def span_name(kind: str, method: str | None = None, template: str | None = None) -> str:
    """The name of our span.

    Without ``method``, our INTERNAL span for an endpoint kind: ``hgobs token_exchange``,
    ``hgobs api_call``. With the request ``method``, our span as the HTTP CLIENT span:
    ``{method}`` (``POST``), or ``HTTP`` for a method that is not known; with a ``template``
    (the opt-in ``url.template``, when enabled) ``{method} {template}`` (HTTP semconv, "HTTP
    client span name")."""
    if method is None:
        return f"hgobs {kind}"
    name = method if method in KNOWN_METHODS else "HTTP"
    return f"{name} {template}" if template else name


def url_template(url: str) -> str | None:
    """The ``url.template`` of a redacted URL: its path, in which FHIR ids already read
    ``{id}`` and ``{vid}`` (``/fhir/R4/Patient/{id}``); None without a path. Low-cardinality by
    construction: ``hgobs.redaction.redact_url`` made it."""
    path = urlsplit(url).path
    return path or None


def error_type(record: Record, *, http_attributes: bool) -> str | None:
    """The ``error.type`` of a record: None for a success.

    For a failure, the category id; on the HTTP CLIENT span (``http_attributes``), first the
    exception type of a transport error, then the response status code (as a string) when it is
    400 or more, as the HTTP semconv asks (``error.type`` note: exception type, or status code
    when the status indicates an error), and the category id only for a failure diagnosed in a
    response whose status is not an error (a redirect not followed: ``redirect_dropped_body``).
    Every value is low cardinality: catalog ids, httpx exception class names, status codes."""
    if http_attributes:
        if record.get("error.type"):
            return str(record["error.type"])
        status = record.get("http.status")
        if isinstance(status, int) and status >= 400:
            return str(status)
    if record.get("outcome") == "failed":
        return str(record.get("category") or "_OTHER")
    return None


def semconv_attributes(record: Record, url_full: str) -> dict[str, Any]:
    """HTTP client semantic-convention attributes for a record (stable HTTP semconv)."""
    method = record.get("http.method")
    attrs: dict[str, Any] = {
        "http.request.method": method if method in KNOWN_METHODS or method is None else "_OTHER",
        "url.full": url_full,
        "server.address": record.get("server.address"),
    }
    if method is not None and method not in KNOWN_METHODS:
        attrs["http.request.method_original"] = method
    port = _url_port(url_full)
    if port is None:
        port = {"https": 443, "http": 80}.get(str(record.get("url.scheme")))
    if port is not None:
        attrs["server.port"] = port
    status = record.get("http.status")
    if status is not None:
        attrs["http.response.status_code"] = status
    attrs["error.type"] = error_type(record, http_attributes=True)
    return {k: v for k, v in attrs.items() if v is not None}


@functools.lru_cache(maxsize=256)
def _url_port(url: str) -> int | None:
    """The explicit port of ``url`` (a redacted URL: the same few again and again), or None."""
    try:
        return urlsplit(url).port
    except ValueError:
        return None


_KEYS: dict[str, str] = {f.name: f.attribute for f in FIELDS}
"""``hgobs.<field>`` per field name: the schema's, and others as met (a bounded set)."""


def record_attributes(record: Record) -> dict[str, Any]:
    """All record fields as ``hgobs.*`` span attributes: ``scalar_attributes`` of the record,
    keys prefixed, in one pass."""
    keys = _KEYS
    try:
        return {keys[k]: [str(x) for x in v] if isinstance(v, list) else v
                for k, v in record.items() if v is not None}
    except KeyError:  # a field the schema does not name: made below, and remembered
        pass
    out: dict[str, Any] = {}
    for k, v in record.items():
        if v is None:
            continue
        key = _KEYS.get(k)
        if key is None:
            key = _KEYS.setdefault(k, ATTRIBUTE_PREFIX + k) if len(_KEYS) < 1024 \
                else ATTRIBUTE_PREFIX + k
        out[key] = [str(x) for x in v] if isinstance(v, list) else v
    return out


def finish_span(span: Span, record: Record, *, http_attributes: bool,
                template: bool = False) -> dict[str, Any] | None:
    """Set the record on ``span``, its name and its status (ERROR + category id for a failure).

    ``http_attributes``: our span stands for the HTTP request (no HTTP span was made inside
    it); it then gets the HTTP attributes and the HTTP name (``span_name`` with the method),
    else the INTERNAL name (``span_name`` of the endpoint kind) and, for a failure,
    ``error.type`` (the category id). The name is set here because that role is only known at
    the end; the kind, chosen at start, cannot change. ``template``: also set the opt-in
    ``url.template`` on the HTTP span and name it ``{method} {url.template}`` (the HTTP
    semconv populates opt-in attributes only when configured: ``HGOBS_URL_TEMPLATE``).

    Returns ``record_attributes(record)`` (for the logging sink: made once), or None when the
    span is not recording (nothing is set then)."""
    if not span.is_recording():
        return None
    fields = record_attributes(record)
    attributes = dict(fields)
    if http_attributes:  # no key in common: as if set after the record's, in one call
        url = str(record.get("url", ""))
        attributes.update(semconv_attributes(record, url))
        path = url_template(url) if template else None
        if path is not None:
            attributes["url.template"] = path
        span.update_name(span_name(str(record.get("endpoint.kind")),
                                   str(record.get("http.method")), path))
    else:
        span.update_name(span_name(str(record.get("endpoint.kind"))))
        if record.get("outcome") == "failed":
            attributes["error.type"] = error_type(record, http_attributes=False)
    span.set_attributes(attributes)
    if record.get("outcome") == "failed":
        span.set_status(Status(StatusCode.ERROR, str(record.get("category"))))
    return fields


def span_kind(http_attributes: bool) -> SpanKind:
    """CLIENT when our span stands for the HTTP request itself, else INTERNAL."""
    return SpanKind.CLIENT if http_attributes else SpanKind.INTERNAL


class Metrics:
    """The hgobs instruments, made from a meter provider (None: the global one)."""

    def __init__(self, meter_provider: metrics.MeterProvider | None = None,
                 environments: Iterable[str | tuple[str, str]] = ()) -> None:
        from hgobs import __version__

        meter = metrics.get_meter(INSTRUMENTATION_NAME, __version__, meter_provider,
                                  schema_url=SCHEMA_URL)
        self.attempts = meter.create_counter(
            "hgobs.attempts", unit="{attempt}",
            description="Auth attempts seen by hgobs (token exchanges and refused API calls).")
        self.exchange_duration = meter.create_histogram(
            "hgobs.exchange.duration", unit="s",
            description="Duration of token exchanges.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS_S))
        self.assertion_expiry = meter.create_histogram(
            "hgobs.assertion.expiry", unit="s",
            description="Seconds from send to the assertion's exp.",
            explicit_bucket_boundaries_advisory=list(EXPIRY_BUCKETS_S))
        self.records_dropped = meter.create_counter(
            "hgobs.records.dropped", unit="{record}",
            description="Records the JSON Lines sink dropped (queue full or write failed).")
        self.records_dropped.add(0)
        self._initialise(environments)

    @staticmethod
    @functools.lru_cache(maxsize=1024)
    def _attributes(values: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
        """The counter's attributes for the ``METRIC_ATTRIBUTES`` values, and the histograms'
        (``HISTOGRAM_ATTRIBUTES``), made once per combination; never changed once made (the
        SDK only reads them)."""
        attrs = {ATTRIBUTE_PREFIX + k: v for k, v in zip(METRIC_ATTRIBUTES, values, strict=True)}
        if attrs[ATTRIBUTE_PREFIX + "outcome"] == "failed":  # error_type: the category id
            attrs["error.type"] = attrs[ATTRIBUTE_PREFIX + "category"]
        base = {ATTRIBUTE_PREFIX + k: attrs[ATTRIBUTE_PREFIX + k] for k in HISTOGRAM_ATTRIBUTES}
        return attrs, base

    def _initialise(self, environments: Iterable[str | tuple[str, str]]) -> None:
        """Add 0 to every (outcome, category, environment, endpoint kind, profile) series the
        providers can produce, so a series exists before its first attempt and Prometheus'
        ``increase()`` and ``rate()`` count that first attempt too. ``environments``: ``(profile
        name, environment)`` pairs (a plain environment name: the default profile's)."""
        from hgobs.profiles import DEFAULT

        for entry in environments:
            profile, env = entry if isinstance(entry, tuple) else (DEFAULT, entry)
            for kind in ("token_exchange", "api_call"):
                for category in (OK, *CATEGORIES):
                    attrs = {ATTRIBUTE_PREFIX + "outcome": "ok" if category == OK else "failed",
                             ATTRIBUTE_PREFIX + "category": category,
                             ATTRIBUTE_PREFIX + "environment": env,
                             ATTRIBUTE_PREFIX + "endpoint.kind": kind,
                             ATTRIBUTE_PREFIX + "profile": profile}
                    if category != OK:
                        attrs["error.type"] = category
                    self.attempts.add(0, attrs)

    def record_dropped(self) -> None:
        """Count one record the JSON Lines sink dropped."""
        self.records_dropped.add(1)

    def record(self, record: Record, duration_s: float | None, span: Span | None = None) -> None:
        """Count one record; durations only for token exchanges.

        ``span``: our span for the record (ended or not); the measurements are made in its
        context, so an exemplar (trace-based filter: a sampled span) carries its trace and span
        ids, not those of whatever span is current."""
        get = record.get  # the METRIC_ATTRIBUTES, in their order
        attrs, base = self._attributes((str(get("outcome") or "unknown"),
                                        str(get("category") or "unknown"),
                                        str(get("environment") or "unknown"),
                                        str(get("endpoint.kind") or "unknown"),
                                        str(get("profile") or "unknown")))
        context = trace.set_span_in_context(span) if span is not None else None
        self.attempts.add(1, attrs, context=context)
        if record.get("endpoint.kind") == "token_exchange":
            if duration_s is not None:
                self.exchange_duration.record(duration_s, base, context=context)
            expiry = record.get("assertion.seconds_to_expiry")
            if isinstance(expiry, (int, float)) and record.get("assertion.source") != "bearer":
                self.assertion_expiry.record(max(0.0, float(expiry)), base, context=context)


def get_tracer(tracer_provider: trace.TracerProvider | None = None) -> trace.Tracer:
    """The hgobs tracer from ``tracer_provider`` (None: the global one)."""
    from hgobs import __version__

    return trace.get_tracer(INSTRUMENTATION_NAME, __version__, tracer_provider,
                            schema_url=SCHEMA_URL)
