"""Pre-flight check of an assertion before it is sent: the catalog rules it alone can decide.

``check_assertion`` decodes the assertion without verifying it (the same peek as capture),
builds the record a token exchange to ``token_url`` would carry, and applies the catalog rules
that need no server answer: malformed, missing claim, milliseconds, lifetime, expired, ``iat``/
``nbf`` in the future, audience and environment against ``token_url``, ``iss``/``sub`` against
the client id (email-shaped subject included). With the client secret it also verifies the
HS256 signature (Health Gorilla API docs) and names the two known secret mistakes; with a JWKS
(``hgobs.jwks``, the ``crypto`` extra) it verifies an RS/PS/ES signature and names a missing or
unknown ``kid``, an algorithm the key (or the profile) does not take, and a bad signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hgobs.diagnosis import RULES, Context
from hgobs.diagnosis.catalog import CATEGORIES, POSSIBLE
from hgobs.facts import jwtpeek
from hgobs.facts.claims import aud_differs_in, aud_facts, profile_facts
from hgobs.profiles import TOKEN_EXCHANGE, Profile, load_profile
from hgobs.redaction import Fingerprinter, redact_url

if TYPE_CHECKING:
    from hgobs.jwks import Jwks

ERROR = "error"
WARNING = "warning"
PREFLIGHT_RULES = (
    "malformed_assertion", "timestamp_in_milliseconds", "missing_claim", "environment_mismatch",
    "audience_mismatch", "invalid_client_id", "assertion_lifetime_too_long", "expired_assertion",
    "assertion_not_yet_valid", "algorithm_not_accepted", "assertion_header_rejected",
    "signing_key_not_found", "wrong_tenant",
)


@dataclass(frozen=True)
class Finding:
    """One problem found: catalog ``category`` id, ``severity`` (``error``: the exchange would
    fail; ``warning``: it may), the offending ``claim`` (name, or None for the whole token),
    ``detail`` (redacted facts, never the token) and the catalog ``fix``."""

    category: str
    severity: str
    claim: str | None
    detail: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        """The finding as a JSON-ready dict."""
        return {"category": self.category, "severity": self.severity, "claim": self.claim,
                "detail": self.detail, "fix": self.fix}


_CLAIM_OF = {
    "malformed_assertion": None, "timestamp_in_milliseconds": "iat/exp/nbf",
    "missing_claim": None, "environment_mismatch": "aud", "audience_mismatch": "aud",
    "invalid_client_id": "iss/sub", "assertion_lifetime_too_long": "exp",
    "expired_assertion": "exp", "assertion_not_yet_valid": "iat/nbf",
    "algorithm_not_accepted": "alg", "assertion_header_rejected": "header",
    "signing_key_not_found": "kid", "wrong_tenant": "aud",
}


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _verifies(assertion: str, secret: bytes) -> bool:
    parts = assertion.split(".")
    if len(parts) != 3:
        return False
    try:
        signature = _b64(parts[2])
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    return hmac.compare_digest(expected, signature)


def secret_variants(secret: str) -> list[tuple[str, bytes]]:
    """Known wrong forms of a client secret: ``(description, key bytes)``."""
    variants = [("the secret with a trailing newline", (secret + "\n").encode())]
    if secret != secret.strip():
        variants.append(("the secret without its surrounding whitespace", secret.strip().encode()))
    for name, decode in (("base64-decoded", base64.b64decode),
                         ("base64url-decoded", base64.urlsafe_b64decode)):
        try:
            decoded = decode(secret.strip() + "=" * (-len(secret.strip()) % 4))
        except (binascii.Error, ValueError):
            continue
        if decoded:
            variants.append((f"the secret {name}", decoded))
    return variants


def signature_findings(assertion: str, client_secret: str, alg: str | None) -> list[Finding]:
    """Verify the HS256 signature with ``client_secret``; name a known mistake when a variant
    of the secret verifies instead (RFC 7515 section 5.2; Health Gorilla API docs)."""
    fix = CATEGORIES["invalid_signature"].fix
    if alg != "HS256":
        return [Finding("invalid_signature", ERROR, "alg", f"alg is {alg!r}, not HS256", fix)]
    if _verifies(assertion, client_secret.encode()):
        return []
    for description, key in secret_variants(client_secret):
        if _verifies(assertion, key):
            return [Finding("invalid_signature", ERROR, None,
                            f"the signature verifies with {description}, not with the secret "
                            "as issued", fix)]
    return [Finding("invalid_signature", ERROR, None,
                    "the signature does not verify with this client secret", fix)]


def _fix(cat_id: str, prof: Profile) -> str:
    """The fix for ``cat_id``: the profile's own (with its link), else the catalog's."""
    own = prof.fixes.get(cat_id)
    if own is not None:
        return f"{own.fix} ({own.link})" if own.link else own.fix
    return CATEGORIES[cat_id].fix


def key_findings(assertion: str, jwks: Jwks, prof: Profile) -> list[Finding]:
    """Verify ``assertion``'s RS/PS/ES signature against ``jwks`` (``hgobs.jwks.check_compact``)
    and say what a server holding that JWKS would object to: no ``kid`` (an error when the
    profile requires one, or when no key verifies; else a warning) or an unknown ``kid``
    (``signing_key_not_found``), an algorithm outside the profile's list or not a public-key
    one (``algorithm_not_accepted``), an algorithm the named key cannot verify, and a signature
    that does not verify (``invalid_signature``). Empty when it verifies with the key named.
    Sources: RFC 7515 section 4.1.4, RFC 7517 section 4.5, RFC 7523 section 3 item 9.
    """
    from hgobs import jwks as jwkslib

    accepted = prof.algorithms
    check = jwkslib.check_compact(assertion, jwks, accepted)
    if check is None or check.outcome == jwkslib.VERIFIED:
        return []
    if check.outcome == jwkslib.NO_KID:
        required = "kid" in prof.header_required
        severity = ERROR if required or not check.verified else WARNING
        extra = "; the profile requires a kid" if required else \
            "; a server that picks the key by kid cannot choose one" if check.verified else ""
        cat = "signing_key_not_found" if check.verified or required else "invalid_signature"
        return [Finding(cat, severity, "kid", check.detail + extra, _fix(cat, prof))]
    cat, claim = {
        jwkslib.UNKNOWN_KID: ("signing_key_not_found", "kid"),
        jwkslib.ALG_NOT_ACCEPTED: ("algorithm_not_accepted", "alg"),
        jwkslib.ALG_NOT_ASYMMETRIC: ("algorithm_not_accepted", "alg"),
        jwkslib.ALG_KEY_MISMATCH: ("invalid_signature", "alg"),
    }.get(check.outcome, ("invalid_signature", None))
    return [Finding(cat, ERROR, claim, check.detail, _fix(cat, prof))]


def check_assertion(
    assertion: str,
    *,
    token_url: str,
    client_id: str | None = None,
    profile: Profile | str = "healthgorilla",
    now: float | None = None,
    client_secret: str | None = None,
    jwks: Jwks | None = None,
) -> list[Finding]:
    """Findings for ``assertion`` about to be sent to ``token_url`` (empty list: looks good).

    ``now`` is the clock to judge times by (epoch seconds; default: this host's clock);
    ``client_secret`` checks an HS256 signature, ``jwks`` (a loaded ``hgobs.jwks.Jwks``) an
    RS/PS/ES one (``key_findings``). Never raises for any assertion text; raises
    ``ProfileError`` for a bad profile.
    """
    prof = load_profile(profile) if not isinstance(profile, Profile) else profile
    clock = time.time() if now is None else now
    _kind, env = prof.match(token_url)
    record: dict[str, Any] = {
        "time": clock, "endpoint.kind": TOKEN_EXCHANGE, "environment": env or "unknown",
        "url": redact_url(token_url), "request.body_kind": "form",
    }
    auds: list[str] = []
    record.update(jwtpeek.peek(assertion, source="assertion", now=clock,
                               fingerprint=Fingerprinter(), client_id=client_id, auds=auds))
    if auds:
        record["assertion.aud_differs_in"] = aud_differs_in(prof, token_url, auds)
        if len(auds) == 1 and isinstance(record.get("assertion.aud"), str):
            aud_facts(record, prof, auds[0])
    profile_facts(record, prof)
    ctx = Context(prof)
    findings: list[Finding] = []
    for cat_id in PREFLIGHT_RULES:
        verdict = RULES[cat_id](record, ctx)
        if verdict is None:
            continue
        confidence, evidence = verdict
        severity = WARNING if confidence == POSSIBLE else ERROR
        findings.append(Finding(cat_id, severity, _CLAIM_OF[cat_id], "; ".join(evidence),
                                _fix(cat_id, prof)))
    if client_secret is not None and not record.get("assertion.defect"):
        findings.extend(signature_findings(assertion.strip(), client_secret,
                                           record.get("assertion.alg")))
    if jwks is not None and not record.get("assertion.defect"):
        said = {(f.category, f.claim) for f in findings}
        # The JWKS check names what the rules named already (an algorithm the profile does
        # not take) only once.
        findings.extend(f for f in key_findings(assertion, jwks, prof)
                        if (f.category, f.claim) not in said)
    return findings
