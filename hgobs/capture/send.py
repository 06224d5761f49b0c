"""The wrapped ``send``: decide whether a request is an auth attempt and record it.

A token exchange gets its span before the transport runs, current while it runs, so
OpenTelemetry's httpx span (one per redirect hop) is its child. A request that can only be an
API call or nothing (any method but POST, to no token URL's path: ``Routes.token_paths``),
sent without an ``httpx.Auth`` flow while no other wrapper of hgobs's can see it, goes out
unplanned (``LATER``): when it succeeds it costs a path lookup, three clock reads and a status
test (no span, no parsing, no mark on the request). Only a refused one (401, 403, 429) is
planned, and recorded when it is an API call, after the fact, with its span started at the
send time. Any other request is planned before it is sent, as the general way. The
application's own result or exception passes through untouched.
"""

from __future__ import annotations

import logging
from time import perf_counter, time_ns
from typing import Any

import httpx
from httpx import USE_CLIENT_DEFAULT
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from hgobs.capture import foreign
from hgobs.capture.guard import guarded, report
from hgobs.capture.record import Plan, plan_request
from hgobs.capture.recorder import Exchange, Recorder, record_api
from hgobs.profiles import API_CALL

LOG = logging.getLogger("hgobs.internal")
REFUSED_STATUSES = frozenset({401, 403, 429})
HANDLING = "_hgobs_recording"
"""Attribute set on a request while hgobs records it: a nested ``send`` of the same request
(per-client and global instrumentation together) passes through; other requests, even nested
ones made from an ``httpx.Auth`` flow by another client, are recorded. (An attribute of the
request itself: cheaper to set and test than membership of a weak set.) For an API call its
value is an ``_Attempts``: each attempt of an ``httpx.Auth`` flow that yields the same request
again (refresh on 401) is seen by ``_send_handling_redirects`` and a refused one recorded there,
once, with the request's credential as it was sent. Read and written with ``getattr`` and
``setattr``, never through the request's ``__dict__``: reading that makes CPython 3.11+ turn the
object's inline attribute values into a dict, which makes every later attribute read of the
request (httpx and other instrumentations read dozens) about twice as slow."""


LATER: Any = object()
"""The plan of a request that can only be an API call or nothing (``late`` in
``sync_send``), sent without an ``httpx.Auth`` flow and with no other wrapper of hgobs's to
see it: it is sent unmarked, and planned only if it is refused."""

CLASS_INNER = False
"""True while the global instrumentation has ``INNER`` of the client classes wrapped (from the
first request with a flow): every client's requests may then meet that wrapper, so none is
sent as ``LATER`` (the wrapper of ``send`` marks what it records, as before)."""


class Outer:
    """What the wrapper of ``send`` knows besides the recorder: ``flows(client)`` wraps the
    client's ``_send_handling_redirects`` (``INNER``; idempotent, the instrumentor's), called
    when a request comes with an ``httpx.Auth`` flow (only a flow makes several requests, or
    requests of its own, in one ``send``); ``inner``: another wrapper of hgobs's may see this
    client's requests inside this one (the ``send`` it wraps is hgobs's, for a client
    instrumented while the global instrumentation was on, or the client's ``INNER`` is
    wrapped), so none is sent as ``LATER``: each is planned before it is sent and marked when
    this wrapper records it, and the wrapper inside records what this one does not know."""

    __slots__ = ("flows", "inner")

    def __init__(self, flows: Any, inner: bool = False) -> None:
        self.flows = flows
        self.inner = inner


def _late(recorder: Recorder, request: Any, sent: tuple[float, int, float],
          response: httpx.Response | None, exc: BaseException | None = None) -> None:
    """A request sent as ``LATER`` (unmarked) was refused (``response``), or raised ``exc``:
    record the refusal as ``_Attempts.seen`` does, with the times taken before it was sent."""
    state = _Attempts(recorder, None, sent)
    if exc is not None:
        state.failed(request, exc)
    elif response is not None:
        guarded("api_call", state.seen, request, response)


def _plan(recorder: Recorder, request: Any, client: Any, outer: Outer | None,
          flow: bool) -> Plan | None:
    """The plan for ``request`` when hgobs records it (a request nobody records yet), else
    None, made before it is sent (``sync_send`` sends a request ``LATER`` without one). A
    request with an ``httpx.Auth`` flow (``flow``) has the client's ``INNER`` wrapped first
    (``Outer.flows``). A token exchange is planned only with instrumentation not suppressed
    (its span starts before the transport runs); an API call is planned either way, and
    whether its refusal is recorded is decided then (``_Attempts.seen``, in the same context):
    a successful call never reads the context."""
    if not isinstance(request, httpx.Request):
        return None
    if foreign.WAITING:  # redaction of other spans waits for an SDK tracer provider
        foreign.retry()
    if flow:
        outer.flows(client)  # type: ignore[union-attr]
    plan = plan_request(request, recorder.routes)
    if plan is None or plan.kind == API_CALL or is_instrumentation_enabled():
        return plan
    return None


