"""Rules of the failures other providers show: client credential, JOSE header, tenant, media, Bearer.

One small predicate per catalog category, with the contract of ``hgobs.diagnosis.rules``
(which re-exports them, so ``Category.rule`` names them there): ``None`` when the category
does not apply, else ``(confidence, evidence)``. They read record facts and what the profile
demands (``ctx.profile``: ``algorithms``, ``header_required``, ``header_typ``,
``header_one_of``, ``secret_auth``, ``captures``, ``generic``) and the provider's own error
texts the profile maps to a category (``Profile.said``): such a text confirms its category.
Server words are matched as literal substrings, never as patterns. Evidence names facts and
profile values only (never a ``kid``, tenant or other value of the request).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hgobs.diagnosis.catalog import CONFIRMED, LIKELY, POSSIBLE
from hgobs.diagnosis.read import (
    called_token_url,
    error,
    is_api,
    is_exchange,
    refused_like,
    server_said,
    text,
)

if TYPE_CHECKING:
    from hgobs.diagnosis.rules import Context, Verdict

Record = dict[str, Any]
SECRET_PROOFS = frozenset({"client_secret_basic", "client_secret_post", "password"})
"""``request.client_proof`` values that are a shared secret, not a signed assertion."""
MEDIA_WORDS = ("media type", "content-type", "content type", "charset")
"""Words of a server refusing a request's media type (literal, case-insensitive)."""
UNREADABLE_SCHEME = frozenset({"doubled", "no_space", "quoted"})
"""``presented.scheme_defect`` values no server can read as RFC 6750 credentials (the
``b64token`` holds no space or quote); ``case`` and ``extra_space`` are valid by RFC 9110
sections 11.1 and 11.4 and refused only by strict servers."""


def _mapped(r: Record, ctx: Context, category: str) -> bool:
    """True when the server's answer holds an error text the profile maps to ``category``."""
    return any(e.category == category for e in ctx.profile.said(r))


def _assertion(r: Record) -> bool:
    """A token exchange whose assertion decoded (``assertion.alg`` is known)."""
    return is_exchange(r) and r.get("assertion.source") not in (None, "bearer") \
        and isinstance(r.get("assertion.alg"), str)


def _fields(r: Record) -> frozenset[str]:
    """The JOSE header parameter names of the record's assertion (``assertion.header_fields``;
    for a record made before that fact, the names its ``alg``/``kid``/``typ`` facts show)."""
    fields = r.get("assertion.header_fields")
    if isinstance(fields, list):
        return frozenset(f for f in fields if isinstance(f, str))
    return frozenset(n for n in ("alg", "kid", "typ") if r.get(f"assertion.{n}") is not None)


SAID = "the server's words map to it in the profile"


# --- token exchange rules -------------------------------------------------------------------

def media_type_refused(r: Record, ctx: Context) -> Verdict | None:
    """Status 415, or the server refuses the request's Content-Type or a parameter of it
    (RFC 9110 sections 8.3 and 15.5.16; RFC 6749 appendix B)."""
    status = r.get("http.status")
    params = r.get("request.content_type_params") or []
    ev = [f"request.content_type={r.get('request.content_type')}"] if is_exchange(r) else []
    if params:
        ev.append(f"request.content_type_params={','.join(params)}")
    if status == 415:
        return CONFIRMED, ["http.status=415", *ev]
    if _mapped(r, ctx, "media_type_refused"):
        return CONFIRMED, [SAID, *ev]
    if params and status == 400 and server_said(r, MEDIA_WORDS):
        return LIKELY, ["the server's words name the media type", *ev]
    return None


def secret_instead_of_assertion(r: Record, ctx: Context) -> Verdict | None:
    """A shared secret (Basic, ``client_secret``, the password grant) and no assertion sent to a
    provider that authenticates this client only by a signed JWT (RFC 6749 sections 2.3.1 and
    5.2; RFC 7523 sections 2.2 and 3). Under the generic profile (no provider known) only when
    the server answered ``invalid_client`` or ``unauthorized_client``, and then ``likely``."""
    proof = r.get("request.client_proof")
    if not is_exchange(r) or proof not in SECRET_PROOFS or r.get("assertion.source"):
        return None
    profile = ctx.profile
    if profile.secret_auth:
        return None
    code = error(r)
    ev = [f"request.client_proof={proof}", "no assertion sent", f"response.error={code or '-'}"]
    if profile.generic:
        return (LIKELY, ev) if code in ("invalid_client", "unauthorized_client") else None
    if _mapped(r, ctx, "secret_instead_of_assertion"):
        return CONFIRMED, [*ev, SAID]
    return refused_like(r, "invalid_client", "unauthorized_client", "invalid_request",
                        "unsupported_grant_type"), [*ev, f"profile {profile.name} takes no secret"]


