"""Adapt httpx to ``hgobs.facts``: an ``httpx.Request`` and its response -> a plain ``Exchange``.

The record itself is built by ``hgobs.facts.record.RecordBuilder``; this module only reads what
httpx already holds (bodies in memory, never a stream the application still has to read) and
hands it over. ``RecordBuilder`` here keeps the recorder's calls in httpx terms.
"""

from __future__ import annotations

import httpx

from hgobs.capture.routes import Routed, Routes
from hgobs.config import Options
from hgobs.facts import record as facts
from hgobs.facts.exchange import Exchange, Redirects
from hgobs.facts.record import RESPONSE_HEADERS, Plan
from hgobs.redaction import Fingerprinter
from hgobs.schema import Record

__all__ = ["MAX_MULTIPART_RENDER", "Plan", "RecordBuilder", "Routed", "plan_request",
           "request_body", "response_headers", "token_request_body"]


def request_body(request: httpx.Request) -> bytes | None:
    """The request body if httpx already holds it in memory, else None (never reads a stream)."""
    content = getattr(request, "_content", None)
    return content if isinstance(content, bytes) else None


MAX_MULTIPART_RENDER = 64 * 1024
"""Most bytes of a ``files=`` multipart body rendered to read its fields (in-memory parts)."""


def token_request_body(request: httpx.Request) -> bytes | None:
    """The body of a token request as bytes: ``request_body``, or a multipart body httpx
    builds from ``files=``/``data=`` (RFC 7578) whose every part is in memory (``str`` or
    ``bytes``: rendering it reads nothing the application still has to send, unlike a file
    object), at most ``MAX_MULTIPART_RENDER`` bytes; else None."""
    content = request_body(request)
    if content is not None:
        return content
    fields = getattr(request.stream, "fields", None)
    if not isinstance(fields, list) or type(request.stream).__name__ != "MultipartStream":
        return None
    size = 0
    for part in fields:
        value = getattr(part, "value", getattr(part, "file", None))
        if not isinstance(value, (str, bytes)):
            return None  # a file object: never read here
        size += len(value)
        if size > MAX_MULTIPART_RENDER:
            return None
    return b"".join(request.stream)  # type: ignore[arg-type]


def plan_request(request: httpx.Request, routes: Routes | Options) -> Routed | None:
    """``Routes.plan`` of ``request`` (``routes``: the recorder's, or ``Options`` whose routes
    are built for this one call): which provider's token URL or API base it is, its URL passed
    parsed (no ``str()`` and re-parse), its body only for a POST (the one method whose body
    ``Routes.plan`` reads)."""
    if type(routes) is not Routes:
        routes = Routes.of(routes)  # type: ignore[arg-type]
    method = request.method
    return routes.plan(method, request.url, request.headers,
                       request_body(request) if method == "POST" else None)


def response_headers(headers: httpx.Headers) -> dict[str, str]:
    """The ``RESPONSE_HEADERS`` a response has, each as ``headers.get`` gives it (repeats
    joined with ``", "``), read in one pass instead of one search (and a ``KeyError`` for
    each absent one) per name."""
    out: dict[str, str] = {}
    for key, value in headers.multi_items():
        if key in RESPONSE_HEADERS:
            out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _redirects(response: httpx.Response) -> Redirects | None:
    """The redirects httpx followed to ``response`` (its ``history``), or None."""
    if not response.history:
        return None
    first = response.history[0]
    final = response.request
    body = request_body(final)
    return Redirects(count=len(response.history), status=first.status_code,
                     location=first.headers.get("location", ""), final_method=final.method,
                     final_body_bytes=len(body) if body is not None else 0,
                     final_url=str(final.url),
                     final_authorization="authorization" in final.headers)


class RecordBuilder:
    """Turns (request, response or exception) into a record, using one ``Options``: under the
    profile and client id of the provider its plan was routed to (``Routes``)."""

    def __init__(self, options: Options, fingerprint: Fingerprinter | None = None,
                 routes: Routes | None = None) -> None:
        self.options = options
        self.routes = routes if routes is not None else Routes.of(options)
        self.fingerprint = fingerprint or Fingerprinter(options.fingerprint_key)
        self.builders = tuple(facts.RecordBuilder(p.profile, p.client_id, self.fingerprint)
                              for p in self.routes.providers)
        """One ``hgobs.facts.record.RecordBuilder`` per provider of ``routes``, in order."""
        self.facts = self.builders[0]

    def _for(self, plan: Plan) -> facts.RecordBuilder:
        """The builder of the provider ``plan`` was routed to (the first for a plain plan)."""
        return self.builders[plan.provider if type(plan) is Routed else 0]

    def exchange(
        self,
        request: httpx.Request,
        plan: Plan,
        now: float,
        response: httpx.Response | None,
        body: bytes | None,
    ) -> tuple[Record, tuple[str, ...]]:
        """Record of a token exchange, and the raw secrets of the request (for ``add_body``).

        ``body`` is the response body if it was read (bounded), else None.
        """
        if response is None:
            exchange = Exchange(now, request.method, str(request.url), request.headers,
                                token_request_body(request), error="NoResponse")
        else:
            exchange = Exchange(now, request.method, str(request.url), request.headers,
                                token_request_body(request), response.status_code,
                                response_headers(response.headers), body,
                                redirects=_redirects(response))
        return self._for(plan).exchange(exchange, plan)

    def add_body(self, record: Record, body: bytes | None, known: tuple[str, ...]) -> None:
        """Add the facts of a token endpoint response ``body`` (None: not read) to ``record``
        (the same for every provider: the fingerprint key is shared)."""
        self.facts.add_body(record, body, known)

    def api_call(self, request: httpx.Request, plan: Plan, now: float,
                 response: httpx.Response) -> Record:
        """Record of a refused API call (never reads the response body)."""
        exchange = Exchange(now, request.method, str(request.url), request.headers, None,
                            response.status_code, response_headers(response.headers),
                            redirects=_redirects(response))
        return self._for(plan).api_call(exchange, plan)

    def transport_error(self, request: httpx.Request, plan: Plan, now: float,
                        error_type: str) -> Record:
        """Record of a token exchange that raised ``error_type`` before a response arrived."""
        exchange = Exchange(now, request.method, str(request.url), request.headers,
                            token_request_body(request), error=error_type)
        record, _ = self._for(plan).exchange(exchange, plan)
        return record
