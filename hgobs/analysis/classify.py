"""Offline classification: items from the readers -> diagnosed records, in input order.

Records are judged with the same rules as capture (``hgobs.diagnose``), each at its own recorded
time. History rules see the records in time order (a stable sort, so equal times keep input
order); the output keeps input order. Totals reconcile: every item is either classified or
skipped with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hgobs.diagnose import History, diagnose
from hgobs.profiles import Profile
from hgobs.readers.base import Item
from hgobs.schema import Record

HISTORY_FIELDS = ("assertion.reused_after_s", "assertion.iss_ok_environment", "presented.age_s",
                  "presented.issued_expires_in", "presented.issued_environment")


@dataclass(frozen=True)
class Classified:
    """One classified record and where it came from (``<file>:<line>``)."""

    source: str
    record: Record


@dataclass
class Result:
    """The outcome of a run: classified records and skipped items, both in input order."""

    classified: list[Classified] = field(default_factory=list)
    skipped: list[Item] = field(default_factory=list)

    @property
    def read(self) -> int:
        """Items read (= classified + skipped)."""
        return len(self.classified) + len(self.skipped)


DIAGNOSIS_FIELDS = ("outcome", "category", "confidence", "fix", "evidence", "also", "group")


def classify(items: Iterable[Item], profile: Profile, client_fp: str | None = None) -> Result:
    """Diagnose every record of ``items`` (see module doc).

    ``client_fp`` is the keyed fingerprint of the client id to judge ``iss``/``sub`` against
    (it matches ``assertion.iss_fp`` only under the same ``HGOBS_FINGERPRINT_KEY``).
    """
    result = Result()
    for item in items:
        if item.record is None:
            result.skipped.append(item)
        else:
            result.classified.append(Classified(item.source, dict(item.record)))
    history = History(max_entries=max(10_000, len(result.classified)))
    order = sorted(range(len(result.classified)),
                   key=lambda i: result.classified[i].record.get("time", 0.0))
    for i in order:
        record = result.classified[i].record
        for name in (*HISTORY_FIELDS, *DIAGNOSIS_FIELDS):  # recomputed by this run
            record.pop(name, None)
        if client_fp is not None:
            for claim in ("iss", "sub"):
                if record.get(f"assertion.{claim}_fp"):
                    record[f"assertion.{claim}_is_client"] = (
                        record[f"assertion.{claim}_fp"] == client_fp)
        history.annotate(record)
        record.update(diagnose(record, profile).as_fields())
    return result
