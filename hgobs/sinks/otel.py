"""OpenTelemetry sink: put a record on a span and count it in metrics.

Span attributes are ``hgobs.<field>`` (see ``hgobs.schema``). When OpenTelemetry's own httpx
instrumentation is not active, our span is the HTTP client span and also carries the HTTP
semantic-convention attributes (``http.request.method``, ``url.full`` redacted,
``server.address``, ``server.port``, ``http.response.status_code``, ``error.type``). A failure
sets the span status to ERROR with the category id as description.

Metrics (OpenTelemetry metrics API; bounded attributes only - no client id, URL, fingerprint or
free text):

- ``hgobs.attempts`` counter, unit ``{attempt}``: ``hgobs.outcome``, ``hgobs.category``,
  ``hgobs.environment``, ``hgobs.endpoint.kind``;
- ``hgobs.exchange.duration`` histogram, unit ``s``: token exchange duration;
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

from hgobs.catalog import CATEGORIES, OK
from hgobs.schema import ATTRIBUTE_PREFIX, FIELDS, Record

INSTRUMENTATION_NAME = "hgobs"
METRIC_ATTRIBUTES = ("outcome", "category", "environment", "endpoint.kind")
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
                      30.0, 60.0)
EXPIRY_BUCKETS_S = (0.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 86400.0)
"""Seconds to expiry at send. Histograms take no negative values, so an assertion that had
already expired is recorded as 0 and lands in the first bucket (<= 0)."""


def span_name(kind: str) -> str:
    """The name of our span for an endpoint kind (``hgobs token_exchange``)."""
    return f"hgobs {kind}"


def semconv_attributes(record: Record, url_full: str) -> dict[str, Any]:
    """HTTP client semantic-convention attributes for a record (stable HTTP semconv)."""
    attrs: dict[str, Any] = {
        "http.request.method": record.get("http.method"),
        "url.full": url_full,
        "server.address": record.get("server.address"),
    }
    port = _url_port(url_full)
    if port is None:
        port = {"https": 443, "http": 80}.get(str(record.get("url.scheme")))
    if port is not None:
        attrs["server.port"] = port
    status = record.get("http.status")
    if status is not None:
        attrs["http.response.status_code"] = status
        if status >= 400:
            attrs["error.type"] = str(status)
    if record.get("error.type"):
        attrs["error.type"] = record["error.type"]
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


def finish_span(span: Span, record: Record, *, http_attributes: bool) -> None:
    """Set the record on ``span`` and its status (ERROR + category id for a failure)."""
    if not span.is_recording():
        return
    attributes = record_attributes(record)
    if http_attributes:  # no key in common: as if set after the record's, in one call
        attributes.update(semconv_attributes(record, str(record.get("url", ""))))
    span.set_attributes(attributes)
    if record.get("outcome") == "failed":
        span.set_status(Status(StatusCode.ERROR, str(record.get("category"))))


def span_kind(http_attributes: bool) -> SpanKind:
    """CLIENT when our span stands for the HTTP request itself, else INTERNAL."""
    return SpanKind.CLIENT if http_attributes else SpanKind.INTERNAL


class Metrics:
    """The hgobs instruments, made from a meter provider (None: the global one)."""

    def __init__(self, meter_provider: metrics.MeterProvider | None = None,
                 environments: Iterable[str] = ()) -> None:
        from hgobs import __version__

        meter = metrics.get_meter(INSTRUMENTATION_NAME, __version__, meter_provider)
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
        (environment and outcome), made once per combination; never changed once made (the SDK
        only reads them)."""
        attrs = {ATTRIBUTE_PREFIX + k: v for k, v in zip(METRIC_ATTRIBUTES, values, strict=True)}
        base = {k: attrs[k] for k in (ATTRIBUTE_PREFIX + "environment",
                                      ATTRIBUTE_PREFIX + "outcome")}
        return attrs, base

    def _initialise(self, environments: Iterable[str]) -> None:
        """Add 0 to every (outcome, category, environment, endpoint kind) series the profile can
        produce, so a series exists before its first attempt and Prometheus' ``increase()`` and
        ``rate()`` count that first attempt too."""
        for env in environments:
            for kind in ("token_exchange", "api_call"):
                for category in (OK, *CATEGORIES):
                    attrs = {ATTRIBUTE_PREFIX + "outcome": "ok" if category == OK else "failed",
                             ATTRIBUTE_PREFIX + "category": category,
                             ATTRIBUTE_PREFIX + "environment": env,
                             ATTRIBUTE_PREFIX + "endpoint.kind": kind}
                    self.attempts.add(0, attrs)

    def record_dropped(self) -> None:
        """Count one record the JSON Lines sink dropped."""
        self.records_dropped.add(1)

    def record(self, record: Record, duration_s: float | None) -> None:
        """Count one record; durations only for token exchanges."""
        get = record.get  # the METRIC_ATTRIBUTES, in their order
        attrs, base = self._attributes((str(get("outcome") or "unknown"),
                                        str(get("category") or "unknown"),
                                        str(get("environment") or "unknown"),
                                        str(get("endpoint.kind") or "unknown")))
        self.attempts.add(1, attrs)
        if record.get("endpoint.kind") == "token_exchange":
            if duration_s is not None:
                self.exchange_duration.record(duration_s, base)
            expiry = record.get("assertion.seconds_to_expiry")
            if isinstance(expiry, (int, float)) and record.get("assertion.source") != "bearer":
                self.assertion_expiry.record(max(0.0, float(expiry)), base)


def get_tracer(tracer_provider: trace.TracerProvider | None = None) -> trace.Tracer:
    """The hgobs tracer from ``tracer_provider`` (None: the global one)."""
    from hgobs import __version__

    return trace.get_tracer(INSTRUMENTATION_NAME, __version__, tracer_provider)
