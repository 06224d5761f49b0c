"""Token-endpoint rules: a token request in, one decision out (a ``Grant`` or a ``Refusal``).

The rules run in this order; the first that fails decides (sources: RFC 6749 sections 3.2 and
5.2, RFC 7521 section 4.2, RFC 7523 sections 2.1 and 3, and the Health Gorilla API docs and
authentication troubleshooting guide):

0. (app) a POST body over ``max_body_bytes`` -> 413 ``invalid_request``.
1. Method not POST, body not ``application/x-www-form-urlencoded``, or no non-empty
   ``grant_type`` in it -> ``unsupported_grant_type``.
2. A POST to the token URL plus ``/`` -> 301 to the token URL (clients that follow it turn
   the POST into a GET without body, which rule 1 then refuses).
3. Request shape: a repeated parameter -> ``invalid_request`` (RFC 6749 section 3.2). The
   jwt-bearer grant needs ``assertion`` and forbids ``client_assertion``/``client_assertion_type``;
   ``client_credentials`` needs ``client_assertion_type`` = the jwt-bearer assertion type and
   ``client_assertion``, and forbids ``assertion`` (``invalid_request``). Any other grant_type
   -> ``unsupported_grant_type``.
4. The assertion is not a well-formed compact JWS -> 400 with an empty body ("silent failure").
5. No registered client has the id in ``iss`` (else ``sub``) -> ``invalid_client``; the HS256
   signature does not verify with that client's secret -> ``invalid_grant``.
6. ``iss`` or ``sub`` is not the client id, or the client is not registered in this
   environment -> ``invalid_client``.
7. ``aud`` is not exactly this environment's token URL (a string) -> ``invalid_grant``.
8. ``exp``/``iat``/``nbf`` missing (``nbf`` is optional), not numbers, or in milliseconds
   (above 1e11); expired; not yet valid; ``exp - iat`` too long -> ``invalid_grant``.
9. The assertion (by ``jti`` for the client, or by its whole text) was presented before ->
   ``invalid_grant``. It is remembered from here on, whatever rule 10 says.
10. ``scope`` asks for more than the client's registered scopes -> ``invalid_scope``.

Refusals echo no request value (a pasted secret must never come back in a response).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import PyJWTError

from hgobs.emulator.config import EmulatorConfig
from hgobs.emulator.state import ReplayGuard

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_CREDENTIALS_GRANT = "client_credentials"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MILLISECONDS_THRESHOLD = 1e11
"""A timestamp above this is taken as milliseconds (1e11 s is the year 5138)."""

_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_HS256 = HMACAlgorithm(HMACAlgorithm.SHA256)
_MAX_FIELDS = 64


@dataclass(frozen=True)
class TokenRequest:
    """What reached the token endpoint.

    ``token_url`` is the environment's token URL as called (scheme, ``Host`` header and path,
    without trailing slash); ``trailing_slash`` says whether the path ended in ``/``.
    """

    method: str
    content_type: str | None
    body: bytes
    environment: str
    token_url: str
    trailing_slash: bool = False


@dataclass(frozen=True)
class Refusal:
    """A refused token request: HTTP ``status`` and the OAuth ``error`` code.

    ``error`` None means an empty body (rule 4, and the 301 of rule 2, whose ``location`` is set).
    """

    status: int
    error: str | None
    description: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Grant:
    """An accepted token request: who gets a token, with which scopes (registration order)."""

    client_id: str
    scopes: tuple[str, ...]


def _bad(error: str, description: str) -> Refusal:
    return Refusal(400, error, description)


SILENT_FAILURE = Refusal(400, None)
IMPROPER_CLIENT = _bad("invalid_client", "improper client id")


def read_form(method: str, content_type: str | None, body: bytes) -> dict[str, list[str]] | None:
    """Rule 1: the form fields of a POST form body, or None when it carries no ``grant_type``.

    The media type is compared case-insensitively, parameters (``; charset=...``) ignored.
    Values are percent-decoded as UTF-8 with undecodable bytes replaced (U+FFFD).
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if method.upper() != "POST" or media_type != FORM_MEDIA_TYPE or not body:
        return None
    try:
        pairs = parse_qsl(
            body.decode("utf-8", errors="replace"),
            keep_blank_values=True,
            errors="replace",
            max_num_fields=_MAX_FIELDS,
        )
    except ValueError:
        return None
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    if not any(form.get("grant_type", [])):
        return None
    return form


def _check_shape(form: dict[str, list[str]]) -> str | Refusal:
    """Rule 3: the assertion text of a well-shaped request, else the refusal."""
    if any(len(values) > 1 for values in form.values()):
        return _bad("invalid_request", "A parameter is repeated")
    fields = {name: values[0] for name, values in form.items()}
    grant_type = fields["grant_type"]
    if grant_type == JWT_BEARER_GRANT:
        if "client_assertion" in fields or "client_assertion_type" in fields:
            return _bad("invalid_request", "client_assertion is not used with the jwt-bearer grant")
        if not fields.get("assertion"):
            return _bad("invalid_request", "Missing assertion")
        return fields["assertion"]
    if grant_type == CLIENT_CREDENTIALS_GRANT:
        if "assertion" in fields:
            return _bad("invalid_request", "assertion is not used with client_credentials")
        if fields.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            return _bad("invalid_request", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}")
        if not fields.get("client_assertion"):
            return _bad("invalid_request", "Missing client_assertion")
        return fields["client_assertion"]
    return _bad("unsupported_grant_type", "Unsupported grant_type")