def client_not_authorized(r: Record, ctx: Context) -> Verdict | None:
    """The server knew the client and refused it the grant: ``unauthorized_client``
    (RFC 6749 section 5.2), or a text the profile maps to this category. Late in fix order: a
    provider text naming a precise cause (Entra answers ``unauthorized_client`` for an
    application not found in the tenant) comes first."""
    if not is_exchange(r):
        return None
    if error(r) == "unauthorized_client":
        return CONFIRMED, ["response.error=unauthorized_client"]
    if _mapped(r, ctx, "client_not_authorized"):
        return CONFIRMED, [SAID, f"response.error={error(r) or '-'}"]
    return None


def algorithm_not_accepted(r: Record, ctx: Context) -> Verdict | None:
    """The assertion's ``alg`` is ``none`` (RFC 7523 section 3: the JWT must be signed) or not
    one of the profile's accepted algorithms (RFC 7515 section 4.1.1; RFC 8725 section 3.1);
    or the server's words the profile maps say so."""
    if not _assertion(r):
        return None
    alg = r["assertion.alg"]
    accepted = ctx.profile.algorithms
    ev = [f"assertion.alg={alg}"]
    if accepted:
        ev.append(f"accepted={','.join(accepted)}")
    if _mapped(r, ctx, "algorithm_not_accepted"):
        return CONFIRMED, [*ev, SAID]
    if alg.lower() == "none":
        return CONFIRMED, ev
    if accepted and alg not in accepted:
        if ctx.profile.generic:
            return POSSIBLE, ev
        return refused_like(r, "invalid_client", "invalid_grant"), ev
    return None


def signing_key_not_found(r: Record, ctx: Context) -> Verdict | None:
    """The server cannot pick the verification key: the header has no ``kid`` where the
    profile requires one (RFC 7515 section 4.1.4), or the server's words the profile maps say
    the key or ``kid`` is not in the client's JWK Set (RFC 7517 section 5). The word
    "signature" alone never decides it."""
    if not is_exchange(r) or r.get("assertion.source") == "bearer":
        return None
    has_kid = "kid" in _fields(r)
    ev = [f"assertion.kid {'present' if has_kid else 'absent'}"] if _assertion(r) else []
    if _mapped(r, ctx, "signing_key_not_found"):
        return CONFIRMED, [*ev, SAID]
    if _assertion(r) and not has_kid and "kid" in ctx.profile.header_required:
        return LIKELY, [*ev, f"profile {ctx.profile.name} requires kid"]
    return None


def assertion_header_rejected(r: Record, ctx: Context) -> Verdict | None:
    """The JOSE header breaks the profile's header rules: ``typ`` absent or another value
    (RFC 7515 section 4.1.9; RFC 8725 section 3.11), a required parameter absent, none of a
    group such as ``x5t``/``x5t#S256`` present (RFC 7515 sections 4.1.7-4.1.8); or the
    server's words the profile maps say the header is refused. ``kid`` is left to
    ``signing_key_not_found``."""
    if not _assertion(r):
        return None
    profile = ctx.profile
    fields = _fields(r)
    problems: list[str] = []
    want, typ = profile.header_typ, r.get("assertion.typ")
    if want and not (isinstance(typ, str) and typ.lower() == want.lower()):
        problems.append(f"assertion.typ={typ if isinstance(typ, str) else '-'} (wanted {want})")
    problems += [f"header lacks {name}" for name in profile.header_required
                 if name not in fields and name not in ("alg", "kid") and not (name == "typ" and want)]
    problems += [f"header has none of {' '.join(group)}" for group in profile.header_one_of
                 if not fields.intersection(group)]
    if _mapped(r, ctx, "assertion_header_rejected"):
        return CONFIRMED, [*problems, SAID]
    if not problems:
        return None
    if profile.generic:
        return POSSIBLE, problems
    return refused_like(r, "invalid_client", "invalid_grant", "invalid_request"), problems


