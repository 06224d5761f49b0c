"""API-call rules: may this ``Authorization`` header read this FHIR resource type here and now?

Checked in this order; the first that fails decides (RFC 6750 section 3 for the challenges,
Health Gorilla API docs for 401/403/429):

1. No ``Authorization`` header, another scheme than ``Bearer`` (case-insensitive), or an
   empty value -> 401, ``WWW-Authenticate: Bearer realm="{env}"`` with no error code
   (RFC 6750 section 3.1: none when no credentials were presented).
2. The value is shaped like a JWT (three ``.``-separated base64url segments; an assertion used
   as an access token) -> 401 ``error="invalid_token"``, "The access token is invalid".
3. A token never issued (or forgotten), or issued by the other environment -> 401 likewise.
4. An expired token -> 401 ``error="invalid_token"``, "The access token expired".
5. The token's scopes do not cover the resource type -> 403 ``error="insufficient_scope"``,
   ``scope="user/{Type}.read"``.
6. Production only, when a rate limit is set: more requests with this token in the sliding
   window than allowed -> 429 with ``Retry-After`` (whole seconds).

Nothing here ever copies the token into a response.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from hgobs.emulator.state import RateLimiter, TokenStore

PATIENT360 = "patient360"
_RESOURCE_SCOPE = re.compile(r"(?:user|patient|system)/(?P<type>[A-Za-z]+|\*)\.(?:\*|read)")
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class ApiRefusal:
    """A refused API call.

    ``status`` is 401, 403 or 429; ``challenge`` is the ``WWW-Authenticate`` value (None for
    429); ``issue_code`` and ``diagnostics`` fill the FHIR OperationOutcome issue;
    ``retry_after`` is the ``Retry-After`` seconds of a 429.
    """

    status: int
    challenge: str | None
    issue_code: str
    diagnostics: str
    retry_after: int | None = None


def bearer_credentials(authorization: str | None) -> str | None:
    """The token of a ``Bearer`` authorization header; None when absent, other scheme or empty."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def looks_like_jwt(value: str) -> bool:
    """True when ``value`` is three ``.``-separated base64url segments (header, payload, sig)."""
    return _JWT_SHAPE.fullmatch(value) is not None


def scope_covers(scopes: Iterable[str], resource_type: str) -> bool:
    """True when one of ``scopes`` allows reading ``resource_type``.

    Covering scopes: ``{user|patient|system}/{Type|*}.{read|*}``; ``patient360`` covers
    ``Patient`` only. Anything else (e.g. ``launch``, ``openid``) covers nothing.
    """
    for scope in scopes:
        if scope == PATIENT360 and resource_type == "Patient":
            return True
        match = _RESOURCE_SCOPE.fullmatch(scope)
        if match is not None and match["type"] in ("*", resource_type):
            return True
    return False


def challenge(realm: str, *params: tuple[str, str]) -> str:
    """A ``WWW-Authenticate`` Bearer challenge: ``Bearer realm="r", k="v", ...`` (RFC 6750)."""
    return ", ".join([f'Bearer realm="{realm}"', *(f'{k}="{v}"' for k, v in params)])


def _invalid(environment: str, description: str, diagnostics: str, code: str) -> ApiRefusal:
    header = challenge(environment, ("error", "invalid_token"), ("error_description", description))
    return ApiRefusal(401, header, code, diagnostics)


def check_api_call(
    authorization: str | None,
    environment: str,
    resource_type: str,
    tokens: TokenStore,
    limiter: RateLimiter | None,
    now: float,
) -> ApiRefusal | None:
    """Run rules 1 to 6 (see the module docstring); None when the call may proceed.

    ``limiter`` is the production rate limiter (None: no limit here); an admitted call is
    counted in it.
    """
    token = bearer_credentials(authorization)
    if token is None:
        return ApiRefusal(401, challenge(environment), "login", "Bearer access token required")
    if looks_like_jwt(token):
        return _invalid(
            environment,
            "The access token is invalid",
            "A JWT was presented; exchange the assertion at the token endpoint first",
            "login",
        )
    issued = tokens.get(token)
    if issued is None or issued.environment != environment:
        return _invalid(environment, "The access token is invalid", "Unknown access token", "login")
    if issued.expired(now):
        return _invalid(
            environment, "The access token expired", "The access token expired", "expired"
        )
    if not scope_covers(issued.scopes, resource_type):
        needed = f"user/{resource_type}.read"
        header = challenge(environment, ("error", "insufficient_scope"), ("scope", needed))
        return ApiRefusal(403, header, "forbidden", f"Scope {needed} required")
    if limiter is not None:
        wait = limiter.admit(token, now)
        if wait is not None:
            return ApiRefusal(429, None, "throttled", "Rate limit exceeded", retry_after=wait)
    return None
