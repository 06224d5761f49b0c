"""The verdict on one record: every rule of the catalog asked, the first in fix order wins.

``diagnose`` is the only implementation of the catalog's rules, live (capture sets its result
on the span and the record) and offline (the analyzer). ``RULES`` maps each category id to the
predicate its catalog entry names (``Category.rule``), in fix order.
"""

from __future__ import annotations

from dataclasses import dataclass

from hgobs.diagnosis import rules
from hgobs.diagnosis.catalog import CATALOG, CATEGORIES, CONFIRMED, LIKELY, OK, POSSIBLE, PRIORITY
from hgobs.diagnosis.read import error, is_failure
from hgobs.diagnosis.rules import Context, Record, Rule, Verdict
from hgobs.diagnosis.stamp import RULES_DIGEST, profile_stamp
from hgobs.profiles import Profile, load_profile

RULES: dict[str, Rule] = {c.id: getattr(rules, c.rule) for c in CATALOG if c.rule}
"""Category id -> the predicate its catalog entry names, in fix order (``unclassified`` has
none: it is what no rule decides). A name that is not a function of ``hgobs.diagnosis.rules``
fails here, at import; ``tests/diagnosis`` checks that every rule is named once."""


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on one record: ``category`` id (or ``ok``), ``confidence``, ``evidence``
    (facts that decided it, as short ``name=value`` strings), ``also`` (other categories that
    apply, in fix order), ``fix`` (one line), ``group`` (for ``unclassified``) and ``profile``
    (``hgobs.diagnosis.stamp.profile_stamp`` of the profile it was judged under, if known)."""

    category: str
    confidence: str
    evidence: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    also_confidence: tuple[str, ...] = ()
    """The confidence of each of ``also``, in its order: which other cause is likelier."""
    fix: str = ""
    group: str | None = None
    profile: str = ""

    def as_fields(self) -> Record:
        """The diagnosis as record fields (``category``, ``confidence``, ``fix`` ..., and the
        stamp ``diagnosis.rules`` with ``diagnosis.profile`` when the profile is known)."""
        out: Record = {
            "outcome": "ok" if self.category == OK else "failed",
            "category": self.category,
            "confidence": self.confidence,
            "diagnosis.rules": RULES_DIGEST,
        }
        if self.profile:
            out["diagnosis.profile"] = self.profile
        if self.fix:
            out["fix"] = self.fix
        if self.evidence:
            out["evidence"] = list(self.evidence)
        if self.also:
            out["also"] = list(self.also)
            if self.also_confidence:
                out["also_confidence"] = list(self.also_confidence)
        if self.group:
            out["group"] = self.group
        return out


_contexts: dict[int, Context] = {}


def _context(profile: Profile | None) -> Context:
    """The rules' ``Context`` for ``profile`` (the default profile for None), made once per
    profile (a run judges under a few)."""
    if profile is None:
        profile = load_profile()
    ctx = _contexts.get(id(profile))
    if ctx is None or ctx.profile is not profile:
        if len(_contexts) >= 256:
            _contexts.clear()
        ctx = _contexts[id(profile)] = Context(profile)
    return ctx


def _fix(category: str, profile: Profile) -> str:
    """The fix for ``category``: the profile's own (with its link) when it has one, else the
    catalog's."""
    own = profile.fixes.get(category)
    if own is not None:
        return f"{own.fix} ({own.link})" if own.link else own.fix
    return CATEGORIES[category].fix


REFINES = {c.id: c.refines for c in CATALOG if c.refines}
"""Category id -> the categories it explains more precisely (``Category.refines``): a server
that says "expired" about an assertion valid by the client's clock but not by the server's
``Date`` names a clock skew (RFC 7519 section 4.1.4)."""


def _refine(explicit: dict[str, list[str]], found: dict[str, Verdict]) -> None:
    """Move what the server named to the category that explains it (``REFINES``) when that
    category's rule holds and the named one's own rule does not, in place."""
    for finer, coarser in REFINES.items():
        if finer not in found:
            continue
        for named in coarser:
            if named in explicit and named not in found:
                explicit.setdefault(finer, []).extend(explicit.pop(named))


def _explicit(record: Record, profile: Profile) -> dict[str, list[str]]:
    """Categories the server named itself, with their evidence: each ``[[errors]]`` entry of
    the profile its answer holds (evidence quotes the profile's text, never the answer), and
    a 429 (RFC 6585 section 4), with ``Retry-After`` when it came."""
    out: dict[str, list[str]] = {}
    for entry in profile.said(record):
        if entry.category in CATEGORIES:
            out.setdefault(entry.category, []).append(
                f"server said {entry.label!r} ({profile.name} error text)")
    if record.get("http.status") == 429:
        out.setdefault("rate_limited", []).append("http.status=429")
    return out


def diagnose(record: Record, profile: Profile | None = None) -> Diagnosis:
    """Classify one record (already annotated by ``History`` when history is available).

    Returns ``ok`` for a success, else the applicable category that comes first: a category
    the server named itself (an error text of the profile, a 429) before one the claims
    suggest, each group in fix order; the others are in ``also``; ``unclassified`` with a
    ``group`` when no rule applies. The verdict carries the stamp of ``profile`` (the
    default profile for None), and the profile's own fix for the category when it has one.
    """
    ctx = _context(profile)
    stamp = profile_stamp(ctx.profile)
    if not is_failure(record):
        return Diagnosis(OK, CONFIRMED, profile=stamp)
    explicit = _explicit(record, ctx.profile)
    found = {cat_id: verdict for cat_id, rule in RULES.items()
             if (verdict := rule(record, ctx)) is not None}
    _refine(explicit, found)
    hits: list[tuple[str, Verdict]] = []
    for cat_id in RULES:
        verdict = found.get(cat_id)
        said = explicit.get(cat_id)
        if said is not None:
            evidence = verdict[1] if verdict is not None else []
            verdict = CONFIRMED, [*evidence, *(e for e in said if e not in evidence)]
        if verdict is not None:
            hits.append((cat_id, verdict))
    earlier = record.get("presented.after_failed_exchange")
    pointer = (f"follows a failed token exchange ({earlier}, span "
               f"{record.get('presented.exchange_span_id', '?')}) in the same trace")
    if not hits and earlier in CATEGORIES and earlier != "unclassified":
        # The refused call is a consequence: fixing that exchange fixes it.
        return Diagnosis(earlier, LIKELY, (pointer,), fix=_fix(earlier, ctx.profile), profile=stamp)
    if not hits:
        group = f"{record.get('endpoint.kind')}:{record.get('http.status')}:{error(record) or '-'}"
        grouped = (f"group={group}", pointer) if earlier else (f"group={group}",)
        return Diagnosis("unclassified", POSSIBLE, grouped,
                         fix=CATEGORIES["unclassified"].fix, group=group, profile=stamp)
    # The server's own word outranks what the claims suggest (issue 14 item 4): categories it
    # named come first, in fix order; then the rest, in fix order.
    hits.sort(key=lambda h: (h[0] not in explicit, PRIORITY[h[0]]))
    first, (conf, evidence) = hits[0]
    also = [h[0] for h in hits[1:]]
    also_conf = [h[1][0] for h in hits[1:]]
    if earlier:
        evidence = [*evidence, pointer]
        if earlier in CATEGORIES and earlier not in also and earlier != first:
            also.append(earlier)
            also_conf.append(LIKELY)  # a consequence of that exchange, as when alone
    return Diagnosis(first, conf, tuple(evidence), tuple(also), tuple(also_conf),
                     fix=_fix(first, ctx.profile),
                     profile=stamp)
