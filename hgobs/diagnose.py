"""Diagnosis: auth attempt record -> catalog category, confidence and evidence.

The same code runs live (capture sets the result on the span) and offline (the analyzer).
Each rule is a small predicate over one record, documented beside the catalog entry it decides
(``hgobs.catalog``). Rules that need earlier records read facts that ``History`` adds to the
record first (``assertion.reused_after_s``, ``presented.*`` of the issuing exchange), so the
rules themselves stay single-record. Every rule judges the record at its own recorded time.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hgobs.catalog import CATEGORIES, CONFIRMED, LIKELY, OK, POSSIBLE, PRIORITY
from hgobs.profiles import API_CALL, TOKEN_EXCHANGE, Profile, load_profile
from hgobs.rfc import CLIENT_CREDENTIALS, JWT_BEARER_CLIENT_ASSERTION, JWT_BEARER_GRANT

Record = dict[str, Any]
LEEWAY_S = 30.0
"""Clock leeway in seconds when judging iat/nbf against a clock (RFC 7519 section 4.1.4)."""
REFUSED_API_STATUSES = frozenset({401, 403, 429})
SUPPORTED_GRANTS = frozenset({JWT_BEARER_GRANT, CLIENT_CREDENTIALS})


def _rules_digest() -> str:
    """16 hex digits of SHA-256 over the source of the rules and of the catalog they name."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in ("diagnose.py", "catalog.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


RULES_DIGEST = _rules_digest()
"""Stamp of the rules that made a diagnosis (record field ``diagnosis.rules``): a digest of
this module's and the catalog's source, so any change to a rule gives another stamp. A record
whose stamp equals this one was judged by exactly these rules; the analyzer may keep that
verdict instead of judging the record again (``hgobs.analysis.classify``)."""


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on one record: ``category`` id (or ``ok``), ``confidence``, ``evidence``
    (facts that decided it, as short ``name=value`` strings), ``also`` (other categories that
    apply, in fix order), ``fix`` (one line) and ``group`` (for ``unclassified``)."""

    category: str
    confidence: str
    evidence: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    fix: str = ""
    group: str | None = None

    def as_fields(self) -> Record:
        """The diagnosis as record fields (``category``, ``confidence``, ``fix`` ...)."""
        out: Record = {
            "outcome": "ok" if self.category == OK else "failed",
            "category": self.category,
            "confidence": self.confidence,
            "diagnosis.rules": RULES_DIGEST,
        }
        if self.fix:
            out["fix"] = self.fix
        if self.evidence:
            out["evidence"] = list(self.evidence)
        if self.also:
            out["also"] = list(self.also)
        if self.group:
            out["group"] = self.group
        return out


Verdict = tuple[str, list[str]]  # (confidence, evidence)
Rule = Callable[[Record, "Context"], "Verdict | None"]


@dataclass(frozen=True)
class Context:
    """What rules may consult besides the record: the provider profile."""

    profile: Profile


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def to_seconds(value: Any) -> float | None:
    """A NumericDate claim as seconds (milliseconds scaled down); None if not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value / 1000.0 if value > 1e11 else float(value)


def _said(r: Record, pattern: str) -> bool:
    """True when the server's words (error description, message, challenge description)
    match ``pattern``, case-insensitively."""
    get = r.get
    return _matches(f"{_s(get('response.error_description'))} {_s(get('response.message'))} "
                    f"{_s(get('challenge.error_description'))}", pattern)


@functools.lru_cache(maxsize=1024)
def _matches(text: str, pattern: str) -> bool:
    """``re.search(pattern, text, re.I)`` found something (remembered: a server says the same
    few things, and each rule asks its own question of them)."""
    return re.search(pattern, text, re.I) is not None


def _error(r: Record) -> str:
    return _s(r.get("response.error")) or _s(r.get("challenge.error"))


def _refused_like(r: Record, *errors: str) -> str:
    """CONFIRMED when the server answered one of ``errors`` (or an empty body), else LIKELY."""
    if _error(r) in errors or r.get("response.body_empty"):
        return CONFIRMED
    return LIKELY


def _exchange(r: Record) -> bool:
    return r.get("endpoint.kind") == TOKEN_EXCHANGE


def _api(r: Record) -> bool:
    return r.get("endpoint.kind") == API_CALL