def _general_plan(recorder: Recorder, request: Any, client: Any,
                  outer: Outer | None) -> Plan | None:
    """``_plan`` after reading ``flow`` or ``late`` in ``sync_send`` raised (a client without
    httpx's ``_auth``, a URL without its parsed parts): a flow taken as there; None, reported
    once, if that fails too."""
    try:
        return _plan(recorder, request, client, outer, outer is not None)
    except Exception as exc:
        report("plan", exc)
        return None


def _is_refused(response: Any) -> bool:
    """True when ``response`` (what the wrapped method returned) has a refused status; False
    for anything without one (a subclass's or a test double's ``send`` may return another
    object: it reaches the application untouched)."""
    try:
        return response.status_code in REFUSED_STATUSES
    except Exception:
        return False


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
    """An API call being recorded (the value of ``HANDLING`` on its request): its ``plan``
    (None until a refusal needs it: ``LATER``) and the send time of the attempt in
    flight (``sent``: ``(clock, time_ns(), perf_counter())`` taken before it was
    sent, else now). Each attempt of an ``httpx.Auth`` flow passes ``_send_handling_redirects``
    once (``inside`` while it runs, ``attempts`` counting them; a later one takes its own send
    time, ``retry``); a refused one is recorded there, at once (the flow may change the
    request's credential before it retries), and marked ``RECORDED`` (``seen``). The wrappers
    below do this inline: a successful call costs no method call here but ``__init__``."""

    __slots__ = ("attempts", "inside", "now", "plan", "recorder", "start_ns", "started")

    def __init__(self, recorder: Recorder, plan: Plan | None,
                 sent: tuple[float, int, float] | None = None) -> None:
        self.recorder = recorder
        self.plan = plan
        self.now, self.start_ns, self.started = sent if sent is not None else \
            (recorder.now(), time_ns(), perf_counter())
        self.attempts = 0
        self.inside = False

    def retry(self) -> None:
        """A later attempt starts (the first keeps the send time of ``send``): take its own."""
        self.now, self.start_ns = self.recorder.now(), time_ns()
        self.started = perf_counter()

    def failed(self, request: httpx.Request, exc: BaseException) -> None:
        """The attempt raised: record the refused response the exception carries, if any (an
        event hook's ``raise_for_status``)."""
        refused = guarded("refused", _refused, exc)
        if refused is not None:
            guarded("api_call", self.seen, request, refused)

    def seen(self, request: httpx.Request, response: httpx.Response) -> None:
        """Record the refused ``response`` to ``request`` unless it was recorded already or
        instrumentation is suppressed, or the request is no API call (planned now when it
        was sent as ``LATER``)."""
        if getattr(response, RECORDED, None) is None and is_instrumentation_enabled():
            plan = self.plan
            if plan is None:
                self.plan = plan = plan_request(request, self.recorder.routes)
                if plan is None or plan.kind != API_CALL:
                    return
            setattr(response, RECORDED, True)
            record_api(self.recorder, request, plan, self.now, self.start_ns, self.started,
                       response)


