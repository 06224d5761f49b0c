"""The rules: one small predicate per catalog category, over one record and the profile.

A rule returns ``None`` when its category does not apply, else ``(confidence, evidence)``:
``confidence`` one of ``hgobs.diagnosis.catalog.CONFIDENCES`` and ``evidence`` the facts that
decided it, as short ``name=value`` strings (never a secret: records are redacted). Each rule's
docstring names its source; the catalog entry that names the rule (``Category.rule``) says
what the user sees and the fix. Rules that need earlier records read the facts ``History``
added first, so every rule stays single-record and judges it at its own recorded ``time``.

This module holds the rules of the token request and the assertion's claims, and re-exports
the others so ``Category.rule`` names every rule here: ``time_rules`` (lifetime, expiry, not yet
valid, clock), ``api_rules`` (refused API calls) and ``provider_rules`` (client credential,
JOSE header, tenant, media type, Bearer scheme).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hgobs.diagnosis.api_rules import (  # noqa: F401 - re-exported: Category.rule names them here
    access_token_expired,
    assertion_as_access_token,
    insufficient_scope,
    missing_access_token,
    rate_limited,
)
from hgobs.diagnosis.catalog import CONFIRMED, LIKELY, POSSIBLE
from hgobs.diagnosis.provider_rules import (  # noqa: F401 - re-exported: Category.rule names them here
    algorithm_not_accepted,
    assertion_header_rejected,
    authorization_not_received,
    client_not_authorized,
    malformed_bearer_scheme,
    media_type_refused,
    secret_instead_of_assertion,
    signing_key_not_found,
    wrong_tenant,
)
from hgobs.diagnosis.read import (
    called_token_url,
    error,
    is_api,
    is_exchange,
    refused_like,
    server_said,
    text,
)
from hgobs.diagnosis.time_rules import (  # noqa: F401 - re-exported: Category.rule names them here
    assertion_lifetime_too_long,
    assertion_not_yet_valid,
    clock_skew,
    expired_assertion,
)
from hgobs.profiles import Profile
from hgobs.rfc import CLIENT_CREDENTIALS, JWT_BEARER_CLIENT_ASSERTION, JWT_BEARER_GRANT

Record = dict[str, Any]
LEEWAY_S = 30.0
"""Default clock leeway in seconds when judging iat/nbf against a clock (RFC 7519 section
4.1.4); a profile states its own (``Profile.leeway_s``)."""
SUPPORTED_GRANTS = frozenset({JWT_BEARER_GRANT, CLIENT_CREDENTIALS})
"""``grant_type`` values the provider accepts (RFC 7523 section 2.1; RFC 6749 section 4.4)."""

Verdict = tuple[str, list[str]]  # (confidence, evidence)
Rule = Callable[[Record, "Context"], "Verdict | None"]


@dataclass(frozen=True)
class Context:
    """What rules may consult besides the record: the provider profile."""

    profile: Profile


# --- token exchange rules -------------------------------------------------------------------

def redirect_dropped_body(r: Record, ctx: Context) -> Verdict | None:
    """A redirect turned the token POST into a request without its form (RFC 9110 15.4)."""
    if not is_exchange(r):
        return None
    if r.get("redirect.count"):
        if r.get("redirect.final_method") == "GET" or r.get("redirect.final_body_bytes") == 0:
            ev = [f"redirect.status={r.get('redirect.status')}",
                  f"redirect.final_method={r.get('redirect.final_method')}"]
            if r.get("url.scheme") == "http":
                ev.append("url.scheme=http")
            return refused_like(r, "unsupported_grant_type", "invalid_request"), ev
    status = r.get("http.status")
    if isinstance(status, int) and 300 <= status < 400:
        return LIKELY, [f"http.status={status}",
                        f"redirect.location_scheme={r.get('redirect.location_scheme')}"]
    if r.get("http.method") == "GET" and not r.get("request.body_bytes"):
        return LIKELY, ["http.method=GET", "request.body_bytes=0"]
    return None


def wrong_body_encoding(r: Record, ctx: Context) -> Verdict | None:
    """The token request body is not form data (RFC 6749 appendix B)."""
    kind = r.get("request.body_kind")
    if is_exchange(r) and kind in ("json", "json_text", "multipart", "other"):
        return refused_like(r, "unsupported_grant_type", "invalid_request"), [
            f"request.body_kind={kind}", f"request.content_type={r.get('request.content_type')}"]
    return None


def grant_type_confusion(r: Record, ctx: Context) -> Verdict | None:
    """Unknown grant_type or parameters of two flows mixed (RFC 7523 2.1/2.2, RFC 7521 4.2)."""
    if not is_exchange(r) or r.get("request.body_kind") not in ("form", None):
        return None
    grant = r.get("form.grant_type")
    names = set(r.get("form.other_params") or ())
    cat = r.get("form.client_assertion_type")
    ev: list[str] = []
    if grant is None and names:
        ev.append("form.grant_type absent")
    elif grant is not None and grant not in SUPPORTED_GRANTS:
        ev.append(f"form.grant_type={grant}")
    if "assertion" in names and "client_assertion" in names:
        ev.append("both assertion and client_assertion")
    if grant == CLIENT_CREDENTIALS and "assertion" in names:
        ev.append("assertion with grant_type=client_credentials")
    if grant == JWT_BEARER_GRANT and ("client_assertion" in names or cat):
        ev.append("client_assertion parameters with the jwt-bearer grant")
    if "client_assertion" in names and cat is None:
        ev.append("client_assertion without client_assertion_type")
    if cat is not None and cat != JWT_BEARER_CLIENT_ASSERTION:
        ev.append(f"form.client_assertion_type={cat}")
    if not ev:
        return None
    said = server_said(r, ("client_assertion", "grant", "assertion_type"))
    return (CONFIRMED if error(r) in ("unsupported_grant_type", "invalid_request") or said
            else LIKELY), ev


def malformed_assertion(r: Record, ctx: Context) -> Verdict | None:
    """The assertion is not a compact JWS (RFC 7515 7.1, RFC 7519 7.2)."""
    defect = r.get("assertion.defect")
    if not defect or defect == "not_shown" or r.get("assertion.source") == "bearer":
        return None  # not_shown: the input hid the assertion (hgobs.facts.jwtpeek.not_shown)
    ev = [f"assertion.defect={defect}", f"assertion.defect_part={r.get('assertion.defect_part')}",
          f"assertion.segments={r.get('assertion.segments')}"]
    return refused_like(r, "invalid_grant", "invalid_request", "invalid_client"), ev


def timestamp_in_milliseconds(r: Record, ctx: Context) -> Verdict | None:
    """iat/exp/nbf are millisecond epochs (RFC 7519 section 2, NumericDate is seconds)."""
    ms = r.get("assertion.ms_claims")
    if not ms or r.get("assertion.source") == "bearer":
        return None
    return refused_like(r, "invalid_grant", "invalid_client"), [f"assertion.ms_claims={','.join(ms)}"]


def missing_claim(r: Record, ctx: Context) -> Verdict | None:
    """A required claim is absent (RFC 7523 section 3; iat where the profile requires it)."""
    if r.get("assertion.source") == "bearer":
        return None
    require_iat = r.get("limits.require_iat", ctx.profile.require_iat)
    optional = {"iat"} if not require_iat else set()
    if ctx.profile.claim_sub == "any" and r.get("assertion.source") == "assertion":
        optional.add("sub")  # e.g. Google: sub only for domain-wide delegation
    missing = [c for c in r.get("assertion.missing_claims") or () if c not in optional]
    if ctx.profile.require_jti and "assertion.jti_fp" not in r and "assertion.iss_shape" in r \
            and not r.get("assertion.defect"):
        missing.append("jti")
    if not missing:
        return None
    return refused_like(r, "invalid_grant", "invalid_client"), [
        f"assertion.missing_claims={','.join(missing)}"]


def environment_mismatch(r: Record, ctx: Context) -> Verdict | None:
    """aud names another environment's token URL, or a value issued by one environment is
    used on the other's API (HG guide, environment mismatch)."""
    env = r.get("environment")
    if is_api(r):
        issued_env = r.get("presented.issued_environment")
        if issued_env and env and issued_env != env:
            return refused_like(r, "invalid_token"), [
                f"presented.issued_environment={issued_env}", f"environment={env}"]
        return None
    ok_env = r.get("assertion.iss_ok_environment")
    if is_exchange(r) and ok_env and env and ok_env != env and error(r) == "invalid_client":
        return LIKELY, [f"the same iss succeeded in {ok_env} before", f"environment={env}",
                        "response.error=invalid_client"]
    aud = r.get("assertion.aud")
    if not is_exchange(r) or not isinstance(aud, str) or r.get("assertion.source") == "bearer":
        return None
    aud_env, exact = _aud_environment(r, ctx)
    if aud_env and env and aud_env != env:
        if exact:
            return refused_like(r, "invalid_grant"), [
                f"assertion.aud is the {aud_env} token URL", f"environment={env}"]
        return POSSIBLE, [f"assertion.aud is on a {aud_env} host", f"environment={env}"]
    return None


