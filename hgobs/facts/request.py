"""How a request carried its credentials: client authentication, Authorization after redirects, media type.

Facts the record builder (``hgobs.facts.record``) adds to a token exchange or API call record:
``request.client_proof`` (what kind of credential a token request carried, names only),
``request.client_method`` (the RFC 7591 name of its client authentication),
``presented.on_final_request`` and ``redirect.cross_origin`` (whether ``Authorization`` reached
the final request), and ``request.content_type_params`` (the parameter names of the request's
``Content-Type``). No value of a credential is kept; every function is linear in its input.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

from hgobs.facts.exchange import Headers, Redirects
from hgobs.facts.oauth import basic_credentials
from hgobs.redaction import REDACTED
from hgobs.rfc import JWT_BEARER_GRANT

MAX_CONTENT_TYPE_CHARS = 256
"""Characters of a ``Content-Type`` value read for its parameter names."""
MAX_PARAMS = 8
"""Parameter names of one ``Content-Type`` recorded."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
MEDIA_TYPE_PARAMS = frozenset({
    "charset", "boundary", "version", "profile", "type", "start", "start-info", "action", "q",
    "format", "fhirversion", "level", "delsp", "name", "method", "report-type", "protocol",
    "micalg", "smime-type", "codecs", "header", "ext", "ieee754compatible", "odata.metadata",
    "odata.streaming", "streaming", "encoding"})
"""Parameter names of media types (IANA media type registrations, RFC 2046, RFC 6838; FHIR's
``fhirVersion``) that ``content_type_params`` names; any other is one ``[redacted]`` (a name
can be a value put in the wrong place: ``application/json; <token>``)."""


def client_proof(headers: Headers, form_names: Iterable[str] | None,
                grant_type: str | None) -> str | None:
    """What kind of credential a token request carried, from parameter and header names only.

    Returns ``assertion_grant`` (an ``assertion`` parameter, RFC 7523 section 2.1),
    ``client_assertion`` (RFC 7523 section 2.2), ``password`` (``grant_type=password`` with a
    ``password`` parameter, RFC 6749 section 4.3.2), ``client_secret_basic`` (an
    ``Authorization: Basic`` header, RFC 6749 section 2.3.1), ``client_secret_post``
    (``client_secret`` in the body, same section), ``none`` (no credential), or None when the
    body was not read and no header says. A signed JWT wins over a secret sent beside it.
    """
    names = set(form_names) if form_names is not None else None
    if names is not None:
        if "assertion" in names and (grant_type == JWT_BEARER_GRANT
                                     or "client_assertion" not in names):
            return "assertion_grant"
        if "client_assertion" in names:
            return "client_assertion"
        if grant_type == "password" and "password" in names:
            return "password"
    if basic_credentials(headers.get("authorization")) is not None:
        return "client_secret_basic"
    if names is None:
        return None
    return "client_secret_post" if "client_secret" in names else "none"


def client_method(headers: Headers, form_names: list[str] | None) -> str | None:
    """How a token request authenticates the client, as the RFC 7591 section 2
    ``token_endpoint_auth_method`` names it: ``client_secret_basic`` (RFC 6749 section 2.3.1,
    an ``Authorization: Basic`` header), ``private_key_jwt`` (a ``client_assertion``, RFC 7523
    section 2.2; ``client_secret_jwt`` once its ``alg`` shows an HMAC), ``client_secret_post``
    (``client_secret`` in the body), ``none`` (only a
    ``client_id``), or None when the body was not read and no header says. The record's
    ``request.client_method``; ``client_proof`` says what credential was sent, a signed JWT
    first."""
    if basic_credentials(headers.get("authorization")) is not None:
        return "client_secret_basic"
    if form_names is None:
        return None
    for name, method in (("client_assertion", "private_key_jwt"),
                         ("client_secret", "client_secret_post"), ("client_id", "none")):
        if name in form_names:
            return method
    return None


def content_type_params(content_type: str | None) -> list[str]:
    """The parameter names of a ``Content-Type`` value (RFC 9110 section 8.3.1), lower-cased,
    in order, repeats dropped: ``["charset"]`` for ``application/x-www-form-urlencoded;
    charset=UTF-8``. Values are never kept; a name that is not a plain token of up to 32
    letters, digits and ``-``/``_``/``.`` is left out, and one not in ``MEDIA_TYPE_PARAMS`` is
    ``[redacted]`` (once). At most ``MAX_PARAMS`` names."""
    if not content_type or ";" not in content_type:
        return []
    out: list[str] = []
    for part in content_type[:MAX_CONTENT_TYPE_CHARS].split(";")[1:]:
        name = part.partition("=")[0].strip().lower()
        if name and name not in MEDIA_TYPE_PARAMS:
            name = REDACTED if len(name) <= 32 and name.replace("-", "").replace("_", "").replace(
                ".", "").isalnum() and name.isascii() else ""
        if name and name not in out:
            out.append(name)
        if len(out) >= MAX_PARAMS:
            break
    return out


def origin(url: str) -> tuple[str, str, int | None] | None:
    """``(scheme, host, port)`` of an absolute URL, the port filled from the scheme's default
    (RFC 6454 section 4), or None when ``url`` has no host or does not parse."""
    try:
        parts = urlsplit(url[:4096])
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    scheme = parts.scheme.lower()
    return scheme, host.lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def _keeps_authorization(first: tuple[str, str, int | None],
                         then: tuple[str, str, int | None] | None) -> bool:
    """True when a client following a redirect from origin ``first`` to ``then`` keeps the
    ``Authorization`` header: the same origin, or ``http`` to ``https`` on the same host with
    default ports (what httpx does; RFC 9110 section 15.4 leaves it to the client)."""
    if then is None or then == first:
        return True
    return first[0] == "http" and then[0] == "https" and first[1] == then[1] \
        and first[2] == 80 and then[2] == 443


def redirect_facts(url: str, headers: Headers, redirects: Redirects | None) -> dict[str, bool]:
    """``presented.on_final_request`` and, when redirects were followed,
    ``redirect.cross_origin`` of a request to ``url`` with ``headers``.

    ``redirect.cross_origin`` is True when the first ``Location`` or the final URL is of
    another origin than ``url`` (RFC 6454). ``presented.on_final_request`` says whether the
    final request carried ``Authorization`` (RFC 9110 section 11.6.2): ``redirects.final_authorization``
    when capture saw it, else the header was sent and no hop went to an origin where a client
    drops it (httpx drops it on a cross-origin redirect that is not an upgrade to https).
    """
    sent = "authorization" in headers
    facts: dict[str, bool] = {}
    if redirects is not None:
        first = origin(url)
        hops = [origin(urljoin(url, redirects.location[:4096])) if redirects.location else None,
                origin(redirects.final_url) if redirects.final_url else None]
        if first is not None:
            facts["redirect.cross_origin"] = any(h is not None and h != first for h in hops)
            if sent and redirects.final_authorization is None:
                sent = all(_keeps_authorization(first, h) for h in hops)
        if redirects.final_authorization is not None:
            sent = redirects.final_authorization
    facts["presented.on_final_request"] = sent
    return facts