def sync_send(recorder: Recorder | None, client: Any, wrapped: Any, outer: Outer | None, /,
              *args: Any, **kwargs: Any) -> Any:
    """Run ``Client.send`` (``wrapped``, with ``args`` and ``kwargs``; ``outer`` None:
    ``_send_handling_redirects``) and record it when it is an auth attempt (the instrumentor
    binds the first four arguments with ``functools.partial``: no frame of its own between).
    A request hgobs records already passes through, except for an attempt of an API call's
    ``httpx.Auth`` flow (``_Attempts``). A successful API call sent without a flow costs a
    path lookup, three clock reads and a status test."""
    try:  # the value of HANDLING on the request; without a request to read, pass through
        request: Any = args[0] if args else kwargs.get("request")
        state = getattr(request, HANDLING, None)
    except Exception:
        request, state = None, True
    if state is not None:
        if outer is None and type(state) is _Attempts and not state.inside:
            state.inside = True
            state.attempts += 1
            if state.attempts > 1:
                guarded("attempt", state.retry)
            try:
                response = wrapped(*args, **kwargs)
            except Exception as exc:
                state.failed(request, exc)
                raise
            finally:
                state.inside = False
            if _is_refused(response):
                guarded("api_call", state.seen, request, response)
            return response
        return wrapped(*args, **kwargs)
    if recorder is None:
        return wrapped(*args, **kwargs)
    try:  # as ``guarded("plan", ...)``, without its call on every request
        # ``flow``: ``send`` runs an ``httpx.Auth`` flow (an ``auth`` argument, or else the
        # client's own, as ``Client._build_request_auth`` takes it; a URL's user info gives
        # ``BasicAuth``, whose flow sends the request once, as no flow does). ``late``: the
        # request can only be an API call or nothing (not a POST, only a POST being a token
        # exchange by the form rule; to no exact token URL's path, with no token URL a
        # pattern: ``Routes.token_paths``), so it is planned only if refused. Both read here,
        # not in a helper: a successful API call sent without a flow calls nothing of hgobs.
        if outer is None:
            flow = inner = False
        else:
            auth = kwargs.get("auth", USE_CLIENT_DEFAULT)
            flow = (client._auth if auth is USE_CLIENT_DEFAULT else auth) is not None
            inner = outer.inner or CLASS_INNER
        paths = recorder.routes.token_paths
        if not flow and not inner and not foreign.WAITING and paths is not None \
                and type(request) is httpx.Request and request.method != "POST" \
                and request.url._uri_reference.path.rstrip("/") not in paths:
            plan = LATER
        else:
            plan = _plan(recorder, request, client, outer, flow)
    except Exception:  # an odd client, request or URL: planned the general way
        plan = _general_plan(recorder, request, client, outer)
    if plan is None:
        return wrapped(*args, **kwargs)
    if plan is LATER:
        sent = recorder.now(), time_ns(), perf_counter()
        try:
            response = wrapped(*args, **kwargs)
        except Exception as exc:
            _late(recorder, request, sent, None, exc)
            raise
        try:  # ``_is_refused``, inline: no call on a successful request
            refused = response.status_code in REFUSED_STATUSES
        except Exception:
            refused = False
        if refused:
            _late(recorder, request, sent, response)
        return response
    try:
        if plan.kind == API_CALL:
            state = _Attempts(recorder, plan)
            setattr(request, HANDLING, state)
            try:
                response = wrapped(*args, **kwargs)
            except Exception as exc:
                state.failed(request, exc)
                raise
            if _is_refused(response):
                guarded("api_call", state.seen, request, response)
            return response
        setattr(request, HANDLING, True)
        exchange = guarded("start", Exchange, recorder, client, request, plan)
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
        try:  # not through __dict__ (see HANDLING)
            delattr(request, HANDLING)
        except AttributeError:
            pass


async def async_send(recorder: Recorder | None, client: Any, wrapped: Any,
                     outer: Outer | None, /, *args: Any, **kwargs: Any) -> Any:
    """The async twin of ``sync_send`` for ``AsyncClient.send``."""
    try:  # the value of HANDLING on the request; without a request to read, pass through
        request: Any = args[0] if args else kwargs.get("request")
        state = getattr(request, HANDLING, None)
    except Exception:
        request, state = None, True
    if state is not None:
        if outer is None and type(state) is _Attempts and not state.inside:
            state.inside = True
            state.attempts += 1
            if state.attempts > 1:
                guarded("attempt", state.retry)
            try:
                response = await wrapped(*args, **kwargs)
            except Exception as exc:
                state.failed(request, exc)
                raise
            finally:
                state.inside = False
            if _is_refused(response):
                guarded("api_call", state.seen, request, response)
            return response
        return await wrapped(*args, **kwargs)
    if recorder is None:
        return await wrapped(*args, **kwargs)
    try:  # as ``guarded("plan", ...)``, without its call on every request
        # ``flow`` and ``late``: see ``sync_send``.
        if outer is None:
            flow = inner = False
        else:
            auth = kwargs.get("auth", USE_CLIENT_DEFAULT)
            flow = (client._auth if auth is USE_CLIENT_DEFAULT else auth) is not None
            inner = outer.inner or CLASS_INNER
        paths = recorder.routes.token_paths
        if not flow and not inner and not foreign.WAITING and paths is not None \
                and type(request) is httpx.Request and request.method != "POST" \
                and request.url._uri_reference.path.rstrip("/") not in paths:
            plan = LATER
        else:
            plan = _plan(recorder, request, client, outer, flow)
    except Exception:  # an odd client, request or URL: planned the general way
        plan = _general_plan(recorder, request, client, outer)
    if plan is None:
        return await wrapped(*args, **kwargs)
    if plan is LATER:
        sent = recorder.now(), time_ns(), perf_counter()
        try:
            response = await wrapped(*args, **kwargs)
        except Exception as exc:
            _late(recorder, request, sent, None, exc)
            raise
        try:  # ``_is_refused``, inline: no call on a successful request
            refused = response.status_code in REFUSED_STATUSES
        except Exception:
            refused = False
        if refused:
            _late(recorder, request, sent, response)
        return response
    try:
        if plan.kind == API_CALL:
            state = _Attempts(recorder, plan)
            setattr(request, HANDLING, state)
            try:
                response = await wrapped(*args, **kwargs)
            except Exception as exc:
                state.failed(request, exc)
                raise
            if _is_refused(response):
                guarded("api_call", state.seen, request, response)
            return response
        setattr(request, HANDLING, True)
        exchange = guarded("start", Exchange, recorder, client, request, plan)
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
        try:  # not through __dict__ (see HANDLING)
            delattr(request, HANDLING)
        except AttributeError:
            pass