def is_failure(r: Record) -> bool:
    """True when the attempt failed: a token exchange without a 2xx, or a refused API call."""
    status = r.get("http.status")
    if _api(r):
        return status is None or status in REFUSED_API_STATUSES or status >= 400
    return status is None or not 200 <= status < 300


# --- token exchange rules -------------------------------------------------------------------

def redirect_dropped_body(r: Record, ctx: Context) -> Verdict | None:
    """A redirect turned the token POST into a request without its form (RFC 9110 15.4)."""
    if not _exchange(r):
        return None
    if r.get("redirect.count"):
        if r.get("redirect.final_method") == "GET" or r.get("redirect.final_body_bytes") == 0:
            ev = [f"redirect.status={r.get('redirect.status')}",
                  f"redirect.final_method={r.get('redirect.final_method')}"]
            if r.get("url.scheme") == "http":
                ev.append("url.scheme=http")
            return _refused_like(r, "unsupported_grant_type", "invalid_request"), ev
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
    if _exchange(r) and kind in ("json", "json_text", "multipart", "other"):
        return _refused_like(r, "unsupported_grant_type", "invalid_request"), [
            f"request.body_kind={kind}", f"request.content_type={r.get('request.content_type')}"]
    return None


def grant_type_confusion(r: Record, ctx: Context) -> Verdict | None:
    """Unknown grant_type or parameters of two flows mixed (RFC 7523 2.1/2.2, RFC 7521 4.2)."""
    if not _exchange(r) or r.get("request.body_kind") not in ("form", None):
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
    said = _said(r, r"client_assertion|grant|assertion_type")
    return (CONFIRMED if _error(r) in ("unsupported_grant_type", "invalid_request") or said
            else LIKELY), ev


def malformed_assertion(r: Record, ctx: Context) -> Verdict | None:
    """The assertion is not a compact JWS (RFC 7515 7.1, RFC 7519 7.2)."""
    defect = r.get("assertion.defect")
    if not defect or r.get("assertion.source") == "bearer":
        return None
    ev = [f"assertion.defect={defect}", f"assertion.defect_part={r.get('assertion.defect_part')}",
          f"assertion.segments={r.get('assertion.segments')}"]
    return _refused_like(r, "invalid_grant", "invalid_request", "invalid_client"), ev


def timestamp_in_milliseconds(r: Record, ctx: Context) -> Verdict | None:
    """iat/exp/nbf are millisecond epochs (RFC 7519 section 2, NumericDate is seconds)."""
    ms = r.get("assertion.ms_claims")
    if not ms or r.get("assertion.source") == "bearer":
        return None
    return _refused_like(r, "invalid_grant", "invalid_client"), [f"assertion.ms_claims={','.join(ms)}"]


def missing_claim(r: Record, ctx: Context) -> Verdict | None:
    """A required claim is absent (RFC 7523 section 3; iat where the profile requires it)."""
    if r.get("assertion.source") == "bearer":
        return None
    require_iat = r.get("limits.require_iat", ctx.profile.require_iat)
    missing = [c for c in r.get("assertion.missing_claims") or () if c != "iat" or require_iat]
    if not missing:
        return None
    return _refused_like(r, "invalid_grant", "invalid_client"), [
        f"assertion.missing_claims={','.join(missing)}"]


def _called_token_url(r: Record) -> str:
    return _s(r.get("url")).split("?", 1)[0]


def environment_mismatch(r: Record, ctx: Context) -> Verdict | None:
    """aud names another environment's token URL, or a value issued by one environment is
    used on the other's API (HG guide, environment mismatch)."""
    env = r.get("environment")
    if _api(r):
        issued_env = r.get("presented.issued_environment")
        if issued_env and env and issued_env != env:
            return _refused_like(r, "invalid_token"), [
                f"presented.issued_environment={issued_env}", f"environment={env}"]
        return None
    ok_env = r.get("assertion.iss_ok_environment")
    if _exchange(r) and ok_env and env and ok_env != env and _error(r) == "invalid_client":
        return LIKELY, [f"the same iss succeeded in {ok_env} before", f"environment={env}",
                        "response.error=invalid_client"]
    aud = r.get("assertion.aud")
    if not _exchange(r) or not isinstance(aud, str) or r.get("assertion.source") == "bearer":
        return None
    aud_env, exact = _aud_environment(r, ctx)
    if aud_env and env and aud_env != env:
        if exact:
            return _refused_like(r, "invalid_grant"), [
                f"assertion.aud is the {aud_env} token URL", f"environment={env}"]
        return POSSIBLE, [f"assertion.aud is on a {aud_env} host", f"environment={env}"]
    return None


