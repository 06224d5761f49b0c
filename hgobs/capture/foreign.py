"""Which URLs hgobs redacts in other libraries' telemetry, and attaching that redaction.

OpenTelemetry's httpx, requests, urllib3 and aiohttp-client instrumentations put the request
URL on their CLIENT spans as ``url.full`` (stable HTTP semantic conventions) and/or ``http.url``
(the older ones; both with ``OTEL_SEMCONV_STABILITY_OPT_IN=http/dup``), with FHIR search values
and resource ids in it (``/Patient?family=...``, ``/Patient/123``); httpx's INFO log line has
it too. For URLs under one of the profile's API bases or token URLs, ``UrlScope`` and
``rewrites`` give hgobs's own redaction (``hgobs.redaction.redact_url``: query values dropped,
ids replaced by ``{id}``, user info removed); ``attach`` adds the span processor that applies
it (``hgobs.capture.spanredactor``) to the SDK tracer provider once per provider, and the log
filter (``hgobs.capture.logfilter``) to the ``httpx`` logger.

Cost: for another host, one prefix test and one search for the profile's host names; a URL
to a profile host is rewritten only when it has a query, user info or an id-like path segment
(``redact_url`` changes it).
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

from opentelemetry import trace

from hgobs.capture.guard import guarded
from hgobs.capture.urlscope import UrlScope
from hgobs.profiles import Profile

LOG = logging.getLogger("hgobs.internal")
_attached: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
"""The processor hgobs added to each SDK tracer provider."""
_pending: list[Profile] = []
WAITING = _pending
"""The profiles waiting for the global SDK tracer provider (read, never changed, outside this
module: capture tests it for every request it plans, as a list, with no call)."""
_lock = threading.Lock()
_said: set[str] = set()


def _say_once(key: str, level: int, message: str) -> None:
    if key not in _said:
        _said.add(key)
        LOG.log(level, message)


def attach(profile: Profile, tracer_provider: Any = None) -> bool:
    """Redact ``profile``'s URLs in other libraries' telemetry: add a ``ForeignSpanRedactor``
    to ``tracer_provider`` (default: the global one), once per provider (a second profile joins
    the same processor's scope), and a ``HttpxLogRedactor`` to the ``httpx`` logger.

    Returns True when the span processor is attached. When the provider is not an SDK
    ``TracerProvider`` yet (the global proxy before the application sets one) or the SDK is not
    installed, says so once on ``hgobs.internal`` and returns False; ``retry`` attaches later.
    Never raises."""
    from hgobs.capture import logfilter

    guarded("redact log", logfilter.attach, profile)
    return bool(guarded("redact spans", _attach, profile, tracer_provider, True, default=False))


def _attach(profile: Profile, tracer_provider: Any, remember: bool) -> bool:
    try:
        from opentelemetry.sdk.trace import TracerProvider

        from hgobs.capture.spanredactor import ForeignSpanRedactor
    except ImportError:
        _say_once("no sdk", logging.WARNING,
                  "hgobs: opentelemetry-sdk is not installed; other instrumentations' spans "
                  "are not redacted by hgobs")
        return False
    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        if remember and tracer_provider is None:  # the global proxy may become an SDK one
            with _lock:
                if profile not in _pending:
                    _pending.append(profile)
        _say_once("no provider", logging.WARNING,
                  "hgobs: no OpenTelemetry SDK tracer provider yet; other instrumentations' "
                  "spans for the profile's URLs are redacted from hgobs's first recorded httpx "
                  "request after one is set")
        return False
    with _lock:
        processor = _attached.get(provider)
        if processor is None:
            processor = ForeignSpanRedactor(UrlScope([profile]))
            provider.add_span_processor(processor)
            _attached[provider] = processor
        else:
            processor.scope.add(profile)
    if "no provider" in _said and "attached" not in _said:
        _say_once("attached", logging.INFO,
                  "hgobs: redacting other instrumentations' spans for the profile's URLs")
    return True


def pending() -> bool:
    """True while a profile waits for the global SDK tracer provider (one list test)."""
    return bool(_pending)


def retry() -> None:
    """Attach the waiting profiles if the global provider is an SDK one now. Never raises."""
    for profile in list(_pending):
        if guarded("redact spans", _attach, profile, None, False, default=False):
            with _lock:
                if profile in _pending:
                    _pending.remove(profile)


def forget() -> None:
    """Forget every attachment, waiting profile and message said (a new process's state, for
    tests); processors already added stay on their providers (the SDK cannot remove one)."""
    with _lock:
        _attached.clear()
        _pending.clear()
    _said.clear()
