"""Offline classification: items from the readers -> diagnosed records, one at a time.

Records are judged with the same rules as capture (``hgobs.diagnosis``), each at its own recorded
time, in the order they are given. Rules that need history (assertion reuse, access-token age
and origin) must see the records in time order: putting them in that order is the readers' job
(``hgobs.readers.read_paths`` merges its inputs by time), not the judge's, so a record given
out of time order is judged without the history that comes after it. Memory is bounded by
``History`` (``history_entries`` per table), whatever the input size.

Totals reconcile: every item is either classified or skipped with its reason. ``judge`` streams;
``classify`` materialises (a ``Result`` in input order, every record sorted by time first).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from hgobs.diagnosis import Diagnosis, History, diagnose, is_failure
from hgobs.diagnosis.catalog import CATEGORIES, CONFIRMED, OK
from hgobs.diagnosis.stamp import rules_match, stamp_matches
from hgobs.profiles import Profile, ProfileSet
from hgobs.readers.base import Item
from hgobs.schema import Record

HISTORY_FIELDS = ("assertion.reused_after_s", "assertion.iss_ok_environment", "presented.age_s",
                  "presented.issued_expires_in", "presented.issued_environment",
                  "presented.after_failed_exchange", "presented.exchange_span_id")
"""Fields ``History.annotate`` adds: facts about earlier records."""
DIAGNOSIS_FIELDS = ("outcome", "category", "confidence", "fix", "evidence", "also",
                    "also_confidence", "group", "diagnosis.rules", "diagnosis.profile")
RECOMPUTED_FIELDS = HISTORY_FIELDS + DIAGNOSIS_FIELDS
"""Fields a record may carry from capture that this run computes again."""

DEFAULT_HISTORY_ENTRIES = 200_000
"""Entries of each ``History`` table (assertions, issued values, environments per ``iss``)."""


@dataclass(frozen=True)
class Classified:
    """One classified record and where it came from (``<file>:<line>``)."""

    source: str
    record: Record


Judged = Classified | Item
"""What ``judge`` yields: a classified record, or an ``Item`` that was skipped."""


class _Judge:
    """Annotates and diagnoses one record at a time, in the order it is given them.

    With ``trust``, a record stamped by these very rules under this very profile
    (``hgobs.diagnosis.stamp.stamp_matches``) whose history facts, found again here, equal the ones it
    carries keeps the diagnosis it carries: the rules are pure functions of the record, so
    judging it again would give the same verdict. A record captured under a profile that an
    ``auto`` set does not have (``ProfileSet.foreign``, a user's own) keeps it while its rules
    stamp is these rules' (``rules_match``): nothing here could judge it better. Any other
    record is judged again.
    """

    def __init__(self, profile: Profile | ProfileSet, client_fp: str | None,
                 history_entries: int, trust: bool = True) -> None:
        self.profiles = ProfileSet.of(profile)
        self.client_fp = client_fp
        self.trust = trust and client_fp is None
        self.history = History(max_entries=history_entries, profile=self.profiles.first)

    def __call__(self, record: Record, full: Callable[[], Record] | None = None) -> Record:
        """Judge ``record`` in place (see ``classify``) and return it. ``full`` is the lean
        item's (``hgobs.readers.base.Item``): ``record`` then holds the analysis's fields only,
        and ``full()`` is called for the whole record when a failure is judged again."""
        recorded = self.take_recorded(record)
        self.history.annotate(record)
        return self.decide(record, recorded, full)

    def take_recorded(self, record: Record) -> Record:
        """Remove the fields this run computes again from ``record`` (returned, those present),
        and judge ``iss``/``sub`` against the configured client id when there is one."""
        pop = record.pop
        recorded = {}
        for name in RECOMPUTED_FIELDS:
            value = pop(name, None)
            if value is not None:
                recorded[name] = value
        client_fp = self.client_fp
        if client_fp is not None:
            for claim in ("iss", "sub"):
                if record.get(f"assertion.{claim}_fp"):
                    record[f"assertion.{claim}_is_client"] = (
                        record[f"assertion.{claim}_fp"] == client_fp)
        return recorded

    def trusted(self, record: Record, recorded: Record) -> bool:
        """True when ``record`` (history facts added) may keep its ``recorded`` diagnosis."""
        if not self.trust:
            return False
        foreign = self.profiles.foreign(record)
        if not (rules_match(recorded, foreign) if foreign is not None
                else stamp_matches(recorded, self.profiles.for_record(record))):
            return False
        category = recorded.get("category")
        if category != OK and category not in CATEGORIES:
            return False
        get, was = record.get, recorded.get
        for name in HISTORY_FIELDS:  # a loop, not all(...): no generator per record
            if get(name) != was(name):
                return False
        return True

    def decide(self, record: Record, recorded: Record,
               full: Callable[[], Record] | None = None) -> Record:
        """Diagnose ``record`` (history facts already added) in place and return it; a lean
        ``record``'s failure is diagnosed on the whole record (``full``, see ``__call__``)."""
        if self.trusted(record, recorded):
            for name in DIAGNOSIS_FIELDS:
                if name in recorded:
                    record[name] = recorded[name]
        elif is_failure(record):
            whole = record if full is None else _whole(record, full)
            foreign = self.profiles.foreign(whole)
            if foreign is not None:
                self.profiles.note_foreign(foreign)
            record.update(diagnose(whole, self.profiles.for_record(whole)).as_fields())
        else:  # what ``diagnose`` returns for every attempt that did not fail
            record.update(_OK_FIELDS)
        return record


def _whole(lean: Record, full: Callable[[], Record]) -> Record:
    """The whole record of a ``lean`` one judged so far: what ``full()`` reads, without the
    fields this run computes again, with ``lean``'s (the same values, and those computed)."""
    whole = full()
    for name in RECOMPUTED_FIELDS:
        whole.pop(name, None)
    whole.update(lean)
    return whole


_OK_FIELDS = Diagnosis(OK, CONFIRMED).as_fields()
"""The diagnosis fields of a success (``diagnose`` returns ``Diagnosis(OK, CONFIRMED)``
whenever ``is_failure`` is false); all immutable values, so one dict serves every record."""


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (reference counting still frees everything).

    Records are trees of dicts, lists and strings, never cycles, yet each one allocates enough
    containers to trigger collections that scan the whole history again and again: about a
    fifth of the analyzer's time on a large input. Wrap a streaming run in this; the collector
    is restored (and run once) on exit.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def judge(items: Iterable[Item], profile: Profile | ProfileSet, client_fp: str | None = None, *,
          history_entries: int = DEFAULT_HISTORY_ENTRIES, trust: bool = True,
          on_notice: Callable[[str, int], None] | None = None) -> Iterator[Judged]:
    """Classify ``items`` as they stream in, in the order given; yields each as it is judged.

    ``profile`` is one profile, which judges every record, or a ``ProfileSet`` (``--profile
    auto``), which picks one per record (``ProfileSet.for_record``).

    Skipped items are yielded as they are; each record as a ``Classified`` whose record has
    been annotated and diagnosed in place (readers hand over the dicts they yield; of a lean
    item, ``hgobs.readers.base.Item.full``, the record holds the ``ANALYSIS_FIELDS`` only). Records of
    one run see the history of the records given before them, so give them in time order.
    ``history_entries`` bounds memory. ``client_fp`` is the keyed fingerprint of the client id
    to judge ``iss``/``sub`` against (it matches ``assertion.iss_fp`` only under the same
    ``HGOBS_FINGERPRINT_KEY``). With ``trust`` (the default; never with ``client_fp``), a record
    stamped by these rules keeps its diagnosis when its history facts are found again unchanged
    (see ``_Judge``). When the items run out, ``on_notice`` (such as ``ReportState.notice``) is
    called with ``("history_overflowed", n)`` if the memory cap pushed ``n`` history entries
    out before their horizon (``History.overflowed``).
    """
    judge_one = _Judge(profile, client_fp, history_entries, trust)
    for item in items:
        record = item.record
        if record is None:
            yield item
        else:
            yield Classified(item.source, judge_one(record, item.full))
    if on_notice is not None and judge_one.history.overflowed:
        on_notice("history_overflowed", judge_one.history.overflowed)


__all__ = ["DEFAULT_HISTORY_ENTRIES", "Classified", "Judged", "gc_paused", "judge"]