def _aud_environment(r: Record, ctx: Context) -> tuple[str | None, bool]:
    """(environment ``aud`` points at, whether it is exactly a token URL): recorded facts
    first, else the profile."""
    if "assertion.aud_exact" in r:
        return r.get("assertion.aud_environment"), bool(r.get("assertion.aud_exact"))
    aud = _s(r.get("assertion.aud"))
    env = ctx.profile.token_url_environment(aud)
    return (env, True) if env else (ctx.profile.environment_of_host(aud), False)


def audience_mismatch(r: Record, ctx: Context) -> Verdict | None:
    """aud differs from the token URL called (RFC 7523 section 3: aud identifies the server)."""
    if not _exchange(r) or r.get("assertion.source") not in ("assertion", "client_assertion"):
        return None
    aud = r.get("assertion.aud")
    called = _called_token_url(r)
    if aud is None or not called:
        return None
    if isinstance(aud, list):
        conf = POSSIBLE if called in aud else _refused_like(r, "invalid_grant", "invalid_client")
        return conf, [f"assertion.aud is an array of {len(aud)}", f"url={called}"]
    if aud == called:
        return None
    aud_env, exact = _aud_environment(r, ctx)
    env = r.get("environment")
    if aud_env and env and aud_env != env and exact:
        return None  # environment_mismatch
    return _refused_like(r, "invalid_grant", "invalid_client"), [f"assertion.aud={aud}", f"url={called}"]


def invalid_client_id(r: Record, ctx: Context) -> Verdict | None:
    """iss or sub is not the client id (HG guide: invalid_client; RFC 7523 section 3)."""
    if r.get("assertion.source") not in ("assertion", "client_assertion"):
        return None
    ev: list[str] = []
    for claim in ("iss", "sub"):
        shape = r.get(f"assertion.{claim}_shape")
        if shape in ("email", "url", "empty", "other"):
            ev.append(f"assertion.{claim}_shape={shape}")
        if r.get(f"assertion.{claim}_is_client") is False:
            ev.append(f"assertion.{claim} is not the configured client id")
    if r.get("assertion.iss_eq_sub") is False:
        ev.append("assertion.iss != assertion.sub")
    if not ev:
        return None
    said = _said(r, r"client[ _]?id|improper client")
    return (CONFIRMED if _error(r) == "invalid_client" or said else LIKELY), ev


def assertion_lifetime_too_long(r: Record, ctx: Context) -> Verdict | None:
    """exp - iat over the profile's limit, or the server says exp is too far ahead."""
    if r.get("assertion.source") == "bearer" or not _exchange(r):
        return None
    lifetime = r.get("assertion.lifetime_s")
    limit = r.get("limits.max_lifetime_s", ctx.profile.max_assertion_lifetime_s)
    said = _said(r, r"too far|exp\w* .*future|lifetime")
    if lifetime is not None and limit is not None and lifetime > limit:
        return (CONFIRMED if said or _error(r) in ("invalid_grant", "invalid_client") else LIKELY), [
            f"assertion.lifetime_s={lifetime:g}", f"limit={limit:g}"]
    if said:
        return CONFIRMED, ["server says exp is too far ahead"]
    return None


def expired_assertion(r: Record, ctx: Context) -> Verdict | None:
    """exp <= the client clock at send (RFC 7523 section 3; HG guide, expired assertion)."""
    if r.get("assertion.source") == "bearer" or not _exchange(r):
        return None
    exp, now = to_seconds(r.get("assertion.exp")), r.get("time")
    if exp is None or now is None or exp > now:
        return None
    said = _said(r, r"expired|valid time|time range|too old")
    conf = CONFIRMED if said or _error(r) in ("invalid_grant", "invalid_client") or \
        r.get("response.body_empty") else LIKELY
    return conf, [f"assertion.seconds_to_expiry={exp - now:g}"]