def wrong_tenant(r: Record, ctx: Context) -> Verdict | None:
    """The tenant or realm in ``aud`` differs from the one of the token URL called (RFC 7523
    section 3: ``aud`` identifies the authorization server), by ``assertion.aud_differs_in``
    (compared before redaction) or else the profile's captures of the recorded values; or the
    server's words the profile maps say the tenant or realm is unknown (RFC 6749 section 5.2)."""
    if not is_exchange(r):
        return None
    if _mapped(r, ctx, "wrong_tenant"):
        return CONFIRMED, [SAID, f"response.error={error(r) or '-'}"]
    if r.get("assertion.source") in (None, "bearer"):
        return None
    differ = r.get("assertion.aud_differs_in")
    if differ is None:
        differ = _recorded_differ(r, ctx)
    if not differ:
        return None
    return refused_like(r, "invalid_client", "invalid_grant", "invalid_request"), [
        f"assertion.aud_differs_in={','.join(differ)}"]


def _recorded_differ(r: Record, ctx: Context) -> list[str]:
    """The placeholder names whose recorded values in ``aud`` and the called URL differ (a value
    redaction changed, ``{id}`` or ``[redacted]``, is not compared); ``[]`` when one ``aud``
    value agrees."""
    called = {k: v for k, v in ctx.profile.captures(called_token_url(r)).items()
              if "{" not in v and "[" not in v}
    aud = r.get("assertion.aud")
    differ: set[str] = set()
    for value in (aud if isinstance(aud, list) else [aud]):
        if not isinstance(value, str) or not called:
            continue
        got = {k: v for k, v in ctx.profile.captures(value).items() if k in called
               and "{" not in v and "[" not in v}
        names = {k for k, v in got.items() if v.lower() != called[k].lower()}
        if got and not names:
            return []
        differ |= names
    return sorted(differ)


# --- API call rules -------------------------------------------------------------------------

def malformed_bearer_scheme(r: Record, ctx: Context) -> Verdict | None:
    """The Authorization value is not ``Bearer`` + one space + the token (RFC 6750 section
    2.1): doubled, no space or quoted is never readable (confirmed on a 401); extra spaces or
    a lower-case scheme are valid (RFC 9110 sections 11.1, 11.4) and only a strict server
    refuses them (possible, unless the server judged the token itself)."""
    defect = r.get("presented.scheme_defect")
    if not defect or not is_api(r) or r.get("http.status") not in (400, 401):
        return None
    ev = [f"presented.scheme_defect={defect}", f"challenge.error={r.get('challenge.error', '-')}"]
    if _mapped(r, ctx, "malformed_bearer_scheme"):
        return CONFIRMED, [*ev, SAID]
    if defect in UNREADABLE_SCHEME:
        return CONFIRMED, ev
    if r.get("challenge.error") in ("invalid_token", "insufficient_scope"):
        return None  # the server read the token and judged it
    return POSSIBLE, ev


def authorization_not_received(r: Record, ctx: Context) -> Verdict | None:
    """The server saw no credentials although the client sent them: a redirect crossed
    origins and ``Authorization`` was not on the final request (confirmed; RFC 9110 sections
    11.6.2 and 15.4), or a well-formed Bearer token was sent and the 401 challenge carries no
    error code, which RFC 6750 section 3.1 prescribes for a request without credentials
    (likely: a proxy stripped it)."""
    if not is_api(r) or r.get("http.status") != 401 or r.get("presented.scheme_defect"):
        return None
    sent = r.get("presented.kind") in ("jwt", "opaque")
    if sent and r.get("redirect.count") and r.get("presented.on_final_request") is False:
        return CONFIRMED, [f"redirect.cross_origin={str(r.get('redirect.cross_origin')).lower()}",
                           "presented.on_final_request=false",
                           f"redirect.status={r.get('redirect.status')}"]
    if _mapped(r, ctx, "authorization_not_received"):
        return CONFIRMED, [SAID]
    scheme = text(r.get("challenge.scheme")).lower()
    if sent and scheme == "bearer" and not r.get("challenge.error"):
        return LIKELY, [f"presented.kind={r.get('presented.kind')}",
                        "challenge.scheme=Bearer without an error code"]
    return None
