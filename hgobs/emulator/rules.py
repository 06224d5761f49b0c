"""Token-endpoint rules: a token request in, one decision out (a ``Grant`` or a ``Refusal``).

The rules run in this order; the first that fails decides (sources: RFC 6749 sections 3.2 and
5.2, RFC 7521 section 4.2, RFC 7523 sections 2.1 and 3, and the Health Gorilla API docs and
authentication troubleshooting guide):

0. (app) a POST body over ``max_body_bytes`` -> 413 ``invalid_request``.
1. Method not POST, body not ``application/x-www-form-urlencoded``, or no non-empty
   ``grant_type`` in it -> ``unsupported_grant_type``.
2. A POST to the token URL plus ``/`` -> 301 to the token URL (clients that follow it turn
   the POST into a GET without body, which rule 1 then refuses).
   2b. Only when the rules judge secrets (a provider profile): a client secret (HTTP Basic or
   ``client_secret``) without any assertion -> granted when the provider takes secrets and
   it is the client's, else ``secret_instead_of_assertion`` (``judge_secret``).
3. Request shape: a repeated parameter -> ``invalid_request`` (RFC 6749 section 3.2). The
   jwt-bearer grant needs ``assertion`` and forbids ``client_assertion``/``client_assertion_type``;
   ``client_credentials`` needs ``client_assertion_type`` = the jwt-bearer assertion type and
   ``client_assertion``, and forbids ``assertion`` (``invalid_request``). Any other grant_type
   -> ``unsupported_grant_type``.
4. The assertion is not a well-formed compact JWS -> ``malformed_assertion``.
5. No registered client has the id in ``iss`` (else ``sub``) -> ``invalid_client_id``; the
   header breaks a demand of the rules (``alg`` not accepted, a required parameter missing,
   ``typ``, a one-of group), or the signature does not verify with that client's secret
   (HS*) or registered JWKS (RS*/PS*/ES*/EdDSA) -> ``algorithm_not_accepted``,
   ``signing_key_not_found``, ``assertion_header_rejected`` or ``invalid_signature``
   (``hgobs.emulator.signature``).
6. ``iss`` or ``sub`` is not the client id (``sub`` of a jwt-bearer grant may be any
   non-empty string when ``rules.claim_sub`` says a user) -> ``invalid_client_id``; the client is not
   registered in this environment -> ``environment_mismatch``.
7. ``aud`` is not one of the rules' accepted values (a string; an array holding one only
   when ``audience_array_ok``) -> ``audience_mismatch``.
8. ``exp`` (and ``iat`` when required; ``nbf`` and an unrequired ``iat`` are optional) missing
   or not numbers -> ``missing_claim``, in milliseconds (above 1e11) ->
   ``timestamp_in_milliseconds``; expired, not yet valid, ``exp - iat`` too long -> their
   categories; ``jti`` missing when required or longer than ``max_jti_length`` ->
   ``missing_claim``.
9. The assertion (by ``jti`` for the client, or by its whole text) was presented before ->
   ``assertion_reuse``. It is remembered from here on, whatever rule 10 says.
10. ``scope`` asks for more than the client's registered scopes -> ``invalid_scope``.

Each category's answer (status, error code, description) comes from the configured
``TokenRules`` (``hgobs.emulator.tokenrules``); by default Health Gorilla's: a malformed
assertion gets 400 with an empty body ("silent failure"), client problems ``invalid_client``,
claim and signature problems ``invalid_grant``.

Refusals echo no request value (a pasted secret must never come back in a response).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from hgobs.emulator.config import EmulatorConfig
from hgobs.emulator.signature import check_header_and_signature
from hgobs.emulator.state import ReplayGuard
from hgobs.emulator.tokenrules import TokenRules

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_CREDENTIALS_GRANT = "client_credentials"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MILLISECONDS_THRESHOLD = 1e11
"""A timestamp above this is taken as milliseconds (1e11 s is the year 5138)."""

_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_MAX_FIELDS = 64


@dataclass(frozen=True)
class TokenRequest:
    """What reached the token endpoint.

    ``token_url`` is the environment's token URL as called (scheme, ``Host`` header and path,
    without trailing slash); ``trailing_slash`` says whether the path ended in ``/``;
    ``authorization`` the ``Authorization`` header (None: none); ``audiences`` the accepted
    ``aud`` values at ``token_url`` when the caller computed them (a provider profile's),
    else None: the rules' ``accepted_audiences(token_url)``.
    """

    method: str
    content_type: str | None
    body: bytes
    environment: str
    token_url: str
    trailing_slash: bool = False
    authorization: str | None = None
    audiences: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Refusal:
    """A refused token request: HTTP ``status`` and the OAuth ``error`` code.

    ``error`` None means an empty body (rule 4, and the 301 of rule 2, whose ``location`` is set);
    ``uri`` an ``error_uri`` to send (empty: none).
    """

    status: int
    error: str | None
    description: str | None = None
    location: str | None = None
    uri: str = ""


@dataclass(frozen=True)
class Grant:
    """An accepted token request: who gets a token, with which scopes (registration order)."""

    client_id: str
    scopes: tuple[str, ...]


def _bad(error: str, description: str) -> Refusal:
    return Refusal(400, error, description)


def _refuse(rules: TokenRules, category: str, claim: str = "", reason: str = "") -> Refusal:
    """The rules' answer for ``category`` as a ``Refusal``."""
    answer = rules.answer(category)
    return Refusal(answer.status, answer.error,
                   answer.text(claim, reason) if answer.error is not None else None,
                   uri=answer.uri)


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


def _timestamp(value: object) -> float | None:
    """A claim value usable as a NumericDate in seconds, or None (absent, not a number, ms)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if value > MILLISECONDS_THRESHOLD else float(value)


def _check_times(claims: dict[str, Any], rules: TokenRules, now: float) -> Refusal | None:
    """Rule 8: the time claims and ``jti`` against ``now`` with ``rules.leeway_s`` of tolerance."""
    stamps: dict[str, float | None] = {}
    for name in ("exp", "iat", "nbf"):
        if name not in claims:
            if name == "exp" or (name == "iat" and rules.require_iat):
                return _refuse(rules, "missing_claim", name)
            stamps[name] = None
            continue
        value = _timestamp(claims[name])
        if value is None:
            raw = claims[name]
            in_ms = isinstance(raw, (int, float)) and not isinstance(raw, bool)
            return _refuse(rules, "timestamp_in_milliseconds" if in_ms else "missing_claim", name)
        stamps[name] = value
    exp, iat, nbf = stamps["exp"], stamps["iat"], stamps["nbf"]
    assert exp is not None
    leeway = rules.leeway_s
    if exp <= now - leeway:
        return _refuse(rules, "expired_assertion")
    if (iat is not None and iat > now + leeway) or (nbf is not None and nbf > now + leeway):
        return _refuse(rules, "assertion_not_yet_valid")
    limit = rules.max_assertion_lifetime_s
    if limit is not None and exp - (now if iat is None else iat) > limit:
        return _refuse(rules, "assertion_lifetime_too_long")
    jti = claims.get("jti")
    if rules.require_jti and not (isinstance(jti, str) and jti):
        return _refuse(rules, "missing_claim", "jti")
    if rules.max_jti_length is not None and isinstance(jti, str) \
            and len(jti) > rules.max_jti_length:
        return _refuse(rules, "missing_claim", "jti")
    return None


def _audience_ok(aud: object, accepted: tuple[str, ...], array_ok: bool) -> bool:
    """Rule 7: ``aud`` is an accepted string, or (``array_ok``) an array holding one."""
    if isinstance(aud, str):
        return aud in accepted
    return array_ok and isinstance(aud, list) and any(
        isinstance(a, str) and a in accepted for a in aud[:64])


def _requested_scopes(form: dict[str, list[str]], registered: tuple[str, ...]) -> tuple[str, ...]:
    """Rule 10 input: the requested scopes (deduplicated), or all registered when none asked."""
    asked = [s for s in form.get("scope", [""])[0].split(" ") if s]
    return tuple(dict.fromkeys(asked)) if asked else registered


def _presented_secret(form: dict[str, list[str]], authorization: str | None
                      ) -> tuple[str, str] | None:
    """``(client id, secret)`` a request authenticates with (RFC 6749 section 2.3.1: HTTP
    Basic with form-encoded parts, or ``client_id``/``client_secret`` in the body), else None."""
    if form.get("client_secret"):
        return form.get("client_id", [""])[0], form["client_secret"][0]
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip()[:4096], validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    client_id, colon, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if colon else None


def judge_secret(form: dict[str, list[str]], request: TokenRequest, config: EmulatorConfig,
                 rules: TokenRules) -> Grant | Refusal | None:
    """Rule 2b (``rules.judge_secrets``): a request with a client secret and no assertion.
    With ``rules.secret_auth`` (and grant ``client_credentials``) it is granted when the
    secret is the registered client's (constant-time comparison) and the client is
    registered in the environment, else ``invalid_client_id``/``environment_mismatch``;
    without, it is ``secret_instead_of_assertion``. None: not such a request."""
    presented = _presented_secret(form, request.authorization)
    if presented is None or form.get("assertion") or form.get("client_assertion"):
        return None
    if not rules.secret_auth:
        return _refuse(rules, "secret_instead_of_assertion")
    if form.get("grant_type", [""])[0] != CLIENT_CREDENTIALS_GRANT:
        return None
    client = config.client(presented[0])
    if client is None or not client.client_secret or not hmac.compare_digest(
            presented[1].encode("utf-8"), client.client_secret.encode("utf-8")):
        return _refuse(rules, "invalid_client_id")
    if not config.registered(client, request.environment):
        return _refuse(rules, "environment_mismatch")
    scopes = _requested_scopes(form, client.scopes)
    if not set(scopes) <= set(client.scopes):
        return _refuse(rules, "invalid_scope")
    return Grant(client.client_id, scopes)


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
    rules = config.rules
    assert rules is not None
    if rules.judge_secrets:
        secret = judge_secret(form, request, config, rules)
        if secret is not None:
            return secret
    assertion = _check_shape(form)
    if isinstance(assertion, Refusal):
        return assertion
    jws = parse_jws(assertion)
    if jws is None:
        return _refuse(rules, "malformed_assertion")
    claims = jws.payload
    iss, sub = claims.get("iss"), claims.get("sub")
    client = config.client(iss) or config.client(sub)
    if client is None:
        return _refuse(rules, "invalid_client_id")
    failure = check_header_and_signature(jws.header, jws.signing_input, jws.signature, client,
                                         rules)
    if failure is not None:
        return _refuse(rules, failure[0], reason=failure[1])
    sub_free = rules.claim_sub != "client_id" and "assertion" in form
    if iss != client.client_id or (
            sub != client.client_id and not (sub_free and isinstance(sub, str) and sub)):
        return _refuse(rules, "invalid_client_id")
    if not config.registered(client, request.environment):
        return _refuse(rules, "environment_mismatch")
    accepted = request.audiences if request.audiences is not None \
        else rules.accepted_audiences(request.token_url)
    if not _audience_ok(claims.get("aud"), accepted, rules.audience_array_ok):
        return _refuse(rules, "audience_mismatch")
    refusal = _check_times(claims, rules, now)
    if refusal is not None:
        return refusal
    exp = float(claims["exp"])
    if not replay.first_use(client.client_id, claims.get("jti"), assertion, exp, now):
        return _refuse(rules, "assertion_reuse")
    scopes = _requested_scopes(form, client.scopes)
    if not set(scopes) <= set(client.scopes):
        return _refuse(rules, "invalid_scope")
    return Grant(client.client_id, scopes)