def assertion_not_yet_valid(r: Record, ctx: Context) -> Verdict | None:
    """iat or nbf after the client clock at send (RFC 7519 4.1.5-4.1.6, with leeway)."""
    if r.get("assertion.source") == "bearer" or not _exchange(r):
        return None
    now = r.get("time")
    if now is None:
        return None
    ahead = [name for name in ("iat", "nbf")
             if (t := to_seconds(r.get(f"assertion.{name}"))) is not None and t > now + LEEWAY_S]
    if not ahead:
        return None
    said = _said(r, r"not yet valid|future|issued in|\biat\b|\bnbf\b")
    conf = CONFIRMED if said or _error(r) in ("invalid_grant", "invalid_client") or \
        r.get("response.body_empty") else LIKELY
    seconds = {n: to_seconds(r.get(f"assertion.{n}")) for n in ahead}
    return conf, [f"assertion.{n} is {t - now:g} s after the client clock" for n, t in seconds.items()
                  if t is not None]


def clock_skew(r: Record, ctx: Context) -> Verdict | None:
    """Valid by the client clock, invalid by the server's Date (RFC 7519 4.1.4)."""
    if r.get("assertion.source") == "bearer" or not _exchange(r):
        return None
    now, server = r.get("time"), r.get("server.date")
    exp = to_seconds(r.get("assertion.exp"))
    iat = to_seconds(r.get("assertion.iat"))
    nbf = to_seconds(r.get("assertion.nbf"))
    if now is None or server is None:
        return None
    valid_by_client = (exp is None or exp > now) and all(
        t is None or t <= now + LEEWAY_S for t in (iat, nbf))
    if not valid_by_client:
        return None
    ev = [f"clock.offset_s={now - server:g}"]
    if exp is not None and exp <= server:
        ev.append("exp <= server Date")
    elif any(t is not None and t > server + LEEWAY_S for t in (iat, nbf)):
        ev.append("iat or nbf after server Date")
    else:
        return None
    return _refused_like(r, "invalid_grant", "invalid_client"), ev


def assertion_reuse(r: Record, ctx: Context) -> Verdict | None:
    """The same assertion (or iss + jti) was sent before (RFC 7523 section 3, jti); history."""
    after = r.get("assertion.reused_after_s")
    if after is None or not _exchange(r):
        return None
    said = _said(r, r"already used|replay|reuse")
    return (CONFIRMED if said or _error(r) == "invalid_grant" else LIKELY), [
        f"assertion.reused_after_s={after:g}"]


def invalid_signature(r: Record, ctx: Context) -> Verdict | None:
    """The server says the signature is invalid (RFC 7515 section 5.2)."""
    if _exchange(r) and _said(r, r"signature"):
        return CONFIRMED, ["server says the signature is invalid"]
    return None


def invalid_scope(r: Record, ctx: Context) -> Verdict | None:
    """error=invalid_scope (RFC 6749 section 5.2)."""
    if _s(r.get("response.error")) == "invalid_scope":
        return CONFIRMED, ["response.error=invalid_scope", f"form.scope={r.get('form.scope')}"]
    return None


def silent_failure(r: Record, ctx: Context) -> Verdict | None:
    """A refused exchange with an empty body (HG guide, silent failure)."""
    status = r.get("http.status")
    if _exchange(r) and r.get("response.body_empty") and isinstance(status, int) and status >= 400:
        return LIKELY, ["response.body_empty=true", f"http.status={r.get('http.status')}"]
    return None


# --- API call rules -------------------------------------------------------------------------

def assertion_as_access_token(r: Record, ctx: Context) -> Verdict | None:
    """A JWT shaped like an assertion presented as the access token (HG guide; RFC 6750 3.1)."""
    if _api(r) and r.get("presented.kind") == "assertion_jwt" and r.get("http.status") == 401:
        return _refused_like(r, "invalid_token"), ["presented.kind=assertion_jwt",
                                                   f"challenge.error={r.get('challenge.error')}"]
    return None


def missing_access_token(r: Record, ctx: Context) -> Verdict | None:
    """No usable access token was presented (RFC 6750 sections 2.1, 3.1)."""
    kind = r.get("presented.kind")
    if _api(r) and r.get("http.status") == 401 and kind in (
            "absent", "misspelled_header", "empty", "placeholder", "non_bearer_scheme"):
        return CONFIRMED, [f"presented.kind={kind}"]
    return None


