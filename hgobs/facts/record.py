"""Build one redacted auth attempt record from a plain HTTP ``Exchange`` (no httpx).

Capture (through its httpx adapter, ``hgobs.capture.record``) and the raw readers (through
``hgobs.facts.attempt``) both build records here. Only facts from the allowlist in
``hgobs.schema`` are produced; raw secrets are read here (to peek into the assertion,
fingerprint the presented and issued values, and scrub echoes of them) and dropped before the
record leaves this module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hgobs.facts import challenges, jwtpeek, oauth, request
from hgobs.facts.claims import aud_differs_in, aud_facts, profile_facts
from hgobs.facts.exchange import Exchange, Headers, http_date
from hgobs.profiles import TOKEN_EXCHANGE, Profile
from hgobs.redaction import Fingerprinter, redact_url
from hgobs.schema import Record
from hgobs.scrub import MIN_SECRET, scrub_text


@dataclass(frozen=True)
class Plan:
    """What an outgoing request is: endpoint ``kind`` and provider ``environment``."""

    kind: str
    environment: str


def _retry_after(value: str | None, server_date: float | None) -> float | None:
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    when = http_date(text)
    if when is not None and server_date is not None:
        return max(0.0, when - server_date)
    return None


def plan(profile: Profile, method: str, url: Any, headers: Headers,
         body: bytes | None) -> Plan | None:
    """Decide whether a request is an auth attempt to record, cheaply.

    A token exchange is a request to a profile token URL, or any POST whose form body carries
    ``grant_type`` (RFC 6749 section 4.1.3, appendix B); an API call is a request under a
    profile API base. Else None. ``url`` is a string or a parsed URL ``Profile.match`` takes;
    ``body`` the request body if held in memory, else None.
    """
    kind, env = profile.match(url)
    if kind is not None:
        return _plan_of(kind, env or "unknown")
    if method == "POST":
        ctype = headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            if body is not None and (body.startswith(b"grant_type=") or b"&grant_type=" in body):
                return _plan_of(TOKEN_EXCHANGE, "unknown")
    return None


@functools.lru_cache(maxsize=256)
def _plan_of(kind: str, environment: str) -> Plan:
    """The one ``Plan`` per kind and profile environment (plans are frozen: shared freely)."""
    return Plan(kind, environment)


def _url_facts(url: str) -> tuple[str, str, str | None]:
    """``(redacted URL, scheme, host name)`` of a request URL."""
    if "?" in url or "@" in url or "#" in url:
        return _url_facts_of(url)
    return _plain_url_facts(url)  # a token URL: the same few, again and again


@functools.lru_cache(maxsize=256)
def _plain_url_facts(url: str) -> tuple[str, str, str | None]:
    """``_url_facts`` of a URL without query, user info or fragment, remembered."""
    return _url_facts_of(url)


def _url_facts_of(url: str) -> tuple[str, str, str | None]:
    parts = urlsplit(url)
    return redact_url(url), parts.scheme, parts.hostname


def _base(exchange: Exchange, plan: Plan, profile: Profile) -> Record:
    redacted, scheme, host = _url_facts(exchange.url)
    return {
        "time": exchange.time,
        "endpoint.kind": plan.kind,
        "environment": plan.environment,
        "profile": profile.name,
        "http.method": exchange.method,
        "url": redacted,
        "url.scheme": scheme,
        "server.address": host,
    }


RESPONSE_HEADERS = frozenset({"date", "content-type", "www-authenticate", "retry-after", "location"})
"""The response header fields a record is built from (an ``Exchange`` may hold only these)."""


def _scheme(location: str) -> str:
    """The scheme of a ``Location`` value, scrubbed (``TOKEN:rest`` parses as a scheme), or
    ``relative``."""
    try:
        scheme = urlsplit(location[:2048]).scheme
    except ValueError:
        return "relative"
    return (scrub_text(scheme, limit=32) or "relative") if scheme else "relative"


def _response_common(exchange: Exchange, known: tuple[str, ...]) -> Record:
    now = exchange.time
    status = exchange.status
    facts: Record = {"http.status": status}
    headers = exchange.response_headers
    server_date = http_date(headers.get("date"))
    if server_date is not None:
        facts["server.date"] = server_date
        facts["clock.offset_s"] = round(now - server_date, 3)
    ctype = oauth.media_type(headers.get("content-type"))
    if ctype:
        facts["response.content_type"] = scrub_text(ctype, known, limit=64)
    facts.update(challenges.challenge_facts(headers.get("www-authenticate"), known))
    retry = _retry_after(headers.get("retry-after"), server_date)
    if retry is not None:
        facts["response.retry_after_s"] = retry
    if status is not None and 300 <= status < 400:
        facts["redirect.status"] = status
        facts["redirect.location_scheme"] = _scheme(headers.get("location", ""))
    redirects = exchange.redirects
    if redirects is not None:
        facts["redirect.count"] = redirects.count
        facts["redirect.status"] = redirects.status
        facts["redirect.location_scheme"] = _scheme(redirects.location)
        facts["redirect.final_method"] = redirects.final_method
        facts["redirect.final_body_bytes"] = redirects.final_body_bytes
    return facts


_PLAIN_HEADERS = frozenset({
    "host", "content-type", "content-length", "accept", "accept-encoding", "accept-language",
    "user-agent", "connection", "traceparent", "tracestate", "baggage", "cache-control"})


def _echoable_values(url: str, headers: Headers) -> list[str]:
    """What the request carried that a server may echo and hgobs never records:
    the query parameter values (an ``access_token`` in the query, RFC 6750 section 2.3), the
    header values other than plain protocol ones (a misspelled credentials header, an API key),
    the parameters of its ``Content-Type``, and the client secret of a Basic ``Authorization``
    (RFC 6749 section 2.3.1)."""
    query = urlsplit(url).query if "?" in url else ""
    # A blank parameter's name may be a value in the name position (``?TOKEN``).
    values = [v or k for k, v in parse_qsl(query, keep_blank_values=True) if v or k] \
        if query else []
    if not headers.keys() <= _PLAIN_HEADERS:  # the usual: only plain ones, nothing to decode
        values += [v for k, v in headers.items() if k not in _PLAIN_HEADERS and v]
    ctype = headers.get("content-type", "")
    if ";" in ctype:  # parameters of a plain header, a boundary or anything a client put there
        values += [p.partition("=")[2].strip().strip('"') for p in ctype[:1024].split(";")[1:]]
    basic = oauth.basic_credentials(headers.get("authorization"))
    if basic is not None and len(basic[1]) >= MIN_SECRET:
        values.append(basic[1])  # the client secret of client_secret_basic, a short one too
    return values


def client_auth_method(headers: Headers, form_names: list[str] | None) -> str | None:
    """How a token request authenticates the client, as the RFC 7591 section 2
    ``token_endpoint_auth_method`` names it: ``client_secret_basic`` (RFC 6749 section 2.3.1,
    an ``Authorization: Basic`` header), ``private_key_jwt`` (a ``client_assertion``, RFC 7523
    section 2.2; ``client_secret_jwt`` once its ``alg`` shows an HMAC), ``client_secret_post``
    (``client_secret`` in the body), ``none`` (only a
    ``client_id``), or None when the body was not read and no header says."""
    if oauth.basic_credentials(headers.get("authorization")) is not None:
        return "client_secret_basic"
    if form_names is None:
        return None
    for name, method in (("client_assertion", "private_key_jwt"),
                         ("client_secret", "client_secret_post"), ("client_id", "none")):
        if name in form_names:
            return method
    return None


def scrub_keys(known: list[str]) -> tuple[str, ...]:
    """The known secrets ``scrub_text`` acts on (``MIN_SECRET``+ characters), in the order
    given, a repeat dropped: scrubbing with it again could only match inside a ``[redacted]``
    an earlier pass left, so a repeat is kept when it holds a bracket or ``redacted``."""
    out: list[str] = []
    seen: set[str] = set()
    for secret in known:
        if len(secret) < MIN_SECRET:
            continue
        if secret in seen and "[" not in secret and "]" not in secret \
                and "redacted" not in secret:
            continue
        seen.add(secret)
        out.append(secret)
    return tuple(out)


def _assertion_like(facts: Record, profile: Profile) -> bool:
    """A decoded JWT whose ``aud`` is a token URL of the profile, or whose ``iss`` = ``sub``."""
    aud = facts.get("assertion.aud")
    auds = aud if isinstance(aud, list) else [aud]
    if any(isinstance(a, str) and profile.match(a)[0] == TOKEN_EXCHANGE for a in auds):
        return True
    return bool(facts.get("assertion.iss_eq_sub"))


class RecordBuilder:
    """Turns an ``Exchange`` into a record for one ``profile`` and configured ``client_id``,
    fingerprinting with ``fingerprint`` (keyed HMAC, ``hgobs.redaction``)."""

    def __init__(self, profile: Profile, client_id: str | None,
                 fingerprint: Fingerprinter) -> None:
        self.profile = profile
        self.client_id = client_id
        self.fingerprint = fingerprint
        self.client_fp = fingerprint(client_id) if client_id else None

    @staticmethod
    def _request(record: Record, exchange: Exchange, api: bool) -> None:
        """Add where the request's redirects went, whether an API call's ``Authorization``
        reached the final request, and its media type parameters (``hgobs.facts.request``)."""
        headers = exchange.request_headers
        facts = request.redirect_facts(exchange.url, headers, exchange.redirects)
        if not api:
            del facts["presented.on_final_request"]
        record.update(facts)
        ctype = headers.get("content-type")
        if ctype and ";" in ctype:
            record["request.content_type_params"] = request.content_type_params(ctype) or None

    def _client(self, record: Record) -> None:
        profile_facts(record, self.profile)
        record["client.fp"] = self.client_fp or record.get("assertion.iss_fp")

    def exchange(self, exchange: Exchange, plan: Plan) -> tuple[Record, tuple[str, ...]]:
        """Record of a token exchange, and the raw secrets of the request (for ``add_body``).

        ``exchange.request_body`` None: the body was not read (a stream); ``status`` None: no
        response arrived (the record then carries ``error.type``, ``NoResponse`` when
        ``error`` is None); ``response_body`` None: not read (``response.body_read`` False).
        """
        now = exchange.time
        headers = exchange.request_headers
        record = _base(exchange, plan, self.profile)
        raw = exchange.request_body
        known: list[str] = _echoable_values(exchange.url, headers)
        if raw is not None:
            facts, private = oauth.request_facts(headers.get("content-type"), raw)
            record.update(facts)
            record["request.client_method"] = client_auth_method(
                headers, facts.get("form.other_params", []))
            record["request.client_proof"] = request.client_proof(
                headers, facts.get("form.other_params", []), facts.get("form.grant_type"))
            known.extend(s for s in private.pop("_secrets", "").split("\x00") if s)
            for source in oauth.ASSERTION_PARAMS:
                if source in private:
                    known.append(private[source])
                    auds: list[str] = []
                    record.update(jwtpeek.peek(
                        private[source], source=source, now=now,
                        fingerprint=self.fingerprint, client_id=self.client_id,
                        known=known, auds=auds))
                    if auds:
                        record["assertion.aud_differs_in"] = aud_differs_in(
                            self.profile, exchange.url, auds)
                        if len(auds) == 1 and isinstance(record.get("assertion.aud"), str):
                            aud_facts(record, self.profile, auds[0])
                    if source == "client_assertion" and str(
                            record.get("assertion.alg", "")).startswith("HS"):
                        record["request.client_method"] = "client_secret_jwt"
                    break
        else:
            ctype = oauth.media_type(headers.get("content-type"))
            record["request.content_type"] = scrub_text(ctype, limit=64)
            if ctype and ctype.startswith("multipart/"):
                record["request.body_kind"] = "multipart"
            record["request.client_method"] = client_auth_method(headers, None)
            record["request.client_proof"] = request.client_proof(headers, None, None)
        self._request(record, exchange, api=False)
        secrets = scrub_keys(known)
        if exchange.status is not None:
            record.update(_response_common(exchange, secrets))
            self.add_body(record, exchange.response_body, secrets)
        self._client(record)
        record = {k: v for k, v in record.items() if v is not None}
        if exchange.status is None:
            record["error.type"] = exchange.error or "NoResponse"
        return record, secrets

    def add_body(self, record: Record, body: bytes | None, known: tuple[str, ...]) -> None:
        """Add the facts of a token endpoint response ``body`` (None: not read) to ``record``;
        ``known`` are the request's secrets ``exchange`` returned."""
        record["response.body_read"] = body is not None
        if body is not None:
            facts, issued = oauth.response_body_facts(body, known)
            record.update(facts)
            if issued:
                record["issued.fp"] = self.fingerprint(issued)

    def api_call(self, exchange: Exchange, plan: Plan) -> Record:
        """Record of an API call that got a response (its body is never read): RFC 6750
        section 2.1 credentials presented, and the response's facts."""
        now = exchange.time
        headers = exchange.request_headers
        record = _base(exchange, plan, self.profile)
        facts, credential = oauth.presented_facts(headers)
        record.update(facts)
        known: tuple[str, ...] = tuple(_echoable_values(exchange.url, headers))
        if credential is not None:
            known = (*known, credential)
            record["presented.fp"] = self.fingerprint(credential)
            if facts.get("presented.kind") == "jwt":
                claim_strings: list[str] = []
                peeked = jwtpeek.peek(credential, source="bearer", now=now,
                                      fingerprint=self.fingerprint,
                                      client_id=self.client_id, known=claim_strings)
                known = (*known, *claim_strings)
                record.update(peeked)
                if _assertion_like(peeked, self.profile):
                    record["presented.kind"] = "assertion_jwt"
        self._request(record, exchange, api=True)
        record.update(_response_common(exchange, scrub_keys(list(known))))
        record["response.body_read"] = False
        self._client(record)
        return {k: v for k, v in record.items() if v is not None}
