"""Parse the OAuth parts of an exchange into redacted facts.

- the token request body (RFC 6749 section 4.1.3 / appendix B form encoding; RFC 7521 section
  4.2 and RFC 7523 section 2 parameters): what the body really is, ``grant_type``,
  ``client_assertion_type``, ``scope``, and the names of the other parameters;
- the error response (RFC 6749 section 5.2, plus the ``{status, message}`` shape some clients see)
  and a success response (section 5.1);
- the ``WWW-Authenticate`` challenge (RFC 6750 section 3; RFC 7235 section 4.1);
- what the ``Authorization`` header of an API call held (RFC 6750 section 2.1).

Every string that came from the wire passes ``scrub_text``; raw values never leave.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from hgobs import jsontext
from hgobs.capture.jwtpeek import looks_like_jwt
from hgobs.redaction import redact_url, scrub_text
from hgobs.rfc import FORM_TYPE

KEPT_PARAMS = ("grant_type", "client_assertion_type", "scope")
ASSERTION_PARAMS = ("assertion", "client_assertion")
PLACEHOLDERS = re.compile(
    r"^(?:undefined|null|none|nil|\{\{.*\}\}|\$\{.*\}|<.*>|your[ _-].*|\[.*\]|"
    r"access[_ ]?token|token|xxx+|changeme|placeholder)$",
    re.IGNORECASE,
)
_HEADER_ALIASES = re.compile(r"^(?:x-)?auth(?:o|e)?ri[sz]ation$|^authorisation$|^authorizaton$", re.I)
_CHALLENGE_PARAM = re.compile(r'([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
MAX_FIELD = 256


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


def _body_kind(ctype: str | None, body: bytes) -> tuple[str, Any]:
    """``(kind, parsed)`` of a request body; parsed is a list of pairs or a JSON object."""
    if not body:
        return "empty", None
    stripped = body.lstrip()
    if ctype and ctype.startswith("multipart/"):
        return "multipart", None
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
    kind, parsed = _body_kind(ctype, body)
    facts: dict[str, Any] = {
        "request.content_type": ctype,
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
            secrets.append(value)
            clean = scrub_text(name, limit=64)
            if clean and clean not in other:
                other.append(clean)
    if other:
        facts["form.other_params"] = other[:30]
    private["_secrets"] = "\x00".join(v for v in secrets if v)
    return {k: v for k, v in facts.items() if v is not None}, private


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


def challenge_facts(value: str | None, known: Iterable[str] = ()) -> dict[str, Any]:
    """The first challenge of a ``WWW-Authenticate`` value as ``challenge.*`` fields."""
    if not value:
        return {}
    text = value.strip()
    scheme, _, rest = text.partition(" ")
    facts: dict[str, Any] = {"challenge.scheme": scrub_text(scheme, limit=32)}
    if "=" in scheme:  # no scheme word, only parameters
        facts["challenge.scheme"] = None
        rest = text
    for match in _CHALLENGE_PARAM.finditer(rest):
        name = match.group(1).lower()
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        raw = raw.replace('\\"', '"')
        if name in ("error", "scope", "realm"):
            facts.setdefault(f"challenge.{name}", scrub_text(raw, known, limit=MAX_FIELD))
        elif name == "error_description":
            facts.setdefault("challenge.error_description", scrub_text(raw, known))
    return {k: v for k, v in facts.items() if v is not None}


def presented_facts(headers: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """What an API call presented as its credentials, and the raw value to peek into.

    ``headers`` is a case-insensitive mapping of request headers (``httpx.Headers``). Kinds:
    ``absent``, ``misspelled_header`` (``Authorisation``, ``X-Authorization`` ...), ``empty``,
    ``placeholder`` (``undefined``, ``null``, ``YOUR_TOKEN`` ...), ``non_bearer_scheme``,
    ``jwt`` (refined to ``assertion_jwt`` by the caller) and ``opaque``. RFC 6750 section 2.1.
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
    credential = credential.strip()
    facts: dict[str, Any] = {"presented.scheme": scrub_text(scheme, limit=32)}
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