def access_token_expired(r: Record, ctx: Context) -> Verdict | None:
    """The server says the token expired, or it is older than its expires_in (history)."""
    if not _api(r) or r.get("http.status") != 401:
        return None
    age, ttl = r.get("presented.age_s"), r.get("presented.issued_expires_in")
    if _said(r, r"expired"):
        return CONFIRMED, ["server says the access token expired"]
    if age is not None and ttl is not None and age >= ttl:
        return LIKELY, [f"presented.age_s={age:g}", f"presented.issued_expires_in={ttl:g}"]
    return None


def insufficient_scope(r: Record, ctx: Context) -> Verdict | None:
    """403 or error=insufficient_scope (RFC 6750 section 3.1)."""
    if _api(r) and (r.get("http.status") == 403 or r.get("challenge.error") == "insufficient_scope"):
        conf = CONFIRMED if r.get("challenge.error") == "insufficient_scope" else LIKELY
        return conf, [f"http.status={r.get('http.status')}", f"challenge.scope={r.get('challenge.scope')}"]
    return None


def rate_limited(r: Record, ctx: Context) -> Verdict | None:
    """Status 429 (RFC 6585 section 4)."""
    if r.get("http.status") == 429:
        return CONFIRMED, ["http.status=429", f"response.retry_after_s={r.get('response.retry_after_s')}"]
    return None


RULES: dict[str, Rule] = {
    "redirect_dropped_body": redirect_dropped_body,
    "wrong_body_encoding": wrong_body_encoding,
    "grant_type_confusion": grant_type_confusion,
    "malformed_assertion": malformed_assertion,
    "timestamp_in_milliseconds": timestamp_in_milliseconds,
    "missing_claim": missing_claim,
    "environment_mismatch": environment_mismatch,
    "audience_mismatch": audience_mismatch,
    "invalid_client_id": invalid_client_id,
    "assertion_lifetime_too_long": assertion_lifetime_too_long,
    "expired_assertion": expired_assertion,
    "assertion_not_yet_valid": assertion_not_yet_valid,
    "clock_skew": clock_skew,
    "assertion_reuse": assertion_reuse,
    "invalid_signature": invalid_signature,
    "invalid_scope": invalid_scope,
    "assertion_as_access_token": assertion_as_access_token,
    "missing_access_token": missing_access_token,
    "access_token_expired": access_token_expired,
    "insufficient_scope": insufficient_scope,
    "rate_limited": rate_limited,
    "silent_failure": silent_failure,
}
assert set(RULES) | {"unclassified"} == set(CATEGORIES), "every category needs a rule"


_last_context: Context | None = None


def _context(profile: Profile | None) -> Context:
    """The rules' ``Context`` for ``profile`` (the default profile for None), made once for
    the profile last used."""
    global _last_context
    last = _last_context
    if last is not None and profile is not None and last.profile is profile:
        return last
    ctx = Context(profile or load_profile())
    if profile is not None:
        _last_context = ctx
    return ctx


def diagnose(record: Record, profile: Profile | None = None) -> Diagnosis:
    """Classify one record (already annotated by ``History`` when history is available).

    Returns ``ok`` for a success, else the applicable category that comes first in fix order,
    with the others in ``also``; ``unclassified`` with a ``group`` when no rule applies.
    """
    ctx = _context(profile)
    if not is_failure(record):
        return Diagnosis(OK, CONFIRMED)
    hits: list[tuple[str, Verdict]] = []
    for cat_id, rule in RULES.items():
        verdict = rule(record, ctx)
        if verdict is not None:
            hits.append((cat_id, verdict))
    earlier = record.get("presented.after_failed_exchange")
    pointer = (f"follows a failed token exchange ({earlier}, span "
               f"{record.get('presented.exchange_span_id', '?')}) in the same trace")
    if not hits and earlier in CATEGORIES and earlier != "unclassified":
        # The refused call is a consequence: fixing that exchange fixes it.
        return Diagnosis(earlier, LIKELY, (pointer,), fix=CATEGORIES[earlier].fix)
    if not hits:
        group = f"{record.get('endpoint.kind')}:{record.get('http.status')}:{_error(record) or '-'}"
        evidence = (f"group={group}", pointer) if earlier else (f"group={group}",)
        return Diagnosis("unclassified", POSSIBLE, evidence,
                         fix=CATEGORIES["unclassified"].fix, group=group)
    hits.sort(key=lambda h: PRIORITY[h[0]])
    first, (conf, evidence) = hits[0]
    also = [h[0] for h in hits[1:]]
    if earlier:
        evidence = [*evidence, pointer]
        if earlier in CATEGORIES and earlier not in also and earlier != first:
            also.append(earlier)
    return Diagnosis(first, conf, tuple(evidence), tuple(also), fix=CATEGORIES[first].fix)


