"""Rules of refused API calls: what the access token presented was, or was not.

One small predicate per catalog category, with the contract of ``hgobs.diagnosis.rules``
(which re-exports them, so ``Category.rule`` names them there): RFC 6750 sections 2.1 and
3.1 (the Bearer scheme and its challenges), RFC 6585 section 4 (429).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hgobs.diagnosis.catalog import CONFIRMED, LIKELY
from hgobs.diagnosis.read import is_api, refused_like, server_said

if TYPE_CHECKING:
    from hgobs.diagnosis.rules import Context, Verdict

Record = dict[str, Any]


def assertion_as_access_token(r: Record, ctx: Context) -> Verdict | None:
    """A JWT shaped like an assertion presented as the access token (HG guide; RFC 6750 3.1)."""
    if is_api(r) and r.get("presented.kind") == "assertion_jwt" and r.get("http.status") == 401:
        return refused_like(r, "invalid_token"), ["presented.kind=assertion_jwt",
                                                   f"challenge.error={r.get('challenge.error')}"]
    return None


def missing_access_token(r: Record, ctx: Context) -> Verdict | None:
    """No usable access token was presented (RFC 6750 sections 2.1, 3.1)."""
    kind = r.get("presented.kind")
    if is_api(r) and r.get("http.status") == 401 and kind in (
            "absent", "misspelled_header", "empty", "placeholder", "non_bearer_scheme"):
        return CONFIRMED, [f"presented.kind={kind}"]
    return None


def access_token_expired(r: Record, ctx: Context) -> Verdict | None:
    """The server says the token expired, or it is older than its expires_in (history)."""
    if not is_api(r) or r.get("http.status") != 401:
        return None
    age, ttl = r.get("presented.age_s"), r.get("presented.issued_expires_in")
    if server_said(r, ("expired",)):
        return CONFIRMED, ["server says the access token expired"]
    if age is not None and ttl is not None and age >= ttl:
        return LIKELY, [f"presented.age_s={age:g}", f"presented.issued_expires_in={ttl:g}"]
    return None


def insufficient_scope(r: Record, ctx: Context) -> Verdict | None:
    """403 or error=insufficient_scope (RFC 6750 section 3.1)."""
    if is_api(r) and (r.get("http.status") == 403 or r.get("challenge.error") == "insufficient_scope"):
        conf = CONFIRMED if r.get("challenge.error") == "insufficient_scope" else LIKELY
        scope = r.get("challenge.scope")  # named as evidence only when the challenge gave one
        return conf, [f"http.status={r.get('http.status')}",
                      *([f"challenge.scope={scope}"] if scope is not None else [])]
    return None


def rate_limited(r: Record, ctx: Context) -> Verdict | None:
    """Status 429 (RFC 6585 section 4)."""
    if r.get("http.status") == 429:
        wait = r.get("response.retry_after_s")  # evidence only when the server said it
        return CONFIRMED, ["http.status=429",
                           *([f"response.retry_after_s={wait}"] if wait is not None else [])]
    return None
