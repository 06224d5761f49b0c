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
        if self.group:
            out["group"] = self.group
        return out


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
    with the others in ``also``; ``unclassified`` with a ``group`` when no rule applies. The
    verdict carries the stamp of ``profile`` (the default profile for None).
    """
    ctx = _context(profile)
    stamp = profile_stamp(ctx.profile)
    if not is_failure(record):
        return Diagnosis(OK, CONFIRMED, profile=stamp)
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
        return Diagnosis(earlier, LIKELY, (pointer,), fix=CATEGORIES[earlier].fix, profile=stamp)
    if not hits:
        group = f"{record.get('endpoint.kind')}:{record.get('http.status')}:{error(record) or '-'}"
        grouped = (f"group={group}", pointer) if earlier else (f"group={group}",)
        return Diagnosis("unclassified", POSSIBLE, grouped,
                         fix=CATEGORIES["unclassified"].fix, group=group, profile=stamp)
    hits.sort(key=lambda h: PRIORITY[h[0]])
    first, (conf, evidence) = hits[0]
    also = [h[0] for h in hits[1:]]
    if earlier:
        evidence = [*evidence, pointer]
        if earlier in CATEGORIES and earlier not in also and earlier != first:
            also.append(earlier)
    return Diagnosis(first, conf, tuple(evidence), tuple(also), fix=CATEGORIES[first].fix,
                     profile=stamp)