@dataclass
class History:
    """Bounded memory of earlier attempts, for the rules that need history.

    Remembers assertion fingerprints (and ``iss`` + ``jti``), the access values issued by
    successful exchanges, and the environments where each ``iss`` succeeded, up to
    ``max_entries`` each (least recently seen dropped first); and the last token exchange of
    each trace, so a refused API call after a failed exchange points at it.
    Thread-safe; used by the live instrumentor and, in time order, by the analyzer.
    """

    max_entries: int = 10_000
    _assertions: OrderedDict[str, float] = field(default_factory=OrderedDict)
    _issued: OrderedDict[str, tuple[float, float | None, str | None]] = field(default_factory=OrderedDict)
    _client_envs: OrderedDict[str, frozenset[str]] = field(default_factory=OrderedDict)
    _trace_exchange: OrderedDict[str, Record] = field(default_factory=OrderedDict)
    trace_entries: int = 1_000
    """Bound of the table of the last token exchange per trace (records kept by reference, so
    the diagnosis made after ``annotate`` is seen by later calls of the same trace)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _put(self, table: OrderedDict[str, Any], k: str, value: Any) -> None:
        table[k] = value
        table.move_to_end(k)
        while len(table) > self.max_entries:
            table.popitem(last=False)

    def annotate(self, r: Record) -> None:
        """Add history facts to ``r`` in place, then remember what ``r`` sent."""
        now = r.get("time")
        if now is None:
            return
        with self._lock:
            if _exchange(r) and r.get("assertion.source") in ("assertion", "client_assertion"):
                keys = [f"a:{r['assertion.fp']}"] if r.get("assertion.fp") else []
                if r.get("assertion.jti_fp") and r.get("assertion.iss_fp"):
                    keys.append(f"j:{r['assertion.iss_fp']}:{r['assertion.jti_fp']}")
                earlier = [self._assertions[k] for k in keys if k in self._assertions]
                if earlier:
                    r["assertion.reused_after_s"] = round(now - min(earlier), 3)
                for k in keys:
                    self._put(self._assertions, k, min(earlier) if earlier else now)
            fp = r.get("presented.fp")
            if _api(r) and fp and fp in self._issued:
                issued_at, expires_in, env = self._issued[fp]
                r["presented.age_s"] = round(now - issued_at, 3)
                if expires_in is not None:
                    r["presented.issued_expires_in"] = expires_in
                if env:
                    r["presented.issued_environment"] = env
            trace_id = r.get("trace_id")
            if trace_id and _exchange(r):
                self._trace_exchange[trace_id] = r
                self._trace_exchange.move_to_end(trace_id)
                while len(self._trace_exchange) > self.trace_entries:
                    self._trace_exchange.popitem(last=False)
            elif trace_id and _api(r) and trace_id in self._trace_exchange:
                exchange = self._trace_exchange[trace_id]
                if exchange.get("outcome") == "failed" and exchange.get("category"):
                    r["presented.after_failed_exchange"] = exchange["category"]
                    if exchange.get("span_id"):
                        r["presented.exchange_span_id"] = exchange["span_id"]
            iss_fp, env = r.get("assertion.iss_fp"), r.get("environment")
            if _exchange(r) and iss_fp and env:
                ok_in = self._client_envs.get(iss_fp, frozenset())
                if is_failure(r) and env not in ok_in and ok_in:
                    r["assertion.iss_ok_environment"] = sorted(ok_in)[0]
            if _exchange(r) and r.get("issued.fp"):
                self._put(self._issued, r["issued.fp"], (now, r.get("issued.expires_in"), env))
                if iss_fp and env:
                    self._put(self._client_envs, iss_fp,
                              self._client_envs.get(iss_fp, frozenset()) | {env})