def _aud_environment(r: Record, ctx: Context) -> tuple[str | None, bool]:
    """(environment ``aud`` points at, whether it is exactly a token URL): recorded facts
    first, else the profile."""
    if "assertion.aud_exact" in r:
        return r.get("assertion.aud_environment"), bool(r.get("assertion.aud_exact"))
    aud = text(r.get("assertion.aud"))
    env = ctx.profile.token_url_environment(aud)
    return (env, True) if env else (ctx.profile.environment_of_host(aud), False)


def audience_mismatch(r: Record, ctx: Context) -> Verdict | None:
    """aud differs from the token URL called (RFC 7523 section 3: aud identifies the server)."""
    if not is_exchange(r) or r.get("assertion.source") not in ("assertion", "client_assertion"):
        return None
    aud = r.get("assertion.aud")
    called = called_token_url(r)
    if aud is None or not called:
        return None
    accepted = ctx.profile.audiences(called) or (called,)
    if isinstance(aud, list):
        if ctx.profile.audience_array_ok and any(a in accepted for a in aud):
            return None
        conf = POSSIBLE if any(a in accepted for a in aud) or ctx.profile.generic \
            else refused_like(r, "invalid_grant", "invalid_client")
        return conf, [f"assertion.aud is an array of {len(aud)}", f"url={called}"]
    if aud in accepted:
        return None
    aud_env, exact = _aud_environment(r, ctx)
    env = r.get("environment")
    if aud_env and env and aud_env != env and exact:
        return None  # environment_mismatch
    conf = POSSIBLE if ctx.profile.generic else refused_like(r, "invalid_grant", "invalid_client")
    expected = [f"expected={a}" for a in accepted[:3]] if accepted != (called,) else []
    return conf, [f"assertion.aud={aud}", f"url={called}", *expected]


