"""Parse the OAuth parts of an exchange into redacted facts.

- the token request body (RFC 6749 section 4.1.3 / appendix B form encoding; RFC 7521 section
  4.2 and RFC 7523 section 2 parameters): what the body really is, ``grant_type``,
  ``client_assertion_type``, ``scope``, and the names of the other parameters;
- the error response (RFC 6749 section 5.2, plus the ``{status, message}`` shape some clients see)
  and a success response (section 5.1);
- what the ``Authorization`` header of an API call held (RFC 6750 section 2.1).

The ``WWW-Authenticate`` challenges are read in ``hgobs.facts.challenges``.

Every string that came from the wire passes ``scrub_text``; raw values never leave.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import unquote

from hgobs import jsontext
from hgobs.facts.jwtpeek import looks_like_jwt
from hgobs.knownsecrets import KNOWN_PIECE, MIN_SECRET
from hgobs.redaction import REDACTED, redact_url
from hgobs.rfc import FORM_TYPE
from hgobs.scrub import scrub_text
from hgobs.secretshape import is_secret_shaped

KEPT_PARAMS = ("grant_type", "client_assertion_type", "scope")
ASSERTION_PARAMS = ("assertion", "client_assertion")
PLACEHOLDERS = re.compile(
    r"^(?:undefined|null|none|nil|\{\{.*\}\}|\$\{.*\}|<.*>|your[ _-].*|\[.*\]|"
    r"access[_ ]?token|token|xxx+|changeme|placeholder)$",
    re.IGNORECASE,
)
_HEADER_ALIASES = re.compile(r"^(?:x-)?auth(?:o|e)?ri[sz]ation$|^authorisation$|^authorizaton$", re.I)
MAX_FIELD = 256
MAX_MULTIPART_BYTES = 65536
"""Largest ``multipart/form-data`` request body parsed (a larger one is recorded by kind only)."""
SECRET_PARAMS = frozenset({
    "client_secret", "password", "assertion", "client_assertion", "refresh_token", "code",
    "code_verifier", "access_token", "token", "subject_token", "actor_token", "id_token_hint"})
"""Parameters whose values are secrets however short: their 6- and 7-character values are
scrubbed from server text too (any other value from 8 characters on, never a short client id
or scope). RFC 6749 sections 2.3.1, 4.1.3, 4.3.2, 6; RFC 7521 section 4.2; RFC 8693 section 2.1."""
REGISTERED_PARAMS = frozenset({
    "grant_type", "client_id", "client_secret", "client_assertion", "client_assertion_type",
    "assertion", "scope", "code", "redirect_uri", "code_verifier", "refresh_token", "username",
    "password", "audience", "resource", "requested_token_type", "subject_token",
    "subject_token_type", "actor_token", "actor_token_type", "state", "nonce", "device_code",
    "token", "token_type_hint", "access_token", "response_type", "claims", "acr_values",
    "auth_req_id", "dpop_jkt", "purpose", "launch", "aud"})
"""Token request parameter names recorded as they are (IANA OAuth Parameters registry, plus
SMART's ``launch`` and ``aud``). Any other name may be a value sent in the name position (a
form built from a secret): it is recorded only when it reads as a plain parameter name."""
_PLAIN_NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+){1,5}|x-[a-z0-9-]{1,30}")
"""A snake_case name of 2-6 parts (``x_request_id``), or an ``x-`` name: not a word alone."""


def media_type(content_type: str | None) -> str | None:
    """The media type of a Content-Type value, lower-cased, parameters dropped."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def parse_form(text: str) -> list[tuple[str, str]]:
    """``urllib.parse.parse_qsl(text, keep_blank_values=True)``, with less work per field.

    The same steps: ``&``-separated fields, empty ones skipped, a field without ``=`` read as
    a name with an empty value, ``+`` read as a space and percent-escapes undone as UTF-8
    (invalid sequences replaced). The values of ``KEPT_PARAMS`` (the same few texts in every
    request, such as the ``grant_type`` URN) are unescaped once and remembered; names and
    other values, secrets among them, are unescaped each time and never kept.
    """
    if "+" in text:
        text = text.replace("+", " ")
    pairs: list[tuple[str, str]] = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in name:
            name = unquote(name)
        if "%" in value:
            value = _unquote_kept(value) if name in KEPT_PARAMS else unquote(value)
        pairs.append((name, value))
    return pairs


