"""An SDK span processor that redacts other instrumentations' spans for the profile's URLs.

``ForeignSpanRedactor`` applies ``hgobs.capture.urlscope.rewrites`` (hgobs's own URL rules) to
every span, whichever instrumentation made it and whichever was instrumented first:

- ``_on_ending`` (called by ``Span.end()`` on every processor before any ``on_end``, while the
  span can still be changed; opentelemetry-sdk 1.40 and later) rewrites the span once, with
  every attribute it got (at start, from response hooks, from instrumentations that set the
  URL late), before any processor's ``on_end``: every exporter gets the redacted span whatever
  the processor order. Doing it once at the end, not also at start, halves the cost; only an
  ``on_start`` of another processor, which exports nothing, sees the URL as given.
- With an older SDK (no ``_on_ending``), ``on_start`` rewrites the attributes and name given at
  start (OpenTelemetry's httpx, requests, urllib3 and aiohttp-client instrumentations give the
  URL there) and ``on_end`` those set later, on the ended span, which processors registered
  after hgobs's (and batch exporters, which export later) see.

Imported only when the SDK is there (``hgobs.capture.foreign.attach``). Cost for a span without
a URL attribute: two dict lookups and a substring test of its name.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import Event, SpanProcessor
from opentelemetry.trace import Status

from hgobs.capture.guard import guarded, report
from hgobs.capture.urlscope import PATH_KEY, QUERY_KEY, TARGET_KEY, URL_KEYS, UrlScope, clean_name, rewrites
from hgobs.redaction import REDACTED
from hgobs.scrub import scrub_text
from hgobs.sinks.otel import INSTRUMENTATION_NAME

FAIL_CLOSED = (*URL_KEYS, TARGET_KEY, PATH_KEY, QUERY_KEY)
"""The attributes replaced whole by ``[redacted]`` when redacting a span fails."""
IN_FLIGHT = 4096
"""Spans (older SDKs only) whose start-time rewrite is remembered until they end."""
MAX_EVENT_TEXT = 4096
"""Characters of an exception message or stack trace kept, once scrubbed."""

SDK_CALLS_ON_ENDING = hasattr(SpanProcessor, "_on_ending")
"""True when the installed SDK calls ``SpanProcessor._on_ending`` (opentelemetry-sdk >= 1.40)."""


class ForeignSpanRedactor(SpanProcessor):
    """SDK span processor: hgobs's URL redaction on every span whose URL is in ``scope``.

    Subclasses the SDK's ``SpanProcessor`` (the SDK calls its private ``_on_ending`` on every
    processor). Never raises: a failure is reported once on ``hgobs.internal`` and the span's
    URL attributes and URL parts are replaced whole by ``[redacted]``. Attributes changed
    after the span ended are written into the span's attribute store directly, since the SDK
    has made it read-only by then.
    """

    def __init__(self, scope: UrlScope) -> None:
        self.scope = scope
        self._started: OrderedDict[int, dict[str, str]] = OrderedDict()

    @staticmethod
    def _ours(span: Any) -> bool:
        """True for hgobs's own spans: redacted by construction, and not redacted twice (a
        redacted query ``?family&birthdate`` reads as blank-valued names, whose redaction would
        hide the parameter names hgobs keeps on purpose)."""
        scope = getattr(span, "instrumentation_scope", None)
        return scope is not None and scope.name == INSTRUMENTATION_NAME

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        """With an SDK that has no ``_on_ending``: rewrite the URL attributes and span name
        given at start (with one, ``_on_ending`` does it all once, before any export)."""
        if SDK_CALLS_ON_ENDING:
            return
        try:
            if self._ours(span):
                return
            attributes = _attributes(span)
            name = span.name
            if attributes.get("url.full") is None and attributes.get("http.url") is None \
                    and "://" not in name:
                return
        except Exception:
            return
        guarded("redact span", self._start, span, attributes, name)

    def _start(self, span: Any, attributes: Mapping[str, Any], name: str) -> None:
        changes = rewrites(self.scope, attributes)
        if changes:
            span.set_attributes(changes)
            started = self._started
            started[span.get_span_context().span_id] = changes
            if len(started) > IN_FLIGHT:
                started.popitem(last=False)
        if "://" in name:
            clean = clean_name(self.scope, name)
            if clean is not None:
                span.update_name(clean)

    def on_end(self, span: Any) -> None:
        """With an SDK that has no ``_on_ending``: the same rewrite on the ended span."""
        if not SDK_CALLS_ON_ENDING:
            self._ending_any(span)

    def _ending(self, span: Any) -> None:
        """Rewrite what was set after start, before any processor's ``on_end`` sees it."""
        # Every span ends here, so the SDK span's own fields are read directly, with no
        # ``guarded`` call and no helper frame on the way (``_ending_any`` reads any other
        # span). A span without a URL costs two dict lookups and a substring test; hgobs's own
        # are told apart after that. A failure is reported as ``guarded`` reports it, and the
        # span's URL attributes and URL parts are then replaced whole (``_fail_closed``).
        try:
            store = span._attributes._dict
            name = span._name
            scope = span._instrumentation_scope
            if type(store) is not dict or type(name) is not str:
                raise AttributeError  # not the SDK's span as this SDK makes it: the general way
        except AttributeError:
            self._ending_any(span)
            return
        try:
            # The keys spelt out (``URL_KEYS``, ``TARGET_KEY`` ...): constants, not globals.
            full = store.get("url.full")
            old = store.get("http.url")
            if full is None and old is None and "://" not in name:
                return
            if scope is not None and scope._name == INSTRUMENTATION_NAME:
                return  # ours (see ``_ours``)
            # The SDK made the ended span's attributes read-only: changes are written into
            # their store (replacing values of keys it has: its size never changes, so a
            # reader in another thread is never broken).
            if (full is None) is not (old is None) and "http.target" not in store \
                    and "url.path" not in store and "url.query" not in store:
                # One URL attribute and no part of one (an HTTP client span of the current or
                # the older conventions): ``rewrites`` of it is its ``redacted`` form, done here.
                key, url = ("http.url", old) if full is None else ("url.full", full)
                clean = self.scope.redacted(url) if type(url) is str else None
                changed = clean is not None and clean != url
                if changed:
                    store[key] = clean
            else:
                changes = rewrites(self.scope, store)
                changed = bool(changes)
                store.update(changes)
            # An exception event or a status description may quote the URL.
            if changed and (span._status._description or span._events._dq):
                _scrub_texts(span)
            if "://" in name:
                self._rename(span, name)
        except Exception as exc:
            _fail_closed(store, exc)

    def _ending_any(self, span: Any) -> None:
        """``_ending`` for a span whose fields are not the SDK's own as this SDK has them
        (public properties where private fields are missing), and ``on_end`` with an older
        SDK (what ``on_start`` wrote is not redacted twice)."""
        store: dict[str, Any] | None = None
        try:
            attributes = span._attributes
            store = getattr(attributes, "_dict", None)
            name = span._name
            if not isinstance(store, dict) or not isinstance(name, str):
                store = None
                return
            if store.get("url.full") is None and store.get("http.url") is None \
                    and "://" not in name:
                return
            if self._ours(span):
                return
            changes = rewrites(self.scope, store)
            if self._started:  # an older SDK: what ``on_start`` wrote is not redacted twice
                written = self._started.pop(span.get_span_context().span_id, None) or {}
                changes = {k: v for k, v in changes.items() if store.get(k) != written.get(k)}
            if changes:
                lock = getattr(attributes, "_lock", None)
                if lock is not None:
                    with lock:
                        store.update(changes)
                else:
                    store.update(changes)
                status = getattr(span, "_status", None)
                events = getattr(span, "_events", None)
                if getattr(status, "description", None) or getattr(events, "_dq", events):
                    _scrub_texts(span)
            if "://" in name:
                self._rename(span, name)
        except Exception as exc:
            _fail_closed(store, exc)

    def _rename(self, span: Any, name: str) -> None:
        """Give ``span`` its ``name`` with each full URL in scope redacted (``clean_name``),
        written into the SDK's field (the ended span's ``update_name`` is refused)."""
        clean = clean_name(self.scope, name)
        if clean is not None:
            span._name = clean

    _on_ending = _ending
    """Called by ``Span.end()`` (SDK >= 1.40): ``_ending`` itself, without a frame between."""

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing buffered."""
        return True


def _fail_closed(store: dict[str, Any] | None, exc: Exception) -> None:
    """After a failure redacting a span: report it as ``guarded`` does and replace the URL
    attributes and URL parts of its ``store`` whole (redaction fails closed)."""
    report("redact span", exc)
    if isinstance(store, dict):
        try:
            store.update({key: REDACTED for key in FAIL_CLOSED if key in store})
        except Exception:
            pass


def _attributes(span: Any) -> Mapping[str, Any]:
    """The span's attributes for reading: the SDK's own dict when it has one (a ``get`` of a
    missing key through the attributes' ``Mapping`` interface raises and catches KeyError,
    about 1 us each), else the public read-only view."""
    store = getattr(getattr(span, "_attributes", None), "_dict", None)
    return store if isinstance(store, dict) else span.attributes


def _scrub_texts(span: Any) -> None:
    """The span's status description and its events' text attributes (an ``exception``
    event's message and stack trace quote the URL: ``Max retries exceeded with url:
    /fhir/R4/Patient?family=...``) through ``scrub_text``, which reduces URLs and path
    references as ``redact_url`` does; cut to ``MAX_EVENT_TEXT`` characters."""
    status = getattr(span, "_status", None)
    text = getattr(status, "description", None)
    if isinstance(text, str) and text:
        span._status = Status(status.status_code, scrub_text(text, limit=MAX_EVENT_TEXT))
    events = getattr(span, "_events", None)
    slots = getattr(events, "_dq", None)  # the SDK's BoundedList keeps its items in a deque
    if slots is None:
        slots = events if isinstance(events, list) else None
    if slots is None:
        return
    for i, event in enumerate(list(slots)):
        values = dict(event.attributes or {})
        scrubbed = {k: scrub_text(v, limit=MAX_EVENT_TEXT) if isinstance(v, str) else v
                    for k, v in values.items()}
        if scrubbed != values:
            slots[i] = Event(event.name, scrubbed, event.timestamp)
