"""The emulator's ASGI wiring: routes, request reading and response shapes around the rules.

Routes (``{env}`` is ``sandbox`` or ``production``; any other path answers 404):

- ``/{env}/oauth/token`` and ``/{env}/oauth/token/``: the token endpoint, any method
  (``hgobs.emulator.rules``). Error answers are JSON ``{"error", "error_description"}`` with
  ``Cache-Control: no-store``, status 400, except: 413 for a body over ``max_body_bytes``,
  301 (empty body, ``Location``) for the trailing slash, and 400 with an empty body
  (``Content-Length: 0``, no ``Content-Type``) for a malformed assertion. Success is 200
  ``{"access_token", "token_type": "Bearer", "expires_in", "scope"}``, ``Cache-Control: no-store``.
- ``/.well-known/jwks.json`` and ``/{env}/.well-known/jwks.json``, GET: the public half of the
  emulator's keys (``config.keys``) as a JWKS (RFC 7517 section 5), ``application/json``: the
  JWK Set URL an integrator registers for the generated client.
- ``/{env}/fhir/R4/{Type}`` (search) and ``/{env}/fhir/R4/{Type}/{id}`` (read), GET only:
  a ``Type`` not of the form ``[A-Z][A-Za-z]*`` or an ``id`` not a FHIR id -> 404; another
  method -> 405 with ``Allow: GET``; then ``hgobs.emulator.access``. Refusals carry an
  ``OperationOutcome`` (``application/fhir+json``), except 429, whose body is
  ``{"error": "rate_limited"}``. Success: a read answers ``{"resourceType": T, "id": id}``; a
  search answers a ``searchset`` Bundle with ``total`` 0, or 1 with that resource when ``_id``
  is a FHIR id.

An environment's token URL (what ``aud`` must equal, and the 301 ``Location``) is the URL
called: ``http://{Host header}/{env}/oauth/token``. An issued access token reads as expired
for ``max(access_token_ttl_s, 3600)`` seconds after its expiry, then as unknown.

With a provider profile (``config.profile``), each of its environments ``{env}`` is served
under ``/{env}`` at the paths of its token URLs (``hgobs.emulator.provider``), instead of
``/{env}/oauth/token``: a path that fits none answers 404; a ``{tenant}``/``{realm}`` other
than the registered one is refused ``wrong_tenant`` before the body is read; ``aud`` is
judged against ``Profile.audiences`` of the loopback profile at the URL called. The JWKS and
FHIR routes are the same.

Every response carries ``Date`` from ``config.clock``, read once per request (RFC 7231 format).
Nothing is logged: no request content, token or secret leaves the process except in responses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hgobs.emulator.access import ApiRefusal, check_api_call
from hgobs.emulator.config import EmulatorConfig
from hgobs.emulator.provider import (
    TokenRoute,
    loopback_profile,
    match_route,
    token_routes,
    wrong_tenant,
)
from hgobs.emulator.rules import Grant, Refusal, TokenRequest, evaluate
from hgobs.emulator.state import RateLimiter, ReplayGuard, TokenStore
from hgobs.profiles import Profile

FHIR_JSON = "application/fhir+json"
_NOW_KEY = "hgobs.emulator.now"
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{0,63}")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class EmulatorState:
    """The configuration and memory behind one app (``app.state.emulator``)."""

    config: EmulatorConfig
    tokens: TokenStore
    replay: ReplayGuard
    limiter: RateLimiter | None
    jwks: dict[str, Any]
    routes: tuple[TokenRoute, ...] = ()
    loopback: dict[str, Profile] | None = None

    def loopback_profile(self, base_url: str) -> Profile | None:
        """The provider profile moved to ``base_url`` (cached per base URL), or None without
        a profile."""
        profile = self.config.profile
        if profile is None:
            return None
        if self.loopback is None:
            self.loopback = {}
        found = self.loopback.get(base_url)
        if found is None:
            if len(self.loopback) > 16:
                self.loopback.clear()
            found = self.loopback[base_url] = loopback_profile(profile, base_url)
        return found


class _DateHeader:
    """ASGI middleware: read the clock once per request, stamp ``Date`` on the response."""

    def __init__(self, app: ASGIApp, config: EmulatorConfig) -> None:
        self.app = app
        self.clock = config.clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        now = float(self.clock())
        scope[_NOW_KEY] = now
        date = formatdate(now, usegmt=True).encode("latin-1")

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", date)]}
            await send(message)

        await self.app(scope, receive, send_with_date)


def _now(request: Request) -> float:
    return float(request.scope[_NOW_KEY])


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _oauth_error(status: int, error: str, description: str, uri: str = "") -> JSONResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    if uri:
        body["error_uri"] = uri
    return JSONResponse(body, status_code=status, headers=_NO_STORE)


def _outcome(
    status: int, code: str, diagnostics: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A FHIR OperationOutcome with one error issue."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=FHIR_JSON)


def _not_found() -> JSONResponse:
    return _outcome(404, "not-found", "No such endpoint")


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def token_endpoint(request: Request) -> Response:
    """``/{env}/oauth/token[/]``: run the token rules and shape their decision as HTTP."""
    environment = request.path_params["env"]
    if environment not in _state(request).config.environments:
        return _not_found()
    token_url = f"{str(request.base_url).rstrip('/')}/{environment}/oauth/token"
    return await _token(request, environment, token_url, request.url.path.endswith("/"))


async def provider_token_endpoint(request: Request) -> Response:
    """``/{env}/{path}`` with a provider profile: the token paths of that environment."""
    state = _state(request)
    environment = request.path_params["env"]
    path = "/" + request.path_params["rest"]
    trailing = path.endswith("/")
    path = path.rstrip("/")
    found = match_route(state.routes, environment, path) \
        if environment in state.config.environments else None
    if found is None:
        return _not_found()
    base = str(request.base_url).rstrip("/")
    token_url = f"{base}{request.url.path.rstrip('/')}"
    rules = state.config.rules
    assert rules is not None
    if wrong_tenant(found[1], state.config.placeholders):
        answer = rules.answer("wrong_tenant")
        return _answer(Refusal(answer.status, answer.error, answer.text(), uri=answer.uri))
    loopback = state.loopback_profile(base)
    audiences = loopback.audiences(token_url) if loopback is not None else None
    return await _token(request, environment, token_url, trailing, audiences)


async def _token(request: Request, environment: str, token_url: str, trailing: bool,
                 audiences: tuple[str, ...] | None = None) -> Response:
    state = _state(request)
    now = _now(request)
    body = b""
    if request.method == "POST":
        read = await _read_body(request, state.config.max_body_bytes)
        if read is None:
            return _oauth_error(413, "invalid_request", "Request body too large")
        body = read
    decision = evaluate(
        TokenRequest(
            method=request.method,
            content_type=request.headers.get("content-type"),
            body=body,
            environment=environment,
            token_url=token_url,
            trailing_slash=trailing,
            authorization=request.headers.get("authorization"),
            audiences=audiences,
        ),
        state.config,
        state.replay,
        now,
    )
    if isinstance(decision, Grant):
        ttl = state.config.access_token_ttl_s
        token = state.tokens.issue(environment, decision.client_id, decision.scopes, now, ttl)
        body_json = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": " ".join(decision.scopes),
        }
        return JSONResponse(body_json, headers=_NO_STORE)
    return _answer(decision)


def _answer(decision: Refusal) -> Response:
    """A refusal as HTTP: a redirect, an empty body, or the OAuth error JSON."""
    if decision.location is not None:
        return Response(
            status_code=decision.status, headers={"Location": decision.location, **_NO_STORE}
        )
    if decision.error is None:
        return Response(status_code=decision.status, headers=_NO_STORE)
    return _oauth_error(decision.status, decision.error, decision.description or "",
                        decision.uri)


async def jwks_endpoint(request: Request) -> Response:
    """``[/{env}]/.well-known/jwks.json``: the emulator's public keys."""
    environment = request.path_params.get("env")
    if environment is not None and environment not in _state(request).config.environments:
        return _not_found()
    return JSONResponse(_state(request).jwks, headers={"Cache-Control": "max-age=300"})