@functools.lru_cache(maxsize=256)
def _unquote_kept(text: str) -> str:
    """``unquote`` of the value of a kept parameter (``grant_type`` ...), remembered."""
    return unquote(text)


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str]] | None:
    """The ``(name, value)`` of each text part of a ``multipart/form-data`` body (RFC 7578),
    read by the standard library's ``email`` parser; None when the body is larger than
    ``MAX_MULTIPART_BYTES`` or not multipart. A file part's value is its text, if UTF-8."""
    if len(body) > MAX_MULTIPART_BYTES:
        return None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    try:
        message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    except Exception:  # the parser's own errors are many; an unreadable body is just "multipart"
        return None
    if not message.is_multipart():
        return None
    pairs: list[tuple[str, str]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        pairs.append((name, payload.decode("utf-8", "replace")))
    return pairs


def _body_kind(ctype: str | None, body: bytes, content_type: str = "") -> tuple[str, Any]:
    """``(kind, parsed)`` of a request body; parsed is a list of pairs or a JSON object."""
    if not body:
        return "empty", None
    stripped = body.lstrip()
    if ctype and ctype.startswith("multipart/"):
        return "multipart", parse_multipart(content_type, body)
    if stripped[:1] in (b"{", b"["):
        try:
            obj = jsontext.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            return ("json" if ctype in ("application/json", None) or "json" in (ctype or "")
                    else "json_text"), obj
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "other", None
    if ctype == FORM_TYPE or (ctype is None and "=" in text):
        return "form", parse_form(text)
    if "=" in text and not text.startswith("--"):
        return "other", parse_form(text)
    return "other", None


def request_facts(content_type: str | None, body: bytes) -> tuple[dict[str, Any], dict[str, str]]:
    """Facts about a token request body, and the raw parameters hgobs must look into.

    Returns ``(facts, private)``: ``facts`` are ``request.*``/``form.*`` record fields;
    ``private`` maps ``assertion``/``client_assertion`` to the raw values (for ``jwtpeek``
    only) and ``_secrets`` to every other raw value, so scrubbers can remove echoes of them.
    """
    ctype = media_type(content_type)
    kind, parsed = _body_kind(ctype, body, content_type or "")
    facts: dict[str, Any] = {
        "request.content_type": scrub_text(ctype, limit=64),
        "request.body_kind": kind,
        "request.is_form": kind == "form" and ctype == FORM_TYPE,
        "request.body_bytes": len(body),
    }
    pairs: list[tuple[str, str]] = []
    if isinstance(parsed, list):
        pairs = parsed
    elif isinstance(parsed, dict):
        pairs = [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in parsed.items()]
    private: dict[str, str] = {}
    secrets: list[str] = []
    other: list[str] = []
    for name, value in pairs:
        if name in KEPT_PARAMS:
            facts[f"form.{name}"] = scrub_text(value, limit=MAX_FIELD)
        elif name in ASSERTION_PARAMS:
            private.setdefault(name, value)
            other.append(name)
        else:
            if len(value) >= KNOWN_PIECE or (name in SECRET_PARAMS and len(value) >= MIN_SECRET):
                secrets.append(value)
            clean = param_name(name)
            if clean != name and len(name) >= MIN_SECRET:
                secrets.append(name)  # a value in the name position: scrub its echoes too
            if clean and clean not in other:
                other.append(clean)
    if other:
        facts["form.other_params"] = other[:30]
    private["_secrets"] = "\x00".join(v for v in secrets if v)
    return {k: v for k, v in facts.items() if v is not None}, private


def param_name(name: str) -> str:
    """A request parameter name as recorded: a registered one (``REGISTERED_PARAMS``) or a
    plain snake_case or ``x-`` name as it is, scrubbed; any other (a word, a token, a phrase
    that may be a secret put in the name position) as ``[redacted]``."""
    if name in REGISTERED_PARAMS:
        return name
    if len(name) <= 40 and _PLAIN_NAME_RE.fullmatch(name):
        return scrub_text(name, limit=64) or REDACTED
    return REDACTED


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` of an ``Authorization: Basic`` value (RFC 7617 section 2;
    RFC 6749 section 2.3.1 form-encodes both before base64), or None when it is not one."""
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not credential.strip():
        return None
    try:
        decoded = base64.b64decode(credential.strip()[:4096], validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(":")
    if not colon:
        return None
    return unquote(user.replace("+", " ")), unquote(password.replace("+", " "))


MAX_URN = 200
"""Longest ``error_urn`` kept, characters."""
MAX_URN_NUMBER = 3
"""Most digits of a number part of a kept ``error_urn`` (a version or code; a longer number
may be a record's or a patient's)."""


def error_urn(error_uri: str, known: Iterable[str] = ()) -> str | None:
    """The URN an ``error_uri`` names in its path (some servers put their reason there, e.g.
    ``urn:cerner:error:authorization-server:oauth2:token:invalid-tenant``), lower-cased, when
    it is all vocabulary: a path segment starting ``urn:`` whose ``:``-separated parts are
    letters, digits, ``-``, ``_`` and ``.``, none of them secret-shaped
    (``hgobs.secretshape``), a number of more than ``MAX_URN_NUMBER`` digits (a record or
    patient number), and nothing ``scrub_text`` removes (``known``: the request's secrets).
    None otherwise. RFC 6749 section 5.2 (``error_uri``); RFC 8141."""
    path = error_uri[:2048].split("?", 1)[0].split("#", 1)[0]
    for raw in path.split("/"):
        seg = unquote(raw)
        if len(seg) > MAX_URN or not seg.lower().startswith("urn:"):
            continue
        parts = seg.split(":")
        if all(p and all(c.isascii() and (c.isalnum() or c in "-_.") for c in p)
               and not is_secret_shaped(p) and not (p.isdigit() and len(p) > MAX_URN_NUMBER)
               for p in parts) and scrub_text(seg, known, limit=MAX_URN) == seg:
            return seg.lower()
    return None


def _no_constant(name: str) -> None:
    """``NaN``, ``Infinity`` and ``-Infinity`` in a JSON body read as null (not JSON numbers)."""
    return None


def response_body_facts(body: bytes, known: Iterable[str] = ()) -> tuple[dict[str, Any], str | None]:
    """Facts from a token endpoint response body, and the raw issued access value if any.

    Reads the RFC 6749 section 5.2 error fields, the ``{status, message}`` shape, and on success
    ``token_type``, ``expires_in`` and ``scope`` (section 5.1). ``known`` are secrets of the
    request to scrub from echoed text.
    """
    empty = not body.strip()
    facts: dict[str, Any] = {"response.body_empty": empty}
    if empty:
        return facts, None
    try:
        obj = jsontext.loads(body, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return facts, None
    if not isinstance(obj, dict):
        return facts, None
    known = tuple(known)
    issued = obj.get("access_token") if isinstance(obj.get("access_token"), str) else None
    if issued:
        known = (*known, issued)
    if isinstance(obj.get("error"), str):
        facts["response.error"] = scrub_text(obj["error"], known, limit=64)
    if isinstance(obj.get("error_description"), str):
        facts["response.error_description"] = scrub_text(obj["error_description"], known)
    if isinstance(obj.get("error_uri"), str):
        facts["response.error_uri"] = redact_url(obj["error_uri"])
        urn = error_urn(obj["error_uri"], known)
        if urn:
            facts["response.error_urn"] = urn
    if isinstance(obj.get("status"), (str, int)) and not isinstance(obj.get("status"), bool):
        facts["response.status_field"] = scrub_text(str(obj["status"]), known, limit=64)
    if isinstance(obj.get("message"), str):
        facts["response.message"] = scrub_text(obj["message"], known)
    if issued:
        if isinstance(obj.get("token_type"), str):
            facts["issued.type"] = scrub_text(obj["token_type"], known, limit=32)
        expires = obj.get("expires_in")
        if isinstance(expires, (int, float)) and not isinstance(expires, bool) \
                and math.isfinite(expires) and abs(expires) < 2**53:
            facts["issued.expires_in"] = float(expires)
        elif isinstance(expires, str) and expires.isdigit():
            facts["issued.expires_in"] = float(expires)
        if isinstance(obj.get("scope"), str):
            facts["issued.scope"] = scrub_text(obj["scope"], known, limit=MAX_FIELD)
    return facts, issued


SCHEME_DEFECTS = ("doubled", "no_space", "quoted", "extra_space", "case")
"""``presented.scheme_defect`` values, from the one a server never reads to the one only a strict
server refuses (RFC 6750 section 2.1 ``b64token``; RFC 9110 section 11.1 makes the scheme
case-insensitive and section 11.4 allows several spaces after it)."""


def scheme_defect(scheme: str, rest: str) -> tuple[str | None, str]:
    """``(defect, credential)`` of an ``Authorization`` value split at its first space into
    ``scheme`` and ``rest``: ``doubled`` (``Bearer Bearer x``), ``no_space`` (``Bearerx``),
    ``quoted`` (``Bearer "x"``), ``extra_space`` (two or more spaces after ``Bearer``),
    ``case`` (``bearer``, ``BEARER``), else None; ``credential`` is the value the server was
    meant to read (``x``), stripped. Linear in the value."""
    credential = rest.strip()
    low = scheme.lower()
    if low != "bearer":
        if low.startswith("bearer") and len(scheme) > 6 and not credential:
            return "no_space", ""
        return None, credential
    if credential[:7].lower() == "bearer " or credential.lower() == "bearer":
        return "doubled", credential[6:].strip()
    if len(credential) >= 2 and credential[0] == credential[-1] and credential[0] in "\"'":
        return "quoted", credential[1:-1].strip()
    if rest[:1].isspace():
        return "extra_space", credential
    if scheme != "Bearer":
        return "case", credential
    return None, credential


def presented_facts(headers: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """What an API call presented as its credentials, and the raw value to peek into.

    ``headers`` is a case-insensitive mapping of request headers (``httpx.Headers``). Kinds:
    ``absent``, ``misspelled_header`` (``Authorisation``, ``X-Authorization`` ...), ``empty``,
    ``placeholder`` (``undefined``, ``null``, ``YOUR_TOKEN`` ...), ``non_bearer_scheme``,
    ``jwt`` (refined to ``assertion_jwt`` by the caller) and ``opaque``. RFC 6750 section 2.1.

    ``presented.scheme_defect`` names a defect of the Bearer form (``scheme_defect``); the
    kind is then that of the value inside (``Bearer Bearer x`` and ``Bearer "x"`` read ``x``),
    except ``no_space`` (``Bearerx``), which stays ``non_bearer_scheme``.
    """
    value = headers.get("authorization")
    if value is None:
        for name in headers:
            if name.lower() != "authorization" and _HEADER_ALIASES.match(name):
                return {"presented.kind": "misspelled_header",
                        "presented.header_name": scrub_text(name, limit=64)}, None
        return {"presented.kind": "absent"}, None
    text = value.strip()
    if not text:
        return {"presented.kind": "empty"}, None
    scheme, _, credential = text.partition(" ")
    defect, credential = scheme_defect(scheme, credential)
    facts: dict[str, Any] = {"presented.scheme": scrub_text(scheme, limit=32),
                             "presented.scheme_defect": defect}
    if defect == "no_space":
        facts["presented.scheme"] = scrub_text(scheme[:6], limit=32)
        facts["presented.kind"] = "non_bearer_scheme"
        return facts, None
    if scheme.lower() != "bearer":
        if looks_like_jwt(scheme) or not credential:
            facts["presented.kind"] = "non_bearer_scheme"
            facts["presented.scheme"] = None
            return {k: v for k, v in facts.items() if v is not None}, None
        facts["presented.kind"] = "non_bearer_scheme"
        return facts, None
    if not credential:
        facts["presented.kind"] = "empty"
        return facts, None
    if PLACEHOLDERS.match(credential):
        facts["presented.kind"] = "placeholder"
        return facts, None
    facts["presented.length"] = len(credential)
    facts["presented.kind"] = "jwt" if looks_like_jwt(credential) else "opaque"
    return facts, credential