def invalid_client_id(r: Record, ctx: Context) -> Verdict | None:
    """iss or sub is not what the profile says it must be: the client id for client
    authentication (RFC 7523 section 2.2, 3) and, for the assertion grant, the profile's
    ``claim_iss``/``claim_sub`` (HG guide: invalid_client)."""
    if r.get("assertion.source") not in ("assertion", "client_assertion"):
        return None
    ev: list[str] = []
    client_auth = r.get("assertion.source") == "client_assertion"
    wants = {"iss": "client_id" if client_auth else ctx.profile.claim_iss,
             "sub": "client_id" if client_auth else ctx.profile.claim_sub}
    for claim, want in wants.items():
        shape = r.get(f"assertion.{claim}_shape")
        if want == "client_id":
            if shape in ("email", "url", "empty", "other") and \
                    r.get(f"assertion.{claim}_is_client") is not True:  # a short id is "other"
                ev.append(f"assertion.{claim}_shape={shape}")
            if r.get(f"assertion.{claim}_is_client") is False:
                ev.append(f"assertion.{claim} is not the configured client id")
        elif want == "email" and shape not in ("email", "missing", None):
            ev.append(f"assertion.{claim}_shape={shape} (an e-mail address is expected)")
    if wants["iss"] == wants["sub"] == "client_id" and r.get("assertion.iss_eq_sub") is False:
        ev.append("assertion.iss != assertion.sub")
    if not ev:
        return None
    said = server_said(r, ("clientid", "client id", "client_id", "improper client"))
    return (CONFIRMED if error(r) == "invalid_client" or said else LIKELY), ev


def assertion_reuse(r: Record, ctx: Context) -> Verdict | None:
    """The same assertion (or iss + jti) was sent before (RFC 7523 section 3, jti); history."""
    after = r.get("assertion.reused_after_s")
    if after is None or not is_exchange(r):
        return None
    said = server_said(r, ("already used", "replay", "reuse"))
    return (CONFIRMED if said or error(r) == "invalid_grant" else LIKELY), [
        f"assertion.reused_after_s={after:g}"]


def invalid_signature(r: Record, ctx: Context) -> Verdict | None:
    """The server says the signature is invalid (RFC 7515 section 5.2)."""
    if is_exchange(r) and server_said(r, ("signature",)):
        return CONFIRMED, ["server says the signature is invalid"]
    return None


def invalid_scope(r: Record, ctx: Context) -> Verdict | None:
    """error=invalid_scope (RFC 6749 section 5.2)."""
    if text(r.get("response.error")) == "invalid_scope":
        return CONFIRMED, ["response.error=invalid_scope", f"form.scope={r.get('form.scope')}"]
    return None


def network_failure(r: Record, ctx: Context) -> Verdict | None:
    """No HTTP status, an exception instead (connect, DNS, TLS, timeout): no answer came
    (RFC 9110 section 15)."""
    name = r.get("error.type")
    if isinstance(name, str) and name and r.get("http.status") is None:
        return CONFIRMED, [f"error.type={name}"]
    return None


def silent_failure(r: Record, ctx: Context) -> Verdict | None:
    """A refused exchange with an empty body (HG guide, silent failure)."""
    status = r.get("http.status")
    if is_exchange(r) and r.get("response.body_empty") and isinstance(status, int) and status >= 400:
        return LIKELY, ["response.body_empty=true", f"http.status={r.get('http.status')}"]
    return None