def _fhir_success(request: Request, resource_type: str, resource_id: str | None) -> JSONResponse:
    if resource_id is not None:
        return JSONResponse(
            {"resourceType": resource_type, "id": resource_id}, media_type=FHIR_JSON
        )
    wanted = request.query_params.get("_id", "")
    entries: list[dict[str, Any]] = []
    if _FHIR_ID.fullmatch(wanted):
        full_url = f"{str(request.url).split('?', 1)[0]}/{wanted}"
        resource = {"resourceType": resource_type, "id": wanted}
        entries.append({"fullUrl": full_url, "resource": resource, "search": {"mode": "match"}})
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "entry": entries,
    }
    return JSONResponse(bundle, media_type=FHIR_JSON)


def _refusal_response(refusal: ApiRefusal) -> JSONResponse:
    if refusal.status == 429:
        headers = {"Retry-After": str(refusal.retry_after or 1)}
        return JSONResponse({"error": "rate_limited"}, status_code=429, headers=headers)
    headers = {"WWW-Authenticate": refusal.challenge} if refusal.challenge else None
    return _outcome(refusal.status, refusal.issue_code, refusal.diagnostics, headers)


async def fhir_endpoint(request: Request) -> Response:
    """``/{env}/fhir/R4/{Type}[/{id}]``: check the path, the method, then the access rules."""
    environment = request.path_params["env"]
    resource_type = request.path_params["type"]
    resource_id = request.path_params.get("id")
    if (
        environment not in _state(request).config.environments
        or not _RESOURCE_TYPE.fullmatch(resource_type)
        or (resource_id is not None and not _FHIR_ID.fullmatch(resource_id))
    ):
        return _not_found()
    if request.method != "GET":
        return _outcome(405, "not-supported", "Only GET is supported", {"Allow": "GET"})
    state = _state(request)
    limiter = state.limiter if environment == "production" else None
    refusal = check_api_call(
        request.headers.get("authorization"),
        environment,
        resource_type,
        state.tokens,
        limiter,
        _now(request),
    )
    if refusal is not None:
        return _refusal_response(refusal)
    return _fhir_success(request, resource_type, resource_id)


