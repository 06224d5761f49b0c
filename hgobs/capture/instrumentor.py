"""The instrumentor: wrap ``httpx.Client.send``/``AsyncClient.send`` and record auth attempts.

We wrap ``send`` (above the transport) so that, for a token exchange, our span is current while
the transport runs: OpenTelemetry's httpx instrumentation (which wraps the transport) then makes
its HTTP CLIENT span a child of ours, once per redirect hop. Without it, our span is the CLIENT
span and carries the HTTP semantic-convention attributes itself.

A successful API call costs a path lookup, three clock reads and a status test (``send``'s
``LATER``): no span, no parsing. Only a refused one (401, 403, 429) is planned and recorded,
after the fact, with its span started at the send time; since the HTTP span already exists
then, ours becomes its child instead of its parent. ``_send_handling_redirects`` is wrapped
only from the first request that comes with an ``httpx.Auth`` flow (``INNER``).

Every hgobs step runs under ``guard.guarded``; the application's own result or exception passes
through untouched.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Collection
from dataclasses import fields
from typing import Any

import httpx
import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap

from hgobs.capture import foreign, send
from hgobs.capture.guard import guarded
from hgobs.capture.recorder import Recorder
from hgobs.capture.send import Outer, async_send, sync_send
from hgobs.config import (
    Options,
    profile_setting,
    provider_setting,
    redaction_wanted,
    resolve_options,
    unknown_keywords,
)
from hgobs.errors import HgobsError
from hgobs.package import _instruments
from hgobs.profiles import Profile, load_profile

LOG = logging.getLogger("hgobs.internal")
INNER = "_send_handling_redirects"
"""httpx's step per request of an ``httpx.Auth`` flow, redirects included: wrapped from the
first request that comes with a flow (``Outer.flows``: on the client for ``instrument_client``,
on both client classes for the global instrumentation) to record the requests a flow makes
itself, such as a token request yielded before the API call, and each attempt of an API call
whose flow sends it again (refresh on 401). Without a flow, ``send`` sends one request and its
wrapper records it: until a flow comes, a request passes one wrapper of hgobs's, not two."""
WRAPPED = ("send", INNER)
"""``send`` records the application's request; ``INNER`` what a flow sends. The same request
is recorded once."""


_FLOWS_LOCK = threading.Lock()
"""Held while ``INNER`` of the client classes is wrapped or unwrapped."""


class HGAuthInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """OpenTelemetry instrumentor for auth attempts made with httpx (sync and async).

    ``HGAuthInstrumentor().instrument(**kwargs)`` wraps every ``httpx.Client`` and
    ``httpx.AsyncClient``. Keyword arguments: ``tracer_provider``, ``meter_provider`` and the
    ``hgobs.config.Options`` fields (``providers``: a list of ``(profile, client id)`` pairs
    or ``hgobs.config.Provider`` values, each request matched to one by URL; or ``profile``,
    ``client_id`` for one provider; ``jsonl_path``,
    ``fingerprint_key``, ``clock``, ``max_body_bytes``, ``history_entries``, ``redact_spans``,
    ``url_template``); the rest come from ``HGOBS_*`` env vars (``hgobs.config``).
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
    _flows_wrapped = False
    """True once ``INNER`` is wrapped (the first request with an ``httpx.Auth`` flow)."""

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
        _say_unknown(kwargs)
        try:
            options = resolve_options(**kwargs)
        except HgobsError as exc:
            # A bad option (in code, or a HGOBS_* value under opentelemetry-instrument) must
            # stop neither the application nor the other instrumentations; hgobs stays off,
            # but other instrumentations' spans stay redacted.
            LOG.warning("hgobs: not instrumenting, bad setting: %s", exc)
            guarded("attach", _redact_anyway, kwargs)
            return
        self._recorder = Recorder(options, kwargs.get("tracer_provider"),
                                  kwargs.get("meter_provider"))
        if options.redact_spans:
            _attach_all(self._recorder, kwargs.get("tracer_provider"))
        instrumentor = self

        def wrappers(outer: Outer | None) -> tuple[Any, Any]:
            def sync_wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
                return sync_send(instrumentor._recorder, instance, wrapped, outer, *args, **kw)

            async def async_wrapper(wrapped: Any, instance: Any, args: Any, kw: Any) -> Any:
                return await async_send(instrumentor._recorder, instance, wrapped, outer,
                                        *args, **kw)
            return sync_wrapper, async_wrapper

        def flows(client: Any) -> None:
            """Wrap ``INNER`` of both client classes, once, while instrumented (under the
            lock ``_uninstrument`` takes: never wrapped after it)."""
            if instrumentor._flows_wrapped:
                return
            with _FLOWS_LOCK:
                if instrumentor._recorder is not None and not instrumentor._flows_wrapped \
                        and hasattr(httpx.Client, INNER):
                    sync_wrapper, async_wrapper = wrappers(None)
                    wrapt.wrap_function_wrapper(httpx.Client, INNER, sync_wrapper)
                    wrapt.wrap_function_wrapper(httpx.AsyncClient, INNER, async_wrapper)
                    instrumentor._flows_wrapped = send.CLASS_INNER = True

        sync_wrapper, async_wrapper = wrappers(Outer(flows))
        wrapt.wrap_function_wrapper(httpx.Client, "send", sync_wrapper)
        wrapt.wrap_function_wrapper(httpx.AsyncClient, "send", async_wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        with _FLOWS_LOCK:  # a first flow wrapping INNER at this moment waits, then sees no recorder
            recorder, self._recorder = self._recorder, None
            for name in WRAPPED:
                if name == INNER and not self._flows_wrapped:
                    continue
                for cls in (httpx.Client, httpx.AsyncClient):
                    if hasattr(getattr(cls, name, None), "__wrapped__"):
                        unwrap(cls, name)
            self._flows_wrapped = send.CLASS_INNER = False
        if recorder is not None:
            recorder.close()


def instrument_client(client: httpx.Client | httpx.AsyncClient, **kwargs: Any) -> None:
    """Record the auth attempts of one ``httpx.Client`` or ``httpx.AsyncClient``.

    Takes the same keyword arguments as ``HGAuthInstrumentor.instrument``. Calling it twice on
    one client is a no-op. Never raises: a bad option (``ConfigError``/``ProfileError``) or any
    other failure is logged on ``hgobs.internal`` and leaves the client as it was.
    """
    try:
        if getattr(client, "_hgobs_recorder", None) is not None:
            return
        _say_unknown(kwargs)
        recorder = Recorder(resolve_options(**kwargs), kwargs.get("tracer_provider"),
                            kwargs.get("meter_provider"))
        if recorder.options.redact_spans:
            _attach_all(recorder, kwargs.get("tracer_provider"))
        original = client.send
        outer = Outer(None, inner=hasattr(original, "__wrapped__"))
        outer.flows = functools.partial(_wrap_client_flows, recorder, outer)
        client.send = _bound_wrapper(recorder, client, original, outer)  # type: ignore[method-assign]
        client._hgobs_recorder = recorder  # type: ignore[union-attr]
    except HgobsError as exc:
        LOG.warning("hgobs: not instrumenting this client, bad setting: %s", exc)
    except Exception as exc:
        LOG.warning("hgobs: not instrumenting this client (%s)", type(exc).__qualname__)


def _bound_wrapper(recorder: Recorder, client: Any, original: Any, outer: Outer | None) -> Any:
    """``sync_send`` (or ``async_send`` for an ``AsyncClient``) with the recorder, client,
    original method and ``outer`` (None for ``INNER``) bound: a ``functools.partial``, so the
    client's call goes straight to it (an async one returns the coroutine the client
    awaits)."""
    send = async_send if isinstance(client, httpx.AsyncClient) else sync_send
    return functools.partial(send, recorder, client, original, outer)


def _wrap_client_flows(recorder: Recorder, outer: Outer, client: Any) -> None:
    """Wrap ``INNER`` of one instrumented client, once (``Outer.flows``); from then on its
    wrapper of ``send`` plans and marks every request (``Outer.inner``)."""
    if INNER not in vars(client) and getattr(client, "_hgobs_recorder", None) is recorder:
        original = getattr(client, INNER, None)
        if original is not None:
            setattr(client, INNER, _bound_wrapper(recorder, client, original, None))
            outer.inner = True


def uninstrument_client(client: httpx.Client | httpx.AsyncClient) -> None:
    """Undo ``instrument_client`` (no-op for a client it did not instrument)."""
    recorder = getattr(client, "_hgobs_recorder", None)
    if recorder is None:
        return
    for name in WRAPPED:
        if name in vars(client):
            delattr(client, name)
    client._hgobs_recorder = None  # type: ignore[union-attr]
    recorder.close()


def _attach_all(recorder: Recorder, tracer_provider: Any) -> None:
    """Redact other instrumentations' spans and httpx's log line for the URLs of every
    configured provider's profile (``foreign.attach``, once each)."""
    for profile in recorder.routes.profiles:
        guarded("attach", foreign.attach, profile, tracer_provider)


def _say_unknown(kwargs: dict[str, Any]) -> None:
    """Warn on ``hgobs.internal`` of keyword arguments that are no option (a misspelt
    ``jsonl=``): they are ignored, the others apply."""
    unknown = unknown_keywords(kwargs)
    if unknown:
        LOG.warning("hgobs: ignoring unknown option(s) %s (options: %s)", ", ".join(unknown),
                    ", ".join(f.name for f in fields(Options)))


def _redact_anyway(kwargs: dict[str, Any]) -> None:
    """After a bad setting left hgobs off: redact other instrumentations' spans all the same
    (a typo in an unrelated option must not expose patient data), unless redaction itself was
    turned off. The profiles are the configured providers' when they load, else the configured
    profile's, else Health Gorilla's."""
    if not redaction_wanted(kwargs):
        return
    try:
        profiles = [p.profile for p in provider_setting(kwargs)]
    except HgobsError:
        spec = kwargs.get("profile")
        try:
            profiles = [spec if isinstance(spec, Profile) else profile_setting(spec)]
        except HgobsError:
            profiles = [load_profile("healthgorilla")]
    for profile in profiles:
        foreign.attach(profile, kwargs.get("tracer_provider"))