def _b64url(segment: str) -> bytes | None:
    """Decode one unpadded base64url segment, or None when it is not one."""
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _json_object(raw: bytes) -> dict[str, Any] | None:
    """A JSON object from UTF-8 bytes (NaN and Infinity refused), or None."""

    def _refuse(constant: str) -> Any:
        raise ValueError(constant)

    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class ParsedJws:
    """A well-formed compact JWS: decoded header and payload, signing input and signature."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse_jws(assertion: str) -> ParsedJws | None:
    """Rule 4: the parts of a compact JWS (RFC 7515 section 7.1), or None when malformed.

    Malformed: whitespace anywhere, not exactly three ``.``-separated segments, an empty header
    or payload segment, a character outside the base64url alphabet (``=`` padding included), an
    impossible segment length, or a header or payload that is not a UTF-8 JSON object (NaN and
    Infinity refused). An empty signature segment is well-formed; rule 5 then refuses it.
    """
    if any(c.isspace() for c in assertion):
        return None
    segments = assertion.split(".")
    if len(segments) != 3 or not segments[0] or not segments[1]:
        return None
    decoded = [_b64url(s) for s in segments]
    if any(d is None for d in decoded):
        return None
    header_raw, payload_raw, signature = (d or b"" for d in decoded)
    header, payload = _json_object(header_raw), _json_object(payload_raw)
    if header is None or payload is None:
        return None
    signing_input = f"{segments[0]}.{segments[1]}".encode("ascii")
    return ParsedJws(header, payload, signing_input, signature)


def signature_valid(jws: ParsedJws, secret: str) -> bool:
    """Rule 5: True when the header says ``HS256`` and the HMAC-SHA256 under ``secret`` matches.

    Uses PyJWT's HMAC implementation (constant-time comparison).
    """
    if jws.header.get("alg") != "HS256":
        return False
    try:
        key = _HS256.prepare_key(secret)
    except PyJWTError:
        return False
    return bool(_HS256.verify(jws.signing_input, key, jws.signature))


def _timestamp(value: object) -> float | None:
    """A claim value usable as a NumericDate in seconds, or None (absent, not a number, ms)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if value > MILLISECONDS_THRESHOLD else float(value)


def _check_times(claims: dict[str, Any], config: EmulatorConfig, now: float) -> Refusal | None:
    """Rule 8: the time claims against ``now`` with ``config.leeway_s`` of tolerance."""
    exp, iat = _timestamp(claims.get("exp")), _timestamp(claims.get("iat"))
    if exp is None:
        return _bad("invalid_grant", "Invalid exp")
    if iat is None:
        return _bad("invalid_grant", "Invalid iat")
    nbf: float | None = None
    if "nbf" in claims:
        nbf = _timestamp(claims["nbf"])
        if nbf is None:
            return _bad("invalid_grant", "Invalid nbf")
    leeway = config.leeway_s
    if exp <= now - leeway:
        return _bad("invalid_grant", "Assertion expired")
    if iat > now + leeway or (nbf is not None and nbf > now + leeway):
        return _bad("invalid_grant", "Assertion not yet valid")
    if exp - iat > config.max_assertion_lifetime_s:
        return _bad("invalid_grant", "exp too far in the future")
    return None


def _requested_scopes(form: dict[str, list[str]], registered: tuple[str, ...]) -> tuple[str, ...]:
    """Rule 10 input: the requested scopes (deduplicated), or all registered when none asked."""
    asked = [s for s in form.get("scope", [""])[0].split(" ") if s]
    return tuple(dict.fromkeys(asked)) if asked else registered


def evaluate(
    request: TokenRequest, config: EmulatorConfig, replay: ReplayGuard, now: float
) -> Grant | Refusal:
    """Run rules 1 to 10 (see the module docstring) on ``request`` at Unix time ``now``.

    ``replay`` is updated when rules 1 to 8 pass. Never raises for any request content.
    """
    form = read_form(request.method, request.content_type, request.body)
    if form is None:
        return _bad("unsupported_grant_type", "No grant_type in a form-encoded POST body")
    if request.trailing_slash:
        return Refusal(301, None, location=request.token_url)
    assertion = _check_shape(form)
    if isinstance(assertion, Refusal):
        return assertion
    jws = parse_jws(assertion)
    if jws is None:
        return SILENT_FAILURE
    claims = jws.payload
    iss, sub = claims.get("iss"), claims.get("sub")
    client = config.client(iss) or config.client(sub)
    if client is None:
        return IMPROPER_CLIENT
    if not signature_valid(jws, client.client_secret):
        return _bad("invalid_grant", "Invalid JWT signature")
    if iss != client.client_id or sub != client.client_id:
        return IMPROPER_CLIENT
    if request.environment not in client.environments:
        return _bad("invalid_client", "Client is not registered in this environment")
    aud = claims.get("aud")
    if not isinstance(aud, str) or aud != request.token_url:
        return _bad("invalid_grant", "Invalid audience")
    refusal = _check_times(claims, config, now)
    if refusal is not None:
        return refusal
    exp = float(claims["exp"])
    if not replay.first_use(client.client_id, claims.get("jti"), assertion, exp, now):
        return _bad("invalid_grant", "Assertion already used")
    scopes = _requested_scopes(form, client.scopes)
    if not set(scopes) <= set(client.scopes):
        return _bad("invalid_scope", "Requested scope is not registered for this client")
    return Grant(client.client_id, scopes)