async def _http_exception(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return _not_found()
    return _outcome(status, "exception", "Request not handled")


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """The emulator as an ASGI app (see the module docstring for its routes and answers).

    ``config`` defaults to ``EmulatorConfig()`` (one generated client). The app's memory is
    reachable as ``app.state.emulator`` (an ``EmulatorState``).
    """
    config = config if config is not None else EmulatorConfig()
    routes = [
        Route("/.well-known/jwks.json", jwks_endpoint, methods=["GET"]),
        Route("/{env}/.well-known/jwks.json", jwks_endpoint, methods=["GET"]),
        Route("/{env}/fhir/R4/{type}", fhir_endpoint, methods=_ALL_METHODS),
        Route("/{env}/fhir/R4/{type}/{id}", fhir_endpoint, methods=_ALL_METHODS),
    ]
    if config.profile is None:
        routes[:0] = [Route("/{env}/oauth/token", token_endpoint, methods=_ALL_METHODS),
                      Route("/{env}/oauth/token/", token_endpoint, methods=_ALL_METHODS)]
    else:
        routes.append(Route("/{env}/{rest:path}", provider_token_endpoint, methods=_ALL_METHODS))

    async def _server_error(request: Request, exc: Exception) -> Response:
        # Runs outside the Date middleware, so it stamps Date itself; it never echoes `exc`.
        response = _outcome(500, "exception", "Internal emulator error")
        response.headers["Date"] = formatdate(float(config.clock()), usegmt=True)
        return response

    app = Starlette(
        routes=routes,
        middleware=[Middleware(_DateHeader, config=config)],
        exception_handlers={HTTPException: _http_exception, Exception: _server_error},
    )
    app.router.redirect_slashes = False
    limiter = (
        RateLimiter(config.rate_limit, config.rate_limit_window_s)
        if config.rate_limit is not None
        else None
    )
    app.state.emulator = EmulatorState(
        config=config,
        tokens=TokenStore(retention_s=max(float(config.access_token_ttl_s), 3600.0)),
        replay=ReplayGuard(config.leeway_s),
        limiter=limiter,
        jwks=config.keys.public_jwks() if config.keys is not None else {"keys": []},
        routes=token_routes(config.profile) if config.profile is not None else (),
    )
    return app
