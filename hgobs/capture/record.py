"""Build one redacted auth attempt record from an httpx request and its response.

Only facts from the allowlist in ``hgobs.schema`` are produced; raw secrets are read here (to
peek into the assertion, fingerprint the presented and issued values, and scrub echoes of them)
and dropped before the record leaves this module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from hgobs.config import Options
from hgobs.facts import challenges, jwtpeek, oauth
from hgobs.facts.claims import profile_facts
from hgobs.profiles import TOKEN_EXCHANGE
from hgobs.redaction import Fingerprinter, redact_url
from hgobs.schema import Record
from hgobs.scrub import MIN_SECRET, scrub_text


@dataclass(frozen=True)
class Plan:
    """What an outgoing request is: endpoint ``kind`` and provider ``environment``."""

    kind: str
    environment: str


def http_date(value: str | None) -> float | None:
    """An RFC 7231 HTTP date as epoch seconds, or None when absent or unparsable."""
    global _last_date
    if not value:
        return None
    last = _last_date
    if last[0] == value:  # a server's Date changes once a second: often the last one seen
        return last[1]
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    _last_date = (value, when)
    return when


_last_date: tuple[str, float] = ("", 0.0)
"""The last Date header value ``http_date`` parsed, and its epoch seconds."""


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


def plan_request(request: httpx.Request, options: Options) -> Plan | None:
    """Decide whether ``request`` is an auth attempt to record, cheaply.

    A token exchange is a request to a profile token URL, or any POST whose form body carries
    ``grant_type``; an API call is a request under a profile API base. Else None.
    """
    kind, env = options.profile.match(request.url)  # parsed already: no str() and re-parse
    if kind is not None:
        return _plan_of(kind, env or "unknown")
    if request.method == "POST":
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            body = request_body(request)
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


def _base(request: httpx.Request, plan: Plan, options: Options, now: float) -> Record:
    redacted, scheme, host = _url_facts(str(request.url))
    return {
        "time": now,
        "endpoint.kind": plan.kind,
        "environment": plan.environment,
        "profile": options.profile.name,
        "http.method": request.method,
        "url": redacted,
        "url.scheme": scheme,
        "server.address": host,
    }


_RESPONSE_HEADERS = frozenset({"date", "content-type", "www-authenticate", "retry-after", "location"})


def _response_headers(headers: httpx.Headers) -> dict[str, str]:
    """The ``_RESPONSE_HEADERS`` a response has, each as ``headers.get`` gives it (repeats
    joined with ``", "``), read in one pass instead of one search (and a ``KeyError`` for
    each absent one) per name."""
    out: dict[str, str] = {}
    for key, value in headers.multi_items():
        if key in _RESPONSE_HEADERS:
            out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _scheme(location: str) -> str:
    """The scheme of a ``Location`` value, scrubbed (``TOKEN:rest`` parses as a scheme), or
    ``relative``."""
    try:
        scheme = urlsplit(location[:2048]).scheme
    except ValueError:
        return "relative"
    return (scrub_text(scheme, limit=32) or "relative") if scheme else "relative"


def _response_common(response: httpx.Response, now: float, known: tuple[str, ...]) -> Record:
    facts: Record = {"http.status": response.status_code}
    headers = _response_headers(response.headers)
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
    if 300 <= response.status_code < 400:
        facts["redirect.status"] = response.status_code
        facts["redirect.location_scheme"] = _scheme(headers.get("location", ""))
    if response.history:
        first = response.history[0]
        location = first.headers.get("location", "")
        facts["redirect.count"] = len(response.history)
        facts["redirect.status"] = first.status_code
        facts["redirect.location_scheme"] = _scheme(location)
        final = response.request
        facts["redirect.final_method"] = final.method
        body = request_body(final)
        facts["redirect.final_body_bytes"] = len(body) if body is not None else 0
    return facts


_PLAIN_HEADERS = frozenset({
    "host", "content-type", "content-length", "accept", "accept-encoding", "accept-language",
    "user-agent", "connection", "traceparent", "tracestate", "baggage", "cache-control"})
_PLAIN_RAW = frozenset(name.encode() for name in _PLAIN_HEADERS)


def _echoable_values(request: httpx.Request) -> list[str]:
    """What the request carried that a server may echo and hgobs never records:
    the query parameter values (an ``access_token`` in the query, RFC 6750 section 2.3), the
    header values other than plain protocol ones (a misspelled credentials header, an API key),
    the parameters of its ``Content-Type``, and the client secret of a Basic ``Authorization``
    (RFC 6749 section 2.3.1)."""
    url = request.url
    # A blank parameter's name may be a value in the name position (``?TOKEN``).
    values = [v or k for k, v in url.params.multi_items() if v or k] if url.query else []
    headers = request.headers
    # Only plain headers, the usual: nothing to decode (their names are ASCII in any encoding).
    if any(key.lower() not in _PLAIN_RAW for key, _ in headers.raw):
        values += [v for k, v in headers.items() if k.lower() not in _PLAIN_HEADERS and v]
    ctype = headers.get("content-type", "")
    if ";" in ctype:  # parameters of a plain header, a boundary or anything a client put there
        values += [p.partition("=")[2].strip().strip('"') for p in ctype[:1024].split(";")[1:]]
    basic = oauth.basic_credentials(headers.get("authorization"))
    if basic is not None and len(basic[1]) >= MIN_SECRET:
        values.append(basic[1])  # the client secret of client_secret_basic, a short one too
    return values


def client_auth_method(request: httpx.Request, form_names: list[str] | None) -> str | None:
    """How a token request authenticates the client, as the RFC 7591 section 2
    ``token_endpoint_auth_method`` names it: ``client_secret_basic`` (RFC 6749 section 2.3.1,
    an ``Authorization: Basic`` header), ``private_key_jwt`` (a ``client_assertion``, RFC 7523
    section 2.2; ``client_secret_jwt`` once its ``alg`` shows an HMAC), ``client_secret_post``
    (``client_secret`` in the body), ``none`` (only a
    ``client_id``), or None when the body was not read and no header says."""
    if oauth.basic_credentials(request.headers.get("authorization")) is not None:
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


def _assertion_like(facts: Record, options: Options) -> bool:
    """A decoded JWT whose ``aud`` is a token URL of the profile, or whose ``iss`` = ``sub``."""
    aud = facts.get("assertion.aud")
    auds = aud if isinstance(aud, list) else [aud]
    if any(isinstance(a, str) and options.profile.match(a)[0] == TOKEN_EXCHANGE for a in auds):
        return True
    return bool(facts.get("assertion.iss_eq_sub"))


class RecordBuilder:
    """Turns (request, response or exception) into a record, using one ``Options``."""

    def __init__(self, options: Options, fingerprint: Fingerprinter | None = None) -> None:
        self.options = options
        self.fingerprint = fingerprint or Fingerprinter(options.fingerprint_key)
        self.client_fp = self.fingerprint(options.client_id) if options.client_id else None

    def _client(self, record: Record) -> None:
        profile_facts(record, self.options.profile)
        record["client.fp"] = self.client_fp or record.get("assertion.iss_fp")

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
        record = _base(request, plan, self.options, now)
        raw = token_request_body(request)
        known: list[str] = _echoable_values(request)
        if raw is not None:
            facts, private = oauth.request_facts(request.headers.get("content-type"), raw)
            record.update(facts)
            record["request.client_method"] = client_auth_method(
                request, facts.get("form.other_params", []))
            known.extend(s for s in private.pop("_secrets", "").split("\x00") if s)
            for source in oauth.ASSERTION_PARAMS:
                if source in private:
                    known.append(private[source])
                    record.update(jwtpeek.peek(
                        private[source], source=source, now=now,
                        fingerprint=self.fingerprint, client_id=self.options.client_id,
                        known=known))
                    if source == "client_assertion" and str(
                            record.get("assertion.alg", "")).startswith("HS"):
                        record["request.client_method"] = "client_secret_jwt"
                    break
        else:
            ctype = oauth.media_type(request.headers.get("content-type"))
            record["request.content_type"] = scrub_text(ctype, limit=64)
            if ctype and ctype.startswith("multipart/"):
                record["request.body_kind"] = "multipart"
            record["request.client_method"] = client_auth_method(request, None)
        secrets = scrub_keys(known)
        if response is not None:
            record.update(_response_common(response, now, secrets))
            self.add_body(record, body, secrets)
        self._client(record)
        return {k: v for k, v in record.items() if v is not None}, secrets

    def add_body(self, record: Record, body: bytes | None, known: tuple[str, ...]) -> None:
        """Add the facts of a token endpoint response ``body`` (None: not read) to ``record``."""
        record["response.body_read"] = body is not None
        if body is not None:
            facts, issued = oauth.response_body_facts(body, known)
            record.update(facts)
            if issued:
                record["issued.fp"] = self.fingerprint(issued)

    def api_call(self, request: httpx.Request, plan: Plan, now: float,
                 response: httpx.Response) -> Record:
        """Record of a refused API call (never reads the response body)."""
        record = _base(request, plan, self.options, now)
        facts, credential = oauth.presented_facts(request.headers)
        record.update(facts)
        known: tuple[str, ...] = tuple(_echoable_values(request))
        if credential is not None:
            known = (*known, credential)
            record["presented.fp"] = self.fingerprint(credential)
            if facts.get("presented.kind") == "jwt":
                claim_strings: list[str] = []
                peeked = jwtpeek.peek(credential, source="bearer", now=now,
                                      fingerprint=self.fingerprint,
                                      client_id=self.options.client_id, known=claim_strings)
                known = (*known, *claim_strings)
                record.update(peeked)
                if _assertion_like(peeked, self.options):
                    record["presented.kind"] = "assertion_jwt"
        record.update(_response_common(response, now, scrub_keys(list(known))))
        record["response.body_read"] = False
        self._client(record)
        return {k: v for k, v in record.items() if v is not None}

    def transport_error(self, request: httpx.Request, plan: Plan, now: float,
                        error_type: str) -> Record:
        """Record of a token exchange that raised ``error_type`` before a response arrived."""
        record, _ = self.exchange(request, plan, now, None, None)
        record["error.type"] = error_type
        return record
